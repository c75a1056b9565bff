package dev.panamapy.nativetests.safety;

import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PyObject;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An indirect (PIL-style) view reads the data its pointer array points into: that data's owner,
 * not the pointer array's, decides how long views may live. {@code py.arena()} data outlives the
 * arena's close while a view of it lives, static or dynamic; data whose arena is closed is
 * refused; {@code exportUntracked} takes bridge-owned data.
 */
@Adversarial
class IndirectMemoryOwnerTest {

    private final CPython py;

    IndirectMemoryOwnerTest(CPython py) {
        this.py = py;
    }

    /** 2 x 4 doubles 0..7 in a fresh py.arena(). */
    private static MemorySegment doubles(Arena a) {
        MemorySegment d = a.allocate(ValueLayout.JAVA_DOUBLE, 8);
        for (int i = 0; i < 8; i++) d.setAtIndex(ValueLayout.JAVA_DOUBLE, i, i);
        return d;
    }

    @Test
    void bridgeArenaDataOutlivesItsCloseWhileAStaticIndirectViewLives() {
        Arena a = py.arena();
        try (JavaBuffer b = py.export(BufferSpec.indirect(doubles(a), "d", 2, 4))) {
            py.setGlobal("ind", b);
            py.exec("ind_view = memoryview(ind)");
        }
        a.close();                                  // the view holds the data: its memory stays
        py.exec("junk = [bytearray(64) for _ in range(10000)]");
        try (PyObject v = py.eval("[ind_view[i, j] for i in range(2) for j in range(4)]")) {
            assertEquals("[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]", v.toString());
        }
        py.exec("ind_view.release(); del ind_view, ind, junk");
    }

    @Test
    void bridgeArenaDataOutlivesItsCloseWhileADynamicIndirectViewLives() {
        Arena a = py.arena();
        BufferSpec spec = BufferSpec.indirect(doubles(a), "d", 2, 4);
        try (JavaBuffer b = py.export(request -> spec)) {
            py.setGlobal("dyn", b);
            py.exec("dyn_view = memoryview(dyn)");
        }
        a.close();
        try (PyObject v = py.eval("dyn_view[1, 3]")) {
            assertEquals(7.0, v.asDouble());
        }
        py.exec("dyn_view.release(); del dyn_view, dyn");
    }

    @Test
    void indirectDataWhoseArenaIsClosedIsRefused() {
        Arena mine = Arena.ofConfined();
        MemorySegment data = mine.allocate(64);
        BufferSpec spec = BufferSpec.indirect(data, "d", 2, 4);
        mine.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> py.export(spec));
        assertTrue(e.getMessage().startsWith("cannot export memory whose arena is already closed"), e.getMessage());
    }

    @Test
    void untrackedIndirectExportOfBridgeArenaDataWorks() {
        Arena a = py.arena();
        try (JavaBuffer b = py.exportUntracked(BufferSpec.indirect(doubles(a), "d", 2, 4))) {
            py.setGlobal("u", b);
            try (PyObject v = py.eval("memoryview(u)[0, 2]")) {
                assertEquals(2.0, v.asDouble());
            }
        }
        a.close();
        py.exec("del u");
    }
}
