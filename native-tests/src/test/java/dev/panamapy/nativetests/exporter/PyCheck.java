package dev.panamapy.nativetests.exporter;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;
import dev.panamapy.testing.PanamapyExtension;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Small helpers for the export tests: evaluate a Python expression into a Java value (closing
 * the temporary object), expect a Python exception, wait for the export counters to settle.
 * Public so that the numpy, pyarrow and PIL tests share them.
 */
public final class PyCheck {
    private PyCheck() { }

    /** {@code str(eval(expr))}. */
    public static String str(String expr) {
        try (PyObject r = PanamapyExtension.python().eval(expr)) {
            return r.toString();
        }
    }

    /** {@code int(eval(expr))} as a Java long. */
    public static long asLong(String expr) {
        try (PyObject r = PanamapyExtension.python().eval(expr)) {
            return r.asLong();
        }
    }

    /** {@code float(eval(expr))}. */
    public static double asDouble(String expr) {
        try (PyObject r = PanamapyExtension.python().eval(expr)) {
            return r.asDouble();
        }
    }

    /** {@code bool(eval(expr))}. */
    public static boolean isTrue(String expr) {
        try (PyObject r = PanamapyExtension.python().eval(expr)) {
            return r.asBoolean();
        }
    }

    /** A copy of {@code bytes(eval(expr))}. */
    public static byte[] bytes(String expr) {
        try (PyObject r = PanamapyExtension.python().eval(expr)) {
            return r.asBytesCopy();
        }
    }

    /** Runs code that must raise, returns what reached Java. */
    public static PythonException raises(String code) {
        return assertThrows(PythonException.class, () -> PanamapyExtension.python().exec(code), () -> "expected an exception from: " + code);
    }

    /**
     * Collects garbage on both sides (Python's gc, then Java's GC for Cleaners) until the
     * condition holds or the timeout passes; returns the last diagnostics seen.
     */
    public static CPython.Diagnostics settle(Predicate<CPython.Diagnostics> done, Duration timeout) {
        CPython py = PanamapyExtension.python();
        long deadline = System.nanoTime() + timeout.toNanos();
        CPython.Diagnostics d;
        while (true) {
            py.exec("import gc as _gc\n_gc.collect()");
            d = py.diagnostics();
            if (done.test(d) || System.nanoTime() > deadline) return d;
            System.gc();
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return d;
            }
        }
    }

    /** Settles until live exporters, views and references are no more than in the baseline. */
    public static CPython.Diagnostics settleTo(CPython.Diagnostics baseline) {
        return settle(d -> d.liveExporters() <= baseline.liveExporters() && d.liveViews() <= baseline.liveViews()
                && d.liveReferences() <= baseline.liveReferences(), Duration.ofSeconds(10));
    }

    /**
     * VmRSS after a full GC, once the GC has given back what it shrank the heap by (G1 uncommits
     * concurrently): polls until two readings 100 ms apart differ by less than 512 KiB, at most 3 s.
     */
    public static long settledRssKiB() {
        System.gc();
        long last = vmRssKiB();
        long deadline = System.nanoTime() + 3_000_000_000L;
        while (System.nanoTime() < deadline) {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            long now = vmRssKiB();
            if (Math.abs(now - last) < 512) return now;
            last = now;
        }
        return last;
    }

    /** Resident set size of this process (VmRSS), in KiB. */
    public static long vmRssKiB() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    /** Makes the collector run for real a few times (garbage, System.gc, a pause), for reachability tests. */
    public static void collectGarbageHard() throws InterruptedException {
        for (int i = 0; i < 5; i++) {
            byte[][] garbage = new byte[64][];
            for (int j = 0; j < garbage.length; j++) garbage[j] = new byte[64 * 1024];
            System.gc();
            Thread.sleep(20);
        }
    }

    /** Deletes the test's {@code t_*} globals and collects, so the next test starts with no live views. */
    public static void forgetTestGlobals() {
        PanamapyExtension.python().exec("import gc\nfor _n in [n for n in globals() if n.startswith('t_')]: del globals()[_n]\ngc.collect()");
    }
}
