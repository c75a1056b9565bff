package dev.panamapy.nativetests.dlpack;

import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PyBufferView;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;
import dev.panamapy.nativetests.exporter.ExportFixture;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;

import static dev.panamapy.nativetests.exporter.PyCheck.*;
import static java.lang.foreign.ValueLayout.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The DLPack protocol of {@code panamapy.JavaBuffer} itself, with no array library: capsule
 * names, the consumer's renaming, the destructor of an unconsumed capsule, the deleter run
 * exactly once from a Python thread, a Java thread and the GC, and the JavaBuffer -> Java round
 * trip through {@code PyObject.dlpack()}. A consumer is played in Python with ctypes (the
 * pointer, the rename, the deleter call), as numpy and torch do in C.
 */
@PythonTest
class DLPackProtocolTest {

    private final CPython py;
    @RegisterExtension
    final ExportFixture fx = new ExportFixture("the DLPack consumer");
    private Arena arena;

    DLPackProtocolTest(CPython py) {
        this.py = py;
    }

    @BeforeEach
    void open() {
        arena = fx.arena();
        py.exec("""
                import ctypes, threading
                t_api = ctypes.pythonapi
                t_api.PyCapsule_GetPointer.restype = ctypes.c_void_p
                t_api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
                t_api.PyCapsule_SetName.argtypes = [ctypes.py_object, ctypes.c_char_p]
                t_api.PyCapsule_GetName.restype = ctypes.c_char_p
                t_api.PyCapsule_GetName.argtypes = [ctypes.py_object]
                t_used = {True: ctypes.c_char_p(b'used_dltensor_versioned'), False: ctypes.c_char_p(b'used_dltensor')}
                def t_consume(cap, versioned):
                    # what a consumer does: take the pointer, rename the capsule, keep the deleter
                    name = b'dltensor_versioned' if versioned else b'dltensor'
                    p = t_api.PyCapsule_GetPointer(cap, name)
                    t_api.PyCapsule_SetName(cap, t_used[versioned])
                    deleter = ctypes.c_void_p.from_address(p + (16 if versioned else 56)).value
                    return p, ctypes.CFUNCTYPE(None, ctypes.c_void_p)(deleter)
                """);
    }

    private MemorySegment doubles(int n) { return doubles(arena, n); }

    /** n doubles 0.5, 1.5, 2.5 ... from the arena (shared by the DLPack tests). */
    static MemorySegment doubles(Arena arena, int n) {
        MemorySegment seg = arena.allocate(JAVA_DOUBLE, n);
        for (int i = 0; i < n; i++) seg.setAtIndex(JAVA_DOUBLE, i, i + 0.5);
        return seg;
    }

    @Test
    void legacyCapsuleIsNamedDltensorAndHoldsOneView() {
        JavaBuffer buf = fx.export(BufferSpec.of(doubles(4), "d"));
        py.exec("t_cap = t_buf.__dlpack__()");
        assertEquals("b'dltensor'", str("t_api.PyCapsule_GetName(t_cap)"));
        assertEquals(1, buf.exportCount(), "the tensor holds a view of the JavaBuffer");
        py.exec("del t_cap");
        assertEquals(0, buf.exportCount(), "an unconsumed capsule's destructor called the deleter");
    }

    @Test
    void maxVersionOneGivesVersionedCapsuleWithVersionAndNoFlags() {
        MemorySegment seg = doubles(4);
        fx.export(BufferSpec.of(seg, "d"));
        py.exec("t_cap = t_buf.__dlpack__(max_version=(1, 0))");
        assertEquals("b'dltensor_versioned'", str("t_api.PyCapsule_GetName(t_cap)"));
        py.exec("t_p = t_api.PyCapsule_GetPointer(t_cap, b'dltensor_versioned')");
        assertEquals(1, asLong("ctypes.c_uint32.from_address(t_p).value"), "major version");
        assertEquals(0, asLong("ctypes.c_uint64.from_address(t_p + 24).value"), "flags: writable, not copied");
        assertEquals(seg.address(), asLong("ctypes.c_void_p.from_address(t_p + 32).value"), "data is the Java memory");
        assertEquals("(1, 0)", str("t_buf.__dlpack_device__()"));
    }

    @Test
    void olderMaxVersionGivesLegacyCapsule() {
        fx.export(BufferSpec.of(doubles(4), "d"));
        assertEquals("b'dltensor'", str("t_api.PyCapsule_GetName(t_buf.__dlpack__(max_version=(0, 8)))"));
    }

    @Test
    void readOnlyBufferIsRefusedToEveryConsumerVersionedOrLegacy() {
        JavaBuffer buf = fx.export(BufferSpec.of(doubles(4), "d").readOnly());
        for (String call : new String[]{"t_buf.__dlpack__(max_version=(1, 0))", "t_buf.__dlpack__()",
                "t_buf.__dlpack__(max_version=(0, 8))"}) {
            PythonException e = raises(call);
            assertTrue(e.pythonType().endsWith("BufferError"), call + ": " + e.pythonType());
            assertTrue(e.getMessage().contains("read-only Java memory cannot be shared through DLPack")
                    && e.getMessage().contains("memoryview(buf)"), e.getMessage());
        }
        assertEquals(0, buf.exportCount(), "nothing kept");
        assertTrue(isTrue("memoryview(t_buf).readonly"), "the buffer protocol still shares it, read-only");
    }

    @Test
    void consumedCapsuleLeavesTheDeleterToTheConsumerWhoCallsItOnce() {
        JavaBuffer buf = fx.export(BufferSpec.of(doubles(4), "d"));
        py.exec("t_cap = t_buf.__dlpack__(max_version=(1, 0))\nt_p, t_del = t_consume(t_cap, True)\ndel t_cap");
        assertEquals(1, buf.exportCount(), "a renamed capsule's destructor leaves the tensor alone");
        py.exec("t_th = threading.Thread(target=t_del, args=(t_p,))\nt_th.start()\nt_th.join()");
        assertEquals(0, buf.exportCount(), "the deleter, called on a Python thread, released the view once");
    }

    @Test
    void deleterRunsWithoutTheGilFromAJavaThread() throws Exception {
        JavaBuffer buf = fx.export(BufferSpec.of(doubles(4), "d"));
        py.exec("t_cap = t_buf.__dlpack__()\nt_p, t_del = t_consume(t_cap, False)\ndel t_cap");
        long managed = asLong("t_p");
        long deleter = asLong("ctypes.c_void_p.from_address(t_p + 56).value");
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                java.lang.foreign.Linker.nativeLinker()
                        .downcallHandle(MemorySegment.ofAddress(deleter), java.lang.foreign.FunctionDescriptor.ofVoid(JAVA_LONG))
                        .invokeExact(managed);
            } catch (Throwable e) {
                throw new AssertionError(e);
            }
        });
        t.join();
        assertEquals(0, buf.exportCount(), "the deleter took the GIL itself and released the view");
    }

    @Test
    void formatWithoutDLPackTypeIsABufferErrorNamingIt() {
        MemorySegment seg = arena.allocate(16);
        JavaBuffer buf = fx.export(BufferSpec.of(seg, "2q"));
        PythonException e = raises("t_buf.__dlpack__()");
        assertTrue(e.pythonType().endsWith("BufferError"), e.pythonType());
        assertTrue(e.getMessage().contains("'2q'") && e.getMessage().contains("numeric formats only"), e.getMessage());
        assertEquals(0, buf.exportCount());
    }

    @Test
    void strideNotAMultipleOfTheItemSizeIsABufferError() {
        MemorySegment seg = arena.allocate(64);
        fx.export(BufferSpec.of(seg, "i").shape(3).strides(5));
        PythonException e = raises("t_buf.__dlpack__()");
        assertTrue(e.getMessage().contains("stride 5") && e.getMessage().contains("multiple of the item size 4"), e.getMessage());
    }

    @Test
    void badArgumentsAreRefusedClearly() {
        fx.export(BufferSpec.of(doubles(4), "d"));
        assertTrue(raises("t_buf.__dlpack__(None)").pythonType().endsWith("TypeError"));
        assertTrue(raises("t_buf.__dlpack__(colour=1)").getMessage().contains("unexpected keyword"));
        assertTrue(raises("t_buf.__dlpack__(stream=1)").getMessage().contains("stream=None"));
        assertTrue(raises("t_buf.__dlpack__(dl_device=(2, 0))").getMessage().contains("device (2, 0)"));
        assertTrue(raises("t_buf.__dlpack__(copy=True)").getMessage().contains("never copies"));
        assertEquals("b'dltensor_versioned'", str("t_api.PyCapsule_GetName(t_buf.__dlpack__(stream=None, "
                + "max_version=(1, 2), dl_device=(1, 0), copy=False))"));
    }

    @Test
    void javaBufferRoundTripsIntoJavaOverTheSameMemory() {
        MemorySegment seg = doubles(12);
        JavaBuffer buf = fx.export(BufferSpec.of(seg, "d").shape(3, 4));
        try (PyObject obj = buf.asPyObject(); PyBufferView v = obj.dlpack()) {
            assertEquals(seg.address(), v.segment().address());
            assertArrayEquals(new long[]{3, 4}, v.shape());
            assertArrayEquals(new long[]{32, 8}, v.strides());
            assertEquals("d", v.format());
            assertFalse(v.isReadOnly());
            assertEquals(1, buf.exportCount(), "the tensor holds the view");
            assertEquals(6.5, v.getDouble(1, 2));
            v.setDouble(-1, 2, 3);
            assertEquals(-1, seg.getAtIndex(JAVA_DOUBLE, 11));
        }
        assertEquals(0, buf.exportCount(), "closing called the deleter once");
    }

    @Test
    void readOnlyJavaBufferIsRefusedToJavaDlpackToo() {
        JavaBuffer buf = fx.export(BufferSpec.of(doubles(3), "d").readOnly());
        try (PyObject obj = buf.asPyObject()) {
            PythonException e = assertThrows(PythonException.class, obj::dlpack);
            assertEquals("BufferError", e.pythonType());
            assertTrue(e.getMessage().contains("read-only"), e.getMessage());
        }
        assertEquals(0, buf.exportCount());
    }

    @Test
    void legacyTensorGivesReadOnlyViewThoughItsMemoryIsWritable() {
        MemorySegment seg = doubles(3);
        JavaBuffer buf = fx.export(BufferSpec.of(seg, "d"));
        // a producer that predates max_version (pyarrow's Array does so): dlpack() falls back to a legacy tensor
        py.exec("""
                class t_Legacy:
                    def __init__(self, b): self.b = b
                    def __dlpack__(self): return self.b.__dlpack__()
                    def __dlpack_device__(self): return (1, 0)
                t_legacy = t_Legacy(t_buf)
                """);
        try (PyObject obj = py.eval("t_legacy"); PyBufferView v = obj.dlpack()) {
            assertEquals(seg.address(), v.segment().address(), "the legacy tensor was taken, over the Java memory");
            assertTrue(v.isReadOnly(), "a legacy tensor cannot say its memory may be written: read-only");
            assertTrue(v.segment().isReadOnly());
            assertThrows(UnsupportedOperationException.class, () -> v.setDouble(-1, 1));
            assertEquals(1.5, v.getDouble(1));
        }
        assertEquals(1.5, seg.getAtIndex(JAVA_DOUBLE, 1), "nothing written");
        assertEquals(0, buf.exportCount(), "closing called the legacy deleter once");
    }

    @Test
    void negativeStridesAndOffsetsRoundTrip() {
        MemorySegment seg = doubles(10);
        fx.export(BufferSpec.of(seg, "d").layout(72, new long[]{5}, new long[]{-16}));
        try (PyObject obj = py.eval("t_buf"); PyBufferView v = obj.dlpack()) {
            assertArrayEquals(new long[]{-16}, v.strides());
            assertEquals(9.5, v.getDouble(0));
            assertEquals(1.5, v.getDouble(4));
            assertEquals(seg.address() + 72, v.segment().address() + v.offset(), "element 0 is the Java element 9");
        }
    }

    @Test
    void zeroDimensionalAndEmptyBuffersRoundTrip() {
        MemorySegment seg = doubles(1);
        fx.export(BufferSpec.of(seg, "d").scalar());
        try (PyObject obj = py.eval("t_buf"); PyBufferView v = obj.dlpack()) {
            assertEquals(0, v.ndim());
            assertEquals(0.5, v.getDouble());
        }
        try (JavaBuffer empty = py.export(BufferSpec.of(arena.allocate(8), "i").shape(0, 3));
             PyObject obj = empty.asPyObject(); PyBufferView v = obj.dlpack()) {
            assertArrayEquals(new long[]{0, 3}, v.shape());
            assertEquals(0, v.itemCount());
        }
    }

    @Test
    void objectWithoutDlpackIsRefusedNamingItsType() {
        try (PyObject obj = py.eval("bytearray(4)")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, obj::dlpack);
            assertTrue(e.getMessage().contains("'bytearray'") && e.getMessage().contains("getBuffer"), e.getMessage());
        }
    }

    @Test
    void unclosedViewIsDeletedByTheGcExactlyOnce() throws Exception {
        JavaBuffer buf = fx.export(BufferSpec.of(doubles(4), "d"));
        try (PyObject obj = buf.asPyObject()) {
            obj.dlpack();                                     // dropped unclosed
        }
        settle(d -> buf.exportCount() == 0, Duration.ofSeconds(10));
        assertEquals(0, buf.exportCount(), "the Cleaner called the deleter");
    }

    @Test
    void manyRoundTripsLeaveCountsFlat() {
        JavaBuffer buf = fx.export(BufferSpec.of(doubles(64), "d").shape(8, 8));
        py.exec("import sys, gc");
        roundTrips(500);                                   // warm-up: caches, code objects, free lists
        CPython.Diagnostics before = settle(d -> true, Duration.ZERO);
        py.exec("gc.collect()");
        long refs = asLong("sys.getrefcount(t_buf)");
        long blocks = asLong("sys.getallocatedblocks()");
        roundTrips(2000);
        CPython.Diagnostics after = settleTo(before);
        assertEquals(before.liveViews(), after.liveViews(), "views balanced");
        assertEquals(before.liveReferences(), after.liveReferences(), "references balanced");
        assertEquals(refs, asLong("sys.getrefcount(t_buf)"));
        py.exec("gc.collect()");
        long grown = asLong("sys.getallocatedblocks()") - blocks;
        // a leak of one object per tensor would be 4,000 blocks or more
        assertTrue(grown < 400, "Python's allocated blocks stay flat over 4,000 tensors: grew by " + grown);
        assertEquals(0, buf.exportCount());
        assertEquals(5000, buf.totalExports());
    }

    /** n tensors consumed by nobody (the capsule's destructor deletes) and n read by Java (close deletes). */
    private void roundTrips(int n) {
        for (int i = 0; i < n; i++) {
            py.exec("t_buf.__dlpack__(max_version=(1, 0))");
            try (PyObject obj = py.eval("t_buf"); PyBufferView v = obj.dlpack()) {
                assertEquals(i % 8 + 0.5, v.getDouble(0, i % 8));
            }
        }
    }
}
