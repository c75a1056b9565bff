package dev.panamapy.example.hello;

import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PyObject;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Java fills memory, Python computes on it in place through {@code memoryview} and
 * {@code struct} (no numpy needed) and writes its answer back into it, Java checks the answer.
 * Exits 1 if anything disagrees.
 *
 * <pre>
 * java --module-path target/hello-memoryview.jar:target/modules \
 *      --enable-native-access=dev.panamapy.bridge,dev.panamapy.bindings \
 *      [-Dpanamapy.python=/path/to/python3] \
 *      -m dev.panamapy.example.hello/dev.panamapy.example.hello.HelloMemoryview
 * </pre>
 */
public final class HelloMemoryview {

    private static final int N = 1000;

    private HelloMemoryview() { }

    public static void main(String[] args) {
        double expected = 0;
        try (CPython py = CPython.start();
             Arena arena = py.arena()) {                       // freed once Python lets go, too
            MemorySegment seg = arena.allocate(ValueLayout.JAVA_DOUBLE, N);
            for (int i = 0; i < N; i++) {
                seg.setAtIndex(ValueLayout.JAVA_DOUBLE, i, i * 0.5);
                expected += i * 0.5;
            }
            try (JavaBuffer buf = py.export(BufferSpec.of(seg, "d"))) {
                py.setGlobal("data", buf);
                py.exec("""
                        import struct
                        with memoryview(data) as view:             # Java's memory, not a copy
                            total = sum(view)
                            struct.pack_into('d', view, 0, total)  # Python writes into it
                        del data
                        """);
            }
            double total;
            try (PyObject t = py.getGlobal("total")) {
                total = t.asDouble();
            }
            double written = seg.getAtIndex(ValueLayout.JAVA_DOUBLE, 0);
            System.out.printf("CPython %s summed %d doubles in Java memory: %s (expected %s); element 0 now %s%n",
                    py.version(), N, total, expected, written);
            if (total != expected || written != expected) {
                System.out.println("MISMATCH");
                System.exit(1);
            }
            System.out.println("OK");
        }
    }
}
