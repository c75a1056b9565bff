package dev.panamapy.nativetests.exporter;

import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PythonException;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.panamapy.nativetests.exporter.PyCheck.*;
import static java.lang.foreign.ValueLayout.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Layouts beyond C order, read through memoryview: strided, negative-stride and zero-stride
 * specs export what they describe, and a spec addressing bytes outside its segment is refused
 * in Java, naming the element, before Python sees it.
 */
@PythonTest
class SpecLayoutTest {

    private final CPython py;
    @RegisterExtension
    final ExportFixture fx = new ExportFixture("memoryview");
    private Arena arena;

    SpecLayoutTest(CPython py) {
        this.py = py;
    }

    @BeforeEach
    void open() {
        arena = fx.arena();
    }

    private JavaBuffer export(BufferSpec spec) {
        return fx.export(spec);
    }

    private MemorySegment ints(int n) {
        MemorySegment seg = arena.allocate(JAVA_INT, n);
        for (int i = 0; i < n; i++) seg.setAtIndex(JAVA_INT, i, i);
        return seg;
    }

    @Test
    void negativeStridesWithOffsetReadBackwards() {
        MemorySegment seg = ints(12);
        export(BufferSpec.of(seg, "i").shape(3, 4).strides(-16, -4).offset(11 * 4));
        assertEquals("[[11, 10, 9, 8], [7, 6, 5, 4], [3, 2, 1, 0]]", str("memoryview(t_buf).tolist()"));
        assertEquals("(-16, -4)", str("memoryview(t_buf).strides"));
        py.exec("t_m = memoryview(t_buf)\nt_m[0, 0] = -11\nt_m[2, 3] = -100\nt_m.release()");
        assertEquals(-11, seg.getAtIndex(JAVA_INT, 11));
        assertEquals(-100, seg.getAtIndex(JAVA_INT, 0));
    }

    @Test
    void negativeStrideSpecCanBeBuiltInAnyStepOrder() {
        MemorySegment seg = ints(6);
        BufferSpec a = BufferSpec.of(seg, "i").shape(3).strides(-8).offset(20);
        BufferSpec b = BufferSpec.of(seg, "i").offset(20).shape(3).strides(-8);
        assertArrayEquals(a.strides(), b.strides());
        assertEquals(a.offset(), b.offset());
        export(b);
        assertEquals("[5, 3, 1]", str("memoryview(t_buf).tolist()"));
    }

    @Test
    void zeroStrideRepeatsOneRow() {
        MemorySegment seg = ints(3);
        export(BufferSpec.of(seg, "i").shape(4, 3).strides(0, 4).readOnly());
        assertEquals("[[0, 1, 2], [0, 1, 2], [0, 1, 2], [0, 1, 2]]", str("memoryview(t_buf).tolist()"));
        assertEquals(48, asLong("memoryview(t_buf).nbytes"));
    }

    @Test
    void stridedColumnOfAMatrix() {
        MemorySegment seg = ints(20);     // a 4 x 5 matrix
        export(BufferSpec.of(seg, "i").shape(4).strides(20).offset(8));
        assertEquals("[2, 7, 12, 17]", str("memoryview(t_buf).tolist()"));
        assertFalse(isTrue("memoryview(t_buf).contiguous"));
        assertArrayEquals(new byte[]{2, 0, 0, 0, 7, 0, 0, 0, 12, 0, 0, 0, 17, 0, 0, 0}, bytes("memoryview(t_buf).tobytes()"));
    }

    @Test
    void outOfBoundsSpecIsRefusedAtExportNamingTheElement() {
        MemorySegment seg = ints(12);
        BufferSpec tooFar = BufferSpec.of(seg, "i").shape(3, 4).strides(16, 4).offset(8);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> py.export(tooFar));
        assertTrue(e.getMessage().contains("element [2, 2]"), e.getMessage());
        BufferSpec beforeStart = BufferSpec.of(seg, "i").shape(3).strides(-8).offset(4);
        IllegalArgumentException back = assertThrows(IllegalArgumentException.class, beforeStart::requireInBounds);
        assertTrue(back.getMessage().contains("element [1]"), back.getMessage());
        assertThrows(IllegalArgumentException.class, () -> BufferSpec.of(seg, "i").shape(13).requireInBounds());
    }

    @Test
    void memoryOfAClosedArenaIsRefusedBeforePythonSeesIt() {
        long before = py.diagnostics().liveExporters();
        Arena gone = Arena.ofConfined();
        BufferSpec spec = BufferSpec.of(gone.allocate(16), "B");
        gone.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> py.export(spec));
        assertTrue(e.getMessage().contains("already closed"), e.getMessage());
        assertEquals(before, py.diagnostics().liveExporters(), "nothing was made in Python");
    }

    @Test
    void exporterReturningOutOfBoundsSpecGivesBufferError() {
        MemorySegment seg = ints(4);
        JavaBuffer buf = py.export(request -> BufferSpec.of(seg, "i").shape(5));
        fx.track(buf);
        py.setGlobal("t_buf", buf);
        PythonException e = raises("memoryview(t_buf)");
        assertTrue(e.is("BufferError"), e.getMessage());
        assertTrue(e.pythonMessage().contains("IllegalArgumentException") && e.pythonMessage().contains("element [4]"),
                e.pythonMessage());
        assertEquals(0, buf.exportCount());
    }
}
