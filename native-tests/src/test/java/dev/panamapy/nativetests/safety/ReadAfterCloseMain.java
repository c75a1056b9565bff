package dev.panamapy.nativetests.safety;

import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PyObject;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Child of {@link ExportMemoryOwnerTest}: issue 15's reproduction of class 3. Exports 32 MiB of
 * {@code CPython.arena()} memory (large enough that freeing it unmaps it, so a read after the
 * free is a SIGSEGV, not garbage), lets a Python consumer take it, closes the JavaBuffer and the
 * arena, and has Python read every page. Argument: {@code <consumer>-<static|dynamic>}, the
 * consumer one of {@code memoryview} (keeps its view), {@code holder} (a Python object keeps the
 * exporter, the view is released early and the memory read through its raw address, as numpy
 * before 1.22.4 did in frombuffer), {@code numpy} ({@code np.asarray}) and
 * {@code numpy-frombuffer}. Java closes the arena first (the JavaBuffer still open, as in the
 * issue), then the JavaBuffer; Python reads after each. Prints "read after close: ok" and exits 0 if the values are intact
 * and the memory is freed once Python let go; exits 1 otherwise; a crash is the bug.
 */
public final class ReadAfterCloseMain {

    static final long LONGS = 4L << 20;
    static final long STRIDE = 512;             // one long a page

    public static void main(String[] args) {
        String scenario = args[0];
        boolean dynamic = scenario.endsWith("-dynamic");
        String consumer = scenario.substring(0, scenario.lastIndexOf('-'));
        CPython py = CPython.start();
        Arena arena = py.arena();
        MemorySegment seg = arena.allocate(JAVA_LONG, LONGS);
        for (long i = 0; i < LONGS; i += STRIDE) seg.setAtIndex(JAVA_LONG, i, 3 * i + 1);
        seg.setAtIndex(JAVA_LONG, LONGS - 1, -7);
        BufferSpec spec = BufferSpec.of(seg, "q");
        JavaBuffer buf = dynamic ? py.export(request -> spec) : py.export(spec);
        py.setGlobal("b", buf);
        py.exec("import gc, ctypes\nSTRIDE, N = %d, %d".formatted(STRIDE, LONGS));
        switch (consumer) {
            case "memoryview" -> py.exec("m = memoryview(b)\ndel b");
            case "numpy" -> py.exec("import numpy as np\nm = np.asarray(b)\ndel b");
            case "numpy-frombuffer" -> py.exec("import numpy as np\nm = np.frombuffer(b, dtype=np.int64)\ndel b");
            case "holder" -> py.exec("""
                    class Holder:
                        pass
                    h = Holder()
                    h.exporter = b
                    del b
                    v = memoryview(h.exporter)
                    c = (ctypes.c_char * v.nbytes).from_buffer(v)
                    addr = ctypes.addressof(c)
                    del c
                    v.release()
                    def at(i):
                        return int.from_bytes(ctypes.string_at(addr + 8 * i, 8), 'little', signed=True)
                    """);
            default -> throw new IllegalArgumentException(scenario);
        }
        String read = consumer.equals("holder")
                ? "all(at(i) == 3 * i + 1 for i in range(0, N, STRIDE)) and at(N - 1) == -7"
                : "all(int(m[i]) == 3 * i + 1 for i in range(0, N, STRIDE)) and int(m[N - 1]) == -7";
        arena.close();                  // the order: the JavaBuffer is still open
        System.gc();
        try (PyObject ok = py.eval(read)) {
            check(ok.asBoolean(), "Python reads Java's values after Java closed the arena");
        }
        buf.close();
        System.gc();
        try (PyObject ok = py.eval(read)) {
            check(ok.asBoolean(), "Python reads Java's values after Java closed the arena and the buffer");
        }
        check(seg.scope().isAlive(), "the memory is kept while Python can reach it");
        py.exec(consumer.equals("holder") ? "del h\ngc.collect()" : "del m\ngc.collect()");
        check(!seg.scope().isAlive(), "freed once Python let go");
        check(py.diagnostics().liveViews() == 0, "no live view left: " + py.diagnostics());
        System.out.println("read after close: ok (" + scenario + ", CPython " + py.version() + ")");
        System.exit(0);
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            System.out.println("FAILED: " + what);
            System.exit(1);
        }
    }
}
