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
import java.time.Duration;

import static dev.panamapy.nativetests.exporter.PyCheck.*;
import static java.lang.foreign.ValueLayout.*;
import static org.junit.jupiter.api.Assertions.*;

/** numpy.from_dlpack over Java memory, and Java's dlpack() over numpy arrays: shared, both ways. */
@RequiresPythonPackage("numpy")
class DLPackNumpyTest {

    private final CPython py;
    @RegisterExtension
    final ExportFixture fx = new ExportFixture("numpy");
    private Arena arena;

    DLPackNumpyTest(CPython py) {
        this.py = py;
    }

    @BeforeEach
    void open() {
        arena = fx.arena();
        py.exec("import numpy as np, sys, gc");
    }

    private MemorySegment doubles(int n) { return DLPackProtocolTest.doubles(arena, n); }

    @Test
    void fromDlpackSharesJavaMemoryBothWays() {
        MemorySegment seg = doubles(12);
        JavaBuffer buf = fx.export(BufferSpec.of(seg, "d").shape(3, 4));
        py.exec("t_a = np.from_dlpack(t_buf)");
        assertEquals(seg.address(), asLong("t_a.ctypes.data"), "numpy's data pointer is the Java memory");
        assertEquals("(3, 4)", str("t_a.shape"));
        assertEquals("float64", str("t_a.dtype"));
        assertEquals(6.5, asDouble("t_a[1, 2]"));
        seg.setAtIndex(JAVA_DOUBLE, 5, 42);
        assertEquals(42, asDouble("t_a[1, 1]"), "numpy sees Java's write");
        py.exec("t_a[2, 3] = -7");
        assertEquals(-7, seg.getAtIndex(JAVA_DOUBLE, 11), "Java sees numpy's write");
        assertEquals(1, buf.exportCount(), "the array's tensor holds one view");
        py.exec("del t_a\ngc.collect()");
        assertEquals(0, buf.exportCount(), "numpy called the deleter when the array died");
    }

    @Test
    void readOnlyJavaMemoryIsRefusedToNumpyFromDlpackAndSharedReadOnlyByAsarray() {
        JavaBuffer buf = fx.export(BufferSpec.of(doubles(4), "d").readOnly());
        PythonException e = raises("np.from_dlpack(t_buf)");
        assertTrue(e.pythonType().endsWith("BufferError"), e.pythonType());
        assertTrue(e.getMessage().contains("read-only"), e.getMessage());
        assertEquals(0, buf.exportCount(), "nothing kept");
        py.exec("t_a = np.asarray(t_buf)");
        assertFalse(isTrue("t_a.flags.writeable"), "the buffer protocol shares it read-only");
        assertTrue(raises("t_a[0] = 1").pythonType().endsWith("ValueError"));
    }

    @Test
    void integerBoolHalfAndComplexFormatsMapToNumpyDtypes() {
        String[][] cases = {{"b", "int8"}, {"H", "uint16"}, {"i", "int32"}, {"Q", "uint64"}, {"e", "float16"},
                {"f", "float32"}, {"?", "bool"}, {"q", "int64"}};
        for (String[] c : cases) {
            try (JavaBuffer b = py.export(BufferSpec.of(arena.allocate(64, 8), c[0]).shape(4))) {
                py.setGlobal("t_x", b);
                assertEquals(c[1], str("np.from_dlpack(t_x).dtype"), c[0]);
                py.exec("del t_x\ngc.collect()");
            }
        }
    }

    @Test
    void stridedAndNegativeStridedViewsKeepTheirLayout() {
        MemorySegment seg = doubles(20);
        fx.export(BufferSpec.of(seg, "d").layout(8 * 19, new long[]{2, 5}, new long[]{-80, -16}));
        py.exec("t_a = np.from_dlpack(t_buf)");
        assertEquals("(-80, -16)", str("t_a.strides"));
        assertEquals("[[19.5, 17.5, 15.5, 13.5, 11.5], [9.5, 7.5, 5.5, 3.5, 1.5]]", str("t_a.tolist()"));
        assertEquals(seg.address() + 8 * 19, asLong("t_a.ctypes.data"));
    }

    @Test
    void zeroDimensionalAndEmptyArrays() {
        MemorySegment seg = doubles(1);
        fx.export(BufferSpec.of(seg, "d").scalar());
        assertEquals("()", str("np.from_dlpack(t_buf).shape"));
        assertEquals(0.5, asDouble("float(np.from_dlpack(t_buf))"));
        try (JavaBuffer empty = py.export(BufferSpec.of(arena.allocate(8), "f").shape(3, 0))) {
            py.setGlobal("t_e", empty);
            assertEquals("(3, 0)", str("np.from_dlpack(t_e).shape"));
            py.exec("del t_e\ngc.collect()");
        }
    }

    @Test
    void javaReadsANumpyArrayInPlaceAndWritesIt() {
        py.exec("t_n = np.arange(12, dtype=np.int32).reshape(3, 4)[:, ::2]");
        try (PyObject a = py.eval("t_n"); PyBufferView v = a.dlpack()) {
            assertEquals(asLong("t_n.ctypes.data"), v.segment().address() + v.offset(), "same memory");
            assertEquals("i", v.format());
            assertArrayEquals(new long[]{3, 2}, v.shape());
            assertArrayEquals(new long[]{16, 8}, v.strides());
            assertEquals(10, v.getInt(2, 1));
            v.setLong(-3, 1, 1);
            assertEquals(-3, asLong("t_n[1, 1]"), "numpy sees Java's write");
        }
    }

    @Test
    void complexNumpyArrayIsReadAsZdItems() {
        py.exec("t_c = np.array([1 + 2j, -3.5 + 0.25j])");
        try (PyObject a = py.eval("t_c"); PyBufferView v = a.dlpack()) {
            assertEquals("Zd", v.format());
            assertEquals(16, v.itemsize());
            assertEquals(-3.5, v.segment().get(JAVA_DOUBLE, 16));
            assertEquals(0.25, v.segment().get(JAVA_DOUBLE, 24));
        }
    }

    @Test
    void readOnlyNumpyArrayGivesReadOnlyView() {
        py.exec("t_n = np.arange(4.0)\nt_n.flags.writeable = False");
        try (PyObject a = py.eval("t_n"); PyBufferView v = a.dlpack()) {
            assertTrue(v.isReadOnly());
            assertThrows(UnsupportedOperationException.class, () -> v.setDouble(1, 0));
            assertEquals(3.0, v.getDouble(3));
        }
    }

    @Test
    void numpyDeleterRunsExactlyOnceOnCloseAndOnGc() throws Exception {
        py.exec("t_n = np.zeros(8)");
        long base = asLong("sys.getrefcount(t_n)");
        try (PyObject a = py.eval("t_n")) {
            long held = asLong("sys.getrefcount(t_n)");         // base + Java's reference
            PyBufferView v = a.dlpack();
            assertTrue(asLong("sys.getrefcount(t_n)") > held, "the tensor holds the array");
            v.close();
            v.close();
            assertEquals(held, asLong("sys.getrefcount(t_n)"), "closed twice, deleted once");
            a.dlpack();                                        // dropped unclosed: the Cleaner deletes it
        }
        settle(d -> asLong("sys.getrefcount(t_n)") == base, Duration.ofSeconds(10));
        assertEquals(base, asLong("sys.getrefcount(t_n)"));
    }

    @Test
    void deleterRunsFromAJavaThreadOtherThanTheTaker() throws Exception {
        py.exec("t_n = np.ones(4)");
        long base = asLong("sys.getrefcount(t_n)");
        PyBufferView v;
        try (PyObject a = py.eval("t_n")) {
            v = a.dlpackShared();
        }
        Thread t = Thread.ofPlatform().start(v::close);
        t.join();
        assertEquals(base, asLong("sys.getrefcount(t_n)"));
    }

    @Test
    void roundTripsLeaveRefcountsAndViewsFlat() {
        MemorySegment seg = doubles(16);
        JavaBuffer buf = fx.export(BufferSpec.of(seg, "d"));
        py.exec("t_n = np.arange(16.0)");
        CPython.Diagnostics before = settle(d -> true, Duration.ZERO);
        long refs = asLong("sys.getrefcount(t_n)"), bufRefs = asLong("sys.getrefcount(t_buf)");
        for (int i = 0; i < 1000; i++) {
            py.exec("np.from_dlpack(t_buf).sum()");
            try (PyObject a = py.eval("t_n"); PyBufferView v = a.dlpack()) {
                assertEquals(i % 16, v.getDouble(i % 16));
            }
        }
        CPython.Diagnostics after = settleTo(before);
        assertEquals(before.liveViews(), after.liveViews());
        assertEquals(before.liveReferences(), after.liveReferences());
        assertEquals(refs, asLong("sys.getrefcount(t_n)"));
        assertEquals(bufRefs, asLong("sys.getrefcount(t_buf)"));
        assertEquals(0, buf.exportCount());
    }
}
