package dev.panamapy.demo;

import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;
import dev.panamapy.PythonStartupException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;

/**
 * Java fills a float64 matrix, numpy works on it and writes back, Java reads the results:
 * one piece of memory, never copied. Usage: {@code ZeroCopyDemo [rows cols]} (default 4096 4096).
 * Run with {@code --enable-native-access=ALL-UNNAMED -Dpanamapy.python=<python with numpy>}.
 */
public final class ZeroCopyDemo {

    /** The Python side: numpy reads the matrix in place, then writes its results into it. */
    private static final String PYTHON = """
            import numpy as np

            def compute(m):
                means = m.mean(axis=0)   # column means: numpy reads Java memory
                m *= 2.0                 # a matrix-wide op, written into Java memory
                m[0, :] = means          # row 0 := the column means, for Java to read
            """;
    private static final int REPEATS = 7, WARMUP = 2_000;

    public static void main(String[] args) {
        int rows = args.length > 0 ? Integer.parseInt(args[0]) : 4096;
        int cols = args.length > 1 ? Integer.parseInt(args[1]) : 4096;
        if (rows < 1 || cols < 1 || args.length > 2) {
            System.err.println("usage: ZeroCopyDemo [rows cols]   (default 4096 4096)");
            System.exit(2);
        }
        boolean ok;
        try (CPython py = CPython.start()) {
            ok = run(py, rows, cols);
        } catch (PythonStartupException e) {
            System.err.println("cannot start CPython: " + e.getMessage());
            ok = false;
        }
        if (!ok) System.exit(1);
    }

    private static boolean run(CPython py, int rows, int cols) {
        try {
            py.exec(PYTHON);
        } catch (PythonException e) {
            if (!e.is("ModuleNotFoundError")) throw e;
            System.err.println("numpy is not installed for " + py.executable() + ": "
                    + py.executable() + " -m pip install numpy");
            return false;
        }
        try (PyObject numpy = py.importModule("numpy");
             PyObject version = numpy.getAttr("__version__");
             PyObject asarray = numpy.getAttr("asarray");
             PyObject frombuffer = numpy.getAttr("frombuffer");
             PyObject compute = py.getGlobal("compute");
             Arena arena = py.arena()) {   // memory Python may keep: freed only when both sides let go
            System.out.printf("Python %s (%s), numpy %s%n", py.version(), py.executable(), version.asString());

            // 1. Java allocates and fills the matrix, a[i][j] = i + j/1000, and computes the column means.
            long n = (long) rows * cols;
            MemorySegment seg = arena.allocate(JAVA_DOUBLE, n);
            double[] javaMeans = new double[cols];
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) {
                    double v = i + j / 1000.0;
                    seg.setAtIndex(JAVA_DOUBLE, (long) i * cols + j, v);
                    javaMeans[j] += v;
                }
            }
            for (int j = 0; j < cols; j++) javaMeans[j] /= rows;
            BufferSpec spec = BufferSpec.of(seg, "d").shape(rows, cols);
            System.out.printf("Java filled a %d x %d float64 matrix (%s) at 0x%x%n", rows, cols,
                    seg.byteSize() >= 1 << 20 ? (seg.byteSize() >> 20) + " MiB" : seg.byteSize() + " bytes", seg.address());

            // 2. Hand-off: export + np.asarray, until numpy has a view of the same memory. The first
            //    one runs cold (class loading, interpreted Java); time it, then warm up and time REPEATS.
            long coldNs = handOff(py, spec, asarray);
            for (int r = 0; r < WARMUP; r++) handOff(py, spec, asarray);
            long[] handOff = new long[REPEATS];
            for (int r = 0; r < REPEATS; r++) handOff[r] = handOff(py, spec, asarray);
            // The copying alternative: segment -> byte[] -> Python bytes -> np.frombuffer(...).reshape(...).
            long[] copy = new long[REPEATS];
            for (int r = 0; r < REPEATS; r++) {
                long t0 = System.nanoTime();
                byte[] heap = seg.toArray(JAVA_BYTE);
                try (PyObject flat = frombuffer.call(heap, "float64");
                     PyObject arr = flat.callMethod("reshape", rows, cols)) {
                    copy[r] = System.nanoTime() - t0;
                }
            }
            long handOffNs = median(handOff), copyNs = median(copy);
            System.out.printf("hand-off, export + np.asarray:       %10s  (median of %d after %,d warm-up; cold: %s)%n",
                    time(handOffNs), REPEATS, WARMUP, time(coldNs));
            double ratio = (double) copyNs / handOffNs;
            System.out.printf("copy, byte[] -> bytes -> frombuffer: %10s  (median of %d): %s the hand-off%n",
                    time(copyNs), REPEATS, String.format(ratio < 10 ? "%.1fx" : "%,.0fx", ratio));

            try (JavaBuffer buf = py.export(spec); PyObject m = asarray.call(buf)) {
                // 3. Zero copy, checked: numpy's data pointer is the segment's address.
                long dataPtr;
                try (PyObject ai = m.getAttr("__array_interface__"); PyObject data = ai.getItem("data");
                     PyObject p = data.getItem(0)) {
                    dataPtr = p.asLong();
                }
                System.out.printf("zero copy: numpy data pointer 0x%x %s segment address 0x%x%n",
                        dataPtr, dataPtr == seg.address() ? "==" : "!=", seg.address());

                // 4. numpy computes and writes back in place.
                long t0 = System.nanoTime();
                compute.call(m).close();
                System.out.printf("numpy compute, column means + m *= 2 in place: %s%n", time(System.nanoTime() - t0));

                // 5. Java reads the results straight from the segment.
                boolean ok = verify(seg, rows, cols, javaMeans) && dataPtr == seg.address();
                System.out.println(ok ? "OK" : "MISMATCH");
                return ok;
            }
        }
    }

    /** Exports the matrix and lets numpy take a view of it; returns how long that took. */
    private static long handOff(CPython py, BufferSpec spec, PyObject asarray) {
        long t0 = System.nanoTime();
        try (JavaBuffer buf = py.export(spec); PyObject arr = asarray.call(buf)) {
            return System.nanoTime() - t0;
        }
    }

    /** Row 0 holds numpy's column means; every other element is 2 * (i + j/1000). */
    private static boolean verify(MemorySegment seg, int rows, int cols, double[] javaMeans) {
        long bad = 0;
        String first = null;
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                double got = seg.getAtIndex(JAVA_DOUBLE, (long) i * cols + j);
                double want = i == 0 ? javaMeans[j] : 2 * (i + j / 1000.0);
                boolean same = i == 0 ? Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)) : got == want;
                if (!same && bad++ == 0) first = "a[" + i + "][" + j + "] = " + got + ", expected " + want;
            }
        }
        System.out.printf("Java read back %,d column means (row 0) and %,d doubled values: %s%n",
                cols, (long) (rows - 1) * cols, bad == 0 ? "all as computed in Java" : bad + " differ, first " + first);
        return bad == 0;
    }

    private static long median(long[] nanos) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    private static String time(long nanos) {
        return nanos < 1_000_000 ? String.format("%.1f µs", nanos / 1e3) : String.format("%.1f ms", nanos / 1e6);
    }
}
