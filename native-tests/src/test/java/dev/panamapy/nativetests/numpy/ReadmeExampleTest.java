package dev.panamapy.nativetests.numpy;

import dev.panamapy.BufferRequest;
import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PyBufferView;
import dev.panamapy.PyObject;
import dev.panamapy.testing.RequiresPythonPackage;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The README's example, as written there, with its results checked: keeps the README true. */
@RequiresPythonPackage("numpy")
class ReadmeExampleTest {

    @Test
    void readmeExampleRunsAndComputesWhatItSays(CPython py) {
        double m;
        double sum;
        long four;
        MemorySegment kept;
        try (Arena arena = py.arena()) {
            MemorySegment seg = arena.allocate(ValueLayout.JAVA_DOUBLE, 1000 * 1000);
            kept = seg;
            for (long i = 0; i < 1000 * 1000; i++) seg.setAtIndex(ValueLayout.JAVA_DOUBLE, i, 2.0);
            try (JavaBuffer buf = py.export(BufferSpec.of(seg, "d").shape(1000, 1000));
                 PyObject np = py.importModule("numpy");
                 PyObject mean = np.getAttr("mean")) {
                m = mean.call(buf).asDouble();
                py.setGlobal("m", buf);
                py.exec("import numpy as np; np.asarray(m)[:, 0] = 1.0");
                assertEquals(1.0, seg.getAtIndex(ValueLayout.JAVA_DOUBLE, 1000));   // row 1, column 0
                assertEquals(2.0, seg.getAtIndex(ValueLayout.JAVA_DOUBLE, 1001));
                py.exec("del m");
            }
            try (PyObject a = py.eval("__import__('numpy').arange(10.0)");
                 PyBufferView v = a.getBuffer(BufferRequest.FULL_RO)) {
                sum = v.sum();
            }
            py.defineFunction("twice", args -> (Long) args[0] * 2);
            try (PyObject r = py.eval("twice(2)")) {
                four = r.asLong();
            }
        }
        assertEquals(2.0, m);
        assertEquals(45.0, sum);
        assertEquals(4, four);
    }
}
