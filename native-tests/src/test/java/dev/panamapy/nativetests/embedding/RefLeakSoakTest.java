package dev.panamapy.nativetests.embedding;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.nativetests.exporter.PyCheck;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A million eval/close cycles leave references and memory flat. */
@PythonTest
class RefLeakSoakTest {

    private static final int WARM_UP = 100_000;
    private static final int CYCLES = 1_000_000;
    /**
     * Allowed growth of the process's resident memory over the million cycles (after warm-up):
     * 32 MiB, i.e. 32 bytes a cycle. The JVM itself adds about 10-13 MiB in the first few hundred
     * thousand cycles (JIT code, heap sizing), then stays flat, hence the tighter bound on the
     * second half: 8 MiB over 500,000 cycles, i.e. any leak of 16 bytes or more a cycle fails.
     * A one-off step (a late JIT compilation or heap resize on a loaded machine) can exceed it
     * once, so a second half over the bound is measured again over 500,000 more cycles: a leak
     * exceeds it every time. Python-side leaks are caught exactly by the allocated-blocks and
     * refcount checks.
     */
    private static final long RSS_BOUND_KIB = 32 * 1024;
    private static final long SECOND_HALF_RSS_BOUND_KIB = 8 * 1024;
    /** Allowed growth of Python's allocated blocks (sys.getallocatedblocks) over the million cycles. */
    private static final long BLOCKS_BOUND = 1_000;

    private static long rssKiB() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", ""));
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    private static long pyLong(CPython py, String expr) {
        try (PyObject v = py.eval(expr)) {
            return v.asLong();
        }
    }

    private static void cycles(CPython py, int n) {
        for (int i = 0; i < n; i++) {
            py.eval("soak_probe").close();
        }
    }

    /** VmRSS once both heaps were collected: Java garbage from the loop must not count as growth. */
    private static long settledRssKiB(CPython py) {
        py.exec("gc.collect()");
        return PyCheck.settledRssKiB();
    }

    @Test
    void millionEvalCloseCyclesLeaveRefcountLiveReferencesAndMemoryFlat(CPython py) throws IOException {
        py.exec("import sys, gc\nclass SoakProbe: pass\nsoak_probe = SoakProbe()\n");
        long refcount0 = pyLong(py, "sys.getrefcount(soak_probe)");
        long live0 = py.diagnostics().liveReferences();

        cycles(py, WARM_UP);
        long rssWarm = settledRssKiB(py);
        long blocksWarm = pyLong(py, "sys.getallocatedblocks()");

        long t0 = System.nanoTime();
        StringBuilder trend = new StringBuilder();
        long rssHalf = 0;
        for (int done = 0; done < CYCLES; done += CYCLES / 10) {
            cycles(py, CYCLES / 10);
            if (done + CYCLES / 10 == CYCLES / 2) rssHalf = settledRssKiB(py);
            trend.append(trend.isEmpty() ? "" : ", ").append(rssKiB() / 1024);
        }
        long millis = (System.nanoTime() - t0) / 1_000_000;
        long rssEnd = settledRssKiB(py);
        long secondHalf = rssEnd - rssHalf;
        if (secondHalf >= SECOND_HALF_RSS_BOUND_KIB) {
            System.out.println("second-half growth " + secondHalf + " KiB over the bound: measuring 500,000 more cycles");
            cycles(py, CYCLES / 2);
            long rssAgain = settledRssKiB(py);
            secondHalf = rssAgain - rssEnd;
            rssEnd = rssAgain;
        }
        long blocksEnd = pyLong(py, "sys.getallocatedblocks()");
        long refcount1 = pyLong(py, "sys.getrefcount(soak_probe)");
        long live1 = py.diagnostics().liveReferences();

        System.out.printf("soak (CPython %s): %,d eval/close cycles in %,d ms (%.2f us each); VmRSS after %,d warm-up "
                        + "cycles %,d KiB, after the million %,d KiB (growth %+,d KiB, bound %,d KiB); allocated blocks "
                        + "%,d -> %,d; refcount %d -> %d; live references %d -> %d%n",
                py.version(), CYCLES, millis, millis * 1000.0 / CYCLES, WARM_UP, rssWarm, rssEnd, rssEnd - rssWarm,
                RSS_BOUND_KIB, blocksWarm, blocksEnd, refcount0, refcount1, live0, live1);

        System.out.println("VmRSS every 100,000 cycles (MiB, unsettled): " + trend + "; settled at 500,000: "
                + rssHalf + " KiB, second-half growth " + secondHalf + " KiB (bound "
                + SECOND_HALF_RSS_BOUND_KIB + " KiB)");

        assertEquals(refcount0, refcount1, "sys.getrefcount(soak_probe) changed");
        assertEquals(live0, live1, "CPython.diagnostics().liveReferences() did not return to its starting value");
        assertTrue(blocksEnd - blocksWarm < BLOCKS_BOUND, "Python allocated blocks grew by " + (blocksEnd - blocksWarm));
        assertTrue(rssEnd - rssWarm < RSS_BOUND_KIB, "VmRSS grew by " + (rssEnd - rssWarm) + " KiB");
        assertTrue(secondHalf < SECOND_HALF_RSS_BOUND_KIB,
                "VmRSS grew by " + secondHalf + " KiB over the last 500,000 cycles");
    }
}
