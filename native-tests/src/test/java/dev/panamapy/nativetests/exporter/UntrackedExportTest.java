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
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** exportUntracked: one upcall per view, memory kept alive by the views alone. */
@PythonTest
class UntrackedExportTest {

    @Test
    void untrackedExportIsAJavaBufferThatReadsAndWritesInPlace(CPython py) {
        try (Arena arena = py.arena()) {
            MemorySegment seg = arena.allocate(ValueLayout.JAVA_INT, 4);
            for (int i = 0; i < 4; i++) seg.setAtIndex(ValueLayout.JAVA_INT, i, i * 10);
            try (JavaBuffer buf = py.exportUntracked(BufferSpec.of(seg, "i"))) {
                assertFalse(buf.isTracked());
                py.setGlobal("u", buf);
                py.exec("import panamapy\nm = memoryview(u)\nm[3] = 99");
                try (PyObject r = py.eval("(isinstance(u, panamapy.JavaBuffer), m.tolist(), type(u).__name__)")) {
                    assertEquals("(True, [0, 10, 20, 99], 'JavaBuffer')", r.toString());
                }
                assertEquals(99, seg.getAtIndex(ValueLayout.JAVA_INT, 3));
                assertThrows(UnsupportedOperationException.class, buf::exportCount);
                py.exec("m.release()\ndel m, u");
            }
        }
    }

    @Test
    void untrackedExportRefusesMemoryOfACallersClosableArena(CPython py) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(16);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> py.exportUntracked(BufferSpec.of(seg, "B")));
            assertTrue(e.getMessage().contains("CPython.arena()"), e.getMessage());
        }
    }

    @Test
    void viewsOfAnUntrackedExportKeepArenaMemoryAliveAfterJavaClosedEverything(CPython py) {
        MemorySegment seg;
        Arena arena = py.arena();
        seg = arena.allocate(ValueLayout.JAVA_DOUBLE, 3);
        seg.setAtIndex(ValueLayout.JAVA_DOUBLE, 2, 7.5);
        try (JavaBuffer buf = py.exportUntracked(BufferSpec.of(seg, "d"))) {
            py.setGlobal("u", buf);
            py.exec("keep = memoryview(u)\ndel u");
        }
        arena.close();
        assertTrue(seg.scope().isAlive(), "memory stays while Python holds a view");
        try (PyObject r = py.eval("keep[2]")) {
            assertEquals(7.5, r.asDouble());
        }
        py.exec("keep.release()\ndel keep\nimport gc; gc.collect()");
        assertFalse(seg.scope().isAlive(), "memory is freed once the last view is gone");
    }
}
