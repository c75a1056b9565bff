package dev.panamapy.nativetests.exporter;

import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PyObject;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;

@PythonTest
class ExportSmokeTest {
    @Test
    void memoryviewReadsJavaMemory(CPython py) {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = arena.allocate(ValueLayout.JAVA_DOUBLE, 6);
            for (int i = 0; i < 6; i++) seg.setAtIndex(ValueLayout.JAVA_DOUBLE, i, i * 1.5);
            try (JavaBuffer buf = py.export(BufferSpec.of(seg, "d").shape(2, 3))) {
                py.setGlobal("buf", buf);
                try (PyObject r = py.eval("memoryview(buf).tolist()")) {
                    assertEquals("[[0.0, 1.5, 3.0], [4.5, 6.0, 7.5]]", r.toString());
                }
                py.exec("m = memoryview(buf)\nm[1,2] = 99.0\nm.release()\ndel buf");
                assertEquals(99.0, seg.getAtIndex(ValueLayout.JAVA_DOUBLE, 5));
            }
        }
    }
}
