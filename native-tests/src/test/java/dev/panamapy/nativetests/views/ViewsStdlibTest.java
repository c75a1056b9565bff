package dev.panamapy.nativetests.views;

import dev.panamapy.BufferRequest;
import dev.panamapy.CPython;
import dev.panamapy.PyBufferView;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** PyBufferView over the standard library's producers: needs no third-party package, runs on every Python. */
@PythonTest
class ViewsStdlibTest {

    private final CPython py;

    ViewsStdlibTest(CPython py) {
        this.py = py;
    }

    private PyObject eval(String expr) { return py.eval(expr); }

    @Test
    void bytearraySegmentIsBoundedAndWritable() {
        py.exec("ba_w = bytearray(b'hello world')");
        try (PyObject ba = eval("ba_w"); PyBufferView v = ba.getBuffer(BufferRequest.FULL)) {
            assertEquals(11, v.segment().byteSize());
            assertEquals("B", v.format());
            assertEquals(1, v.itemsize());
            assertEquals(1, v.ndim());
            assertArrayEquals(new long[]{11}, v.shape());
            assertArrayEquals(new long[]{1}, v.strides());
            assertNull(v.suboffsets());
            assertFalse(v.readOnly());
            v.segment().set(ValueLayout.JAVA_BYTE, 0, (byte) 'J');
            v.setLong('W', 6);
        }
        try (PyObject r = eval("bytes(ba_w)")) {
            assertEquals("Jello World", new String(r.asBytesCopy(), StandardCharsets.US_ASCII));
        }
    }

    @Test
    void bytesGiveAReadOnlySegment() {
        try (PyObject b = eval("b'abcdef'"); PyBufferView v = b.getBuffer(BufferRequest.FULL_RO)) {
            assertTrue(v.readOnly());
            assertEquals(6, v.segment().byteSize());
            assertTrue(v.segment().isReadOnly());
            assertEquals('c', v.segment().get(ValueLayout.JAVA_BYTE, 2));
            RuntimeException e = assertThrows(RuntimeException.class,
                    () -> v.segment().set(ValueLayout.JAVA_BYTE, 0, (byte) 1));
            assertTrue(e instanceof UnsupportedOperationException || e instanceof IllegalArgumentException, e.toString());
            assertThrows(UnsupportedOperationException.class, () -> v.setLong(1, 0));
        }
        try (PyObject r = eval("b'abcdef'")) {
            assertEquals("abcdef", new String(r.asBytesCopy(), StandardCharsets.US_ASCII));
        }
    }

    @Test
    void writableRequestOnBytesRaisesBufferError() {
        try (PyObject b = eval("b'abc'")) {
            PythonException e = assertThrows(PythonException.class, () -> b.getBuffer(BufferRequest.WRITABLE));
            assertTrue(e.is("BufferError"), e.pythonType());
            assertTrue(e.pythonMessage().toLowerCase().contains("writable"), e.pythonMessage());
        }
    }

    @Test
    void objectWithoutBufferRaisesTypeError() {
        try (PyObject i = eval("12345")) {
            PythonException e = assertThrows(PythonException.class, () -> i.getBuffer(BufferRequest.SIMPLE));
            assertEquals("TypeError", e.pythonType());
            assertTrue(e.pythonMessage().contains("int"), e.pythonMessage());
        }
    }

    @Test
    void arrayOfIntsReadsTypedValues() {
        py.exec("import array\narr_i = array.array('i', [1, -2, 3, 2147483647])");
        try (PyObject a = eval("arr_i"); PyBufferView v = a.getBuffer(BufferRequest.FULL)) {
            assertEquals("i", v.format());
            assertEquals(4, v.itemsize());
            assertEquals(16, v.segment().byteSize());
            assertEquals(-2, v.getInt(1));
            assertEquals(2147483647, v.getAsLong(3));
            assertArrayEquals(new long[]{1, -2, 3, 2147483647}, v.copyToLongArray());
            assertEquals(1 - 2 + 3 + 2147483647.0, v.sum());
            v.setLong(40, 2);
            assertThrows(UnsupportedOperationException.class, () -> v.getDouble(0), "not a 'd'");
            assertThrows(UnsupportedOperationException.class, () -> v.getLong(0), "not 8 bytes");
            assertThrows(IndexOutOfBoundsException.class, () -> v.getInt(4));
            assertThrows(IllegalArgumentException.class, () -> v.getInt(0, 0));
        }
        try (PyObject r = eval("arr_i[2]")) {
            assertEquals(40, r.asLong());
        }
    }

    @Test
    void arrayOfDoublesUsesTheFastPaths() {
        py.exec("import array\narr_d = array.array('d', [0.5 * k for k in range(1000)])");
        try (PyObject a = eval("arr_d"); PyBufferView v = a.getBuffer(BufferRequest.FULL_RO)) {
            assertEquals(0.5 * 999 * 1000 / 2, v.sum());
            assertEquals(0.5 * 999 * 1000 / 2, v.doubles().sum());
            assertEquals(1.5, v.getDouble(3));
            assertEquals(499.5, v.copyToDoubleArray()[999]);
        }
    }

    @Test
    void unsignedBytesReadAsUnsigned() {
        try (PyObject a = eval("__import__('array').array('B', [0, 128, 255])");
             PyBufferView v = a.getBuffer(BufferRequest.FULL_RO)) {
            assertEquals(255, v.getAsLong(2));
            assertEquals(255.0, v.getAsDouble(2));
            assertEquals((byte) -1, v.getByte(2));
            assertArrayEquals(new long[]{0, 128, 255}, v.longs().toArray());
        }
    }

    @Test
    void unsignedWideFormatsReadAsUnsigned() {
        try (PyObject a = eval("__import__('array').array('I', [4294967295, 7])");
             PyBufferView v = a.getBuffer(BufferRequest.FULL_RO)) {
            assertEquals(4294967295L, v.getAsLong(0));
            assertEquals(-1, v.getInt(0));
        }
        try (PyObject a = eval("__import__('array').array('Q', [2**64 - 1])");
             PyBufferView v = a.getBuffer(BufferRequest.FULL_RO)) {
            assertEquals(18446744073709551615.0, v.getAsDouble(0));
            assertEquals(-1L, v.getLong(0));
        }
        try (PyObject a = eval("__import__('array').array('l', [-5, 6])");    // native long: 8 bytes
             PyBufferView v = a.getBuffer(BufferRequest.FULL_RO)) {
            assertEquals(8, v.itemsize());
            assertEquals(-5L, v.getLong(0));
            assertArrayEquals(new long[]{-5, 6}, v.copyToLongArray());
        }
    }

    @Test
    void anonymousMmapIsWritableAndSeenByPython() {
        py.exec("import mmap\nmm = mmap.mmap(-1, 4096)");
        try (PyObject m = eval("mm"); PyBufferView v = m.getBuffer(BufferRequest.WRITABLE)) {
            assertEquals(4096, v.segment().byteSize());
            assertFalse(v.readOnly());
            v.segment().set(ValueLayout.JAVA_BYTE, 4095, (byte) 42);
            v.segment().set(ValueLayout.JAVA_BYTE, 0, (byte) 7);
        }
        try (PyObject r = eval("(mm[0], mm[4095])")) {
            assertEquals("(7, 42)", r.toString());
        }
        py.exec("mm.close()");
    }

    @Test
    void steppedMemoryviewSliceIsStrided() {
        py.exec("mv_src = bytearray(range(20))\nmv_slice = memoryview(mv_src)[2:10:2]");
        try (PyObject m = eval("mv_slice"); PyBufferView v = m.getBuffer(BufferRequest.FULL)) {
            assertArrayEquals(new long[]{4}, v.shape());
            assertArrayEquals(new long[]{2}, v.strides());
            assertFalse(v.isCContiguous());
            assertEquals(7, v.segment().byteSize(), "from element 2 to element 8 inclusive");
            assertArrayEquals(new long[]{2, 4, 6, 8}, v.copyToLongArray());
            assertArrayEquals(new byte[]{2, 4, 6, 8}, v.copyToByteArray());
            v.setLong(99, 3);
        }
        try (PyObject r = eval("mv_src[8]")) {
            assertEquals(99, r.asLong());
        }
    }

    @Test
    void negativeStepMemoryviewStartsAtTheLowestAddress() {
        py.exec("neg_src = bytearray(range(10))\nneg_mv = memoryview(neg_src)[::-3]");   // 9, 6, 3, 0
        try (PyObject m = eval("neg_mv"); PyBufferView v = m.getBuffer(BufferRequest.FULL_RO)) {
            assertArrayEquals(new long[]{-3}, v.strides());
            assertEquals(10, v.segment().byteSize());
            assertEquals(9, v.offset());
            assertArrayEquals(new long[]{9, 6, 3, 0}, v.copyToLongArray());
            assertEquals(0, v.segment().get(ValueLayout.JAVA_BYTE, 0));
        }
    }

    @Test
    void ndRequestOnASteppedSliceRaisesBufferError() {
        try (PyObject m = eval("memoryview(bytearray(range(20)))[2:10:2]")) {
            PythonException e = assertThrows(PythonException.class, () -> m.getBuffer(BufferRequest.ND));
            assertTrue(e.is("BufferError"), e.toString());
            assertTrue(e.pythonMessage().contains("contiguous"), e.pythonMessage());
        }
    }

    @Test
    void closeIsIdempotentAndAccessAfterCloseThrows() {
        try (PyObject a = eval("__import__('array').array('d', [1.0, 2.0])")) {
            PyBufferView v = a.getBuffer(BufferRequest.FULL);
            MemorySegment s = v.segment();
            v.close();
            v.close();
            assertTrue(v.isClosed());
            assertEquals("view is closed", assertThrows(IllegalStateException.class, v::segment).getMessage());
            assertEquals("view is closed", assertThrows(IllegalStateException.class, () -> v.getDouble(0)).getMessage());
            assertEquals("view is closed", assertThrows(IllegalStateException.class, () -> v.setDouble(1, 0)).getMessage());
            assertEquals("view is closed", assertThrows(IllegalStateException.class, v::sum).getMessage());
            assertEquals("view is closed", assertThrows(IllegalStateException.class, v::doubles).getMessage());
            assertEquals("view is closed", assertThrows(IllegalStateException.class, v::copyToByteArray).getMessage());
            assertThrows(IllegalStateException.class, () -> s.get(ValueLayout.JAVA_DOUBLE, 0));
            assertTrue(v.toString().contains("closed"), v.toString());
        }
    }

    @Test
    void lazyStreamFailsCleanlyWhenTheViewClosesUnderIt() {
        try (PyObject a = eval("__import__('array').array('d', [1.0] * 100)")) {
            PyBufferView v = a.getBuffer(BufferRequest.FULL);
            var it = v.doubles().iterator();
            assertEquals(1.0, it.nextDouble());
            v.close();
            assertThrows(IllegalStateException.class, it::nextDouble);
        }
    }

    @Test
    void bytearrayCannotResizeWhileExportedAndCanAfterClose() {
        py.exec("ba_r = bytearray(b'abc')");
        PyBufferView v;
        try (PyObject ba = eval("ba_r")) {
            v = ba.getBuffer(BufferRequest.SIMPLE);
        }
        PythonException e = assertThrows(PythonException.class, () -> py.exec("ba_r.extend(b'x')"));
        assertEquals("BufferError", e.pythonType());
        v.close();
        py.exec("ba_r.extend(b'x')");
        try (PyObject r = eval("len(ba_r)")) {
            assertEquals(4, r.asLong());
        }
    }

    @Test
    void unclosedViewIsReleasedByTheCleaner() throws InterruptedException {
        py.exec("ba_gc = bytearray(b'abc')");
        try (PyObject ba = eval("ba_gc")) {
            ba.getBuffer(BufferRequest.SIMPLE);          // dropped without close
        }
        assertThrows(PythonException.class, () -> py.exec("ba_gc.extend(b'x')"), "still exported before GC");
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (true) {
            System.gc();
            Thread.sleep(20);
            try {
                py.exec("ba_gc.extend(b'x')");
                break;
            } catch (PythonException again) {
                assertEquals("BufferError", again.pythonType());
                if (System.nanoTime() > deadline) fail("the Cleaner never released the unclosed view");
            }
        }
        try (PyObject r = eval("bytes(ba_gc)")) {
            assertEquals("abcx", new String(r.asBytesCopy(), StandardCharsets.US_ASCII));
        }
    }

    @Test
    void simpleRequestGivesNoFormatNoShape() {
        try (PyObject a = eval("__import__('array').array('h', [1, 2, 3])");
             PyBufferView v = a.getBuffer(BufferRequest.SIMPLE)) {
            assertFalse(v.hasFormat());
            assertFalse(v.hasShape());
            assertEquals("B", v.format());
            assertEquals(6, v.byteLength());
            assertEquals(6, v.segment().byteSize());
        }
    }

    @Test
    void pep688BufferMethodOfAPurePythonClass() {
        assumeTrue(py.minorVersion() >= 12, "PEP 688 __buffer__ needs Python 3.12+");
        py.exec("""
                import array
                class Pep688:
                    def __init__(self):
                        self.data = array.array('d', [1.5, 2.5, 3.5])
                        self.released = 0
                    def __buffer__(self, flags):
                        return memoryview(self.data)
                    def __release_buffer__(self, view):
                        self.released += 1
                        view.release()
                p688 = Pep688()
                """);
        try (PyObject p = eval("p688")) {
            try (PyBufferView v = p.getBuffer(BufferRequest.FULL)) {
                assertEquals("d", v.format());
                assertArrayEquals(new double[]{1.5, 2.5, 3.5}, v.copyToDoubleArray());
                v.setDouble(9.25, 0);
            }
            try (PyObject r = eval("(p688.data[0], p688.released)")) {
                assertEquals("(9.25, 1)", r.toString());
            }
        }
    }

    @Test
    void pep688ExporterThatRaisesGivesItsException() {
        assumeTrue(py.minorVersion() >= 12, "PEP 688 __buffer__ needs Python 3.12+");
        py.exec("""
                class Refuses:
                    def __buffer__(self, flags):
                        raise BufferError('no buffer for you: flags=%d' % flags)
                """);
        try (PyObject p = eval("Refuses()")) {
            PythonException e = assertThrows(PythonException.class, () -> p.getBuffer(BufferRequest.FULL_RO));
            assertEquals("BufferError", e.pythonType());
            assertTrue(e.pythonMessage().startsWith("no buffer for you"), e.pythonMessage());
        }
    }
}
