package dev.panamapy.nativetests.dlpack;

import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PyBufferView;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;
import dev.panamapy.nativetests.exporter.ExportFixture;
import dev.panamapy.testing.RequiresPythonPackage;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.panamapy.nativetests.exporter.PyCheck.*;
import static java.lang.foreign.ValueLayout.*;
import static org.junit.jupiter.api.Assertions.*;

/** torch.from_dlpack over Java memory, and Java's dlpack() over torch tensors (CPU). */
@RequiresPythonPackage("torch")
class DLPackTorchTest {

    private final CPython py;
    @RegisterExtension
    final ExportFixture fx = new ExportFixture("torch");
    private Arena arena;

    DLPackTorchTest(CPython py) {
        this.py = py;
    }

    @BeforeEach
    void open() {
        arena = fx.arena();
        py.exec("import torch, sys, gc");
    }

    @Test
    void fromDlpackSharesJavaMemoryBothWays() {
        MemorySegment seg = arena.allocate(JAVA_FLOAT, 6);
        for (int i = 0; i < 6; i++) seg.setAtIndex(JAVA_FLOAT, i, i);
        JavaBuffer buf = fx.export(BufferSpec.of(seg, "f").shape(2, 3));
        py.exec("t_t = torch.from_dlpack(t_buf)");
        assertEquals(seg.address(), asLong("t_t.data_ptr()"), "torch's data pointer is the Java memory");
        assertEquals("torch.float32", str("t_t.dtype"));
        assertEquals("[2, 3]", str("list(t_t.shape)"));
        seg.setAtIndex(JAVA_FLOAT, 4, 40);
        assertEquals(40, asDouble("t_t[1, 1].item()"), "torch sees Java's write");
        py.exec("t_t[0, 2] = -2");
        assertEquals(-2, seg.getAtIndex(JAVA_FLOAT, 2), "Java sees torch's write");
        assertEquals(15 - 4 + 40 - 2 - 2 + 0.0, asDouble("t_t.sum().item()"));
        py.exec("del t_t\ngc.collect()");
        assertEquals(0, buf.exportCount(), "torch called the deleter when the tensor died");
    }

    @Test
    void stridedJavaViewKeepsItsStridesInTorch() {
        MemorySegment seg = arena.allocate(JAVA_LONG, 12);
        for (int i = 0; i < 12; i++) seg.setAtIndex(JAVA_LONG, i, i);
        fx.export(BufferSpec.of(seg, "q").shape(3, 2).strides(32, 16));
        py.exec("t_t = torch.from_dlpack(t_buf)");
        assertEquals("(4, 2)", str("t_t.stride()"), "DLPack strides are in elements");
        assertEquals("[[0, 2], [4, 6], [8, 10]]", str("t_t.tolist()"));
    }

    @Test
    void readOnlyJavaMemoryIsRefusedToTorchWhichWouldWriteIt() {
        MemorySegment seg = arena.allocate(JAVA_DOUBLE, 3);
        JavaBuffer buf = fx.export(BufferSpec.of(seg, "d").readOnly());
        // torch ignores DLPACK_FLAG_BITMASK_READ_ONLY (a writable tensor): a flagged tensor would be written
        PythonException e = raises("torch.from_dlpack(t_buf)");
        assertTrue(e.pythonType().endsWith("BufferError"), e.pythonType());
        assertTrue(e.getMessage().contains("read-only Java memory cannot be shared through DLPack"), e.getMessage());
        assertEquals(0, buf.exportCount(), "nothing kept");
        assertEquals(0.0, seg.getAtIndex(JAVA_DOUBLE, 0));
    }

    @Test
    void javaReadsATorchTensorInPlace() {
        py.exec("t_t = torch.arange(10, dtype=torch.int64).reshape(2, 5)");
        long base = asLong("sys.getrefcount(t_t)");
        try (PyObject t = py.eval("t_t"); PyBufferView v = t.dlpack()) {
            assertEquals(asLong("t_t.data_ptr()"), v.segment().address());
            assertEquals("q", v.format());
            assertArrayEquals(new long[]{2, 5}, v.shape());
            assertEquals(7, v.getLong(1, 2));
            v.setLong(70, 1, 2);
            assertEquals(70, asLong("t_t[1, 2].item()"), "torch sees Java's write");
        }
        assertEquals(base, asLong("sys.getrefcount(t_t)"), "the deleter ran once");
    }

    @Test
    void torchBoolAndHalfTensorsReadInJava() {
        py.exec("t_b = torch.tensor([True, False, True])\nt_h = torch.tensor([1.5, -2.0], dtype=torch.float16)");
        try (PyObject b = py.eval("t_b"); PyBufferView v = b.dlpack()) {
            assertEquals("?", v.format());
            assertEquals(1, v.getAsLong(2));
            assertEquals(0, v.getAsLong(1));
        }
        try (PyObject h = py.eval("t_h"); PyBufferView v = h.dlpack()) {
            assertEquals("e", v.format());
            assertEquals(-2.0, v.getAsDouble(1));
        }
    }

    @Test
    void bfloat16IsRefusedNamingTheType() {
        try (PyObject t = py.eval("torch.zeros(3, dtype=torch.bfloat16)")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, t::dlpack);
            assertTrue(e.getMessage().contains("bfloat16"), e.getMessage());
        }
    }
}
