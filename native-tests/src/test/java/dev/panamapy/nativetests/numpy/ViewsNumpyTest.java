package dev.panamapy.nativetests.numpy;

import dev.panamapy.BufferRequest;
import dev.panamapy.CPython;
import dev.panamapy.PyBufferView;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;
import dev.panamapy.testing.RequiresPythonPackage;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.*;

/** PyBufferView over numpy arrays: layouts, byte orders, strides, read-only, writes seen by numpy. */
@RequiresPythonPackage("numpy")
class ViewsNumpyTest {

    private static CPython py;

    @BeforeEach
    void numpy(CPython python) {
        py = python;
        py.exec("import numpy as np");
    }

    private static PyBufferView view(String expr, BufferRequest req) {
        try (PyObject o = py.eval(expr)) {
            return o.getBuffer(req);
        }
    }

    @Test
    void cContiguousArraySpansExactlyItsBytes() {
        py.exec("c34 = np.arange(12, dtype=np.float64).reshape(3, 4)");
        try (PyBufferView v = view("c34", BufferRequest.FULL)) {
            assertEquals(96, v.segment().byteSize());
            assertEquals("d", v.format());
            assertEquals(8, v.itemsize());
            assertEquals(2, v.ndim());
            assertArrayEquals(new long[]{3, 4}, v.shape());
            assertArrayEquals(new long[]{32, 8}, v.strides());
            assertNull(v.suboffsets());
            assertTrue(v.isCContiguous());
            assertEquals(6.0, v.getDouble(1, 2));
            assertArrayEquals(new double[]{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, v.copyToDoubleArray());
        }
    }

    @Test
    void fortranArrayReadsInLogicalCOrder() {
        py.exec("f34 = np.asfortranarray(np.arange(12, dtype=np.int64).reshape(3, 4))");
        try (PyBufferView v = view("f34", BufferRequest.FULL)) {
            assertEquals(96, v.segment().byteSize());
            assertArrayEquals(new long[]{8, 24}, v.strides());
            assertFalse(v.isCContiguous());
            assertEquals(6, v.getLong(1, 2));
            assertArrayEquals(new long[]{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, v.copyToLongArray());
            assertEquals(66, v.longs().sum());
        }
    }

    @Test
    void steppedAndReversedSliceIsBoundedToItsSpan() {
        py.exec("base46 = np.arange(24, dtype=np.float64).reshape(4, 6)\nsl = base46[::2, ::-1]");
        try (PyBufferView v = view("sl", BufferRequest.FULL)) {
            assertArrayEquals(new long[]{2, 6}, v.shape());
            assertArrayEquals(new long[]{96, -8}, v.strides());
            assertEquals(96 + 40 + 8, v.segment().byteSize(), "rows 0 and 2, all columns");
            assertEquals(40, v.offset());
            assertEquals(5.0, v.getDouble(0, 0));
            assertEquals(12.0, v.getDouble(1, 5));
            assertArrayEquals(new double[]{5, 4, 3, 2, 1, 0, 17, 16, 15, 14, 13, 12}, v.copyToDoubleArray());
            assertEquals(5 + 4 + 3 + 2 + 1 + 17 + 16 + 15 + 14 + 13 + 12, v.sum());
            v.setDouble(-1.0, 1, 0);
        }
        try (PyObject r = py.eval("float(base46[2, 5])")) {
            assertEquals(-1.0, r.asDouble());
        }
    }

    @Test
    void bigEndianDtypesAreReadAndWrittenInTheirOrder() {
        py.exec("be_i = np.array([1, -2, 300000], dtype='>i4')\nbe_f = np.array([1.5, -2.25], dtype='>f8')");
        try (PyBufferView v = view("be_i", BufferRequest.FULL)) {
            assertEquals(">i", v.format());
            assertEquals(-2, v.getInt(1));
            assertArrayEquals(new long[]{1, -2, 300000}, v.copyToLongArray());
            assertEquals(0, v.segment().get(ValueLayout.JAVA_BYTE, 0), "big-endian: high byte first");
            v.setLong(7, 0);
        }
        try (PyBufferView v = view("be_f", BufferRequest.FULL)) {
            assertEquals(">d", v.format());
            assertEquals(-2.25, v.getDouble(1));
            assertEquals(-0.75, v.sum(), "not the native fast path");
            v.setDouble(3.0, 1);
        }
        try (PyObject r = py.eval("(int(be_i[0]), float(be_f[1]))")) {
            assertEquals("(7, 3.0)", r.toString());
        }
    }

    @Test
    void zeroDimensionalArrayHasOneItem() {
        try (PyBufferView v = view("np.array(3.5)", BufferRequest.FULL_RO)) {
            assertEquals(0, v.ndim());
            assertArrayEquals(new long[0], v.shape());
            assertEquals(8, v.segment().byteSize());
            assertEquals(1, v.itemCount());
            assertEquals(3.5, v.getDouble());
            assertEquals(3.5, v.sum());
            assertArrayEquals(new double[]{3.5}, v.copyToDoubleArray());
        }
    }

    /** numpy answers SIMPLE with ndim 0 and its item size: the view is its bytes, all of them. */
    @Test
    void simpleRequestOfAOneItemArrayCoversAllItsBytes() {
        try (PyBufferView v = view("np.array([7], dtype='<i8')", BufferRequest.SIMPLE)) {
            assertEquals(8, v.byteLength());
            assertEquals(8, v.segment().byteSize(), "the segment covers every byte the buffer has");
            assertArrayEquals(new long[]{8}, v.shape());
            assertEquals(7, v.segment().get(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED.withOrder(
                    java.nio.ByteOrder.LITTLE_ENDIAN), v.offset()));
            assertEquals(8, v.spec().segment().byteSize());
        }
    }

    @Test
    void readOnlyArrayGivesReadOnlyView() {
        py.exec("ro = np.arange(4.0)\nro.flags.writeable = False");
        try (PyObject a = py.eval("ro")) {
            PythonException e = assertThrows(PythonException.class, () -> a.getBuffer(BufferRequest.FULL));
            // numpy words it as a ValueError ("buffer source array is read-only"), not BufferError
            assertTrue(e.is("ValueError") || e.is("BufferError"), e.pythonType());
            assertTrue(e.pythonMessage().contains("read-only"), e.pythonMessage());
            try (PyBufferView v = a.getBuffer(BufferRequest.FULL_RO)) {
                assertTrue(v.readOnly());
                assertTrue(v.segment().isReadOnly());
                assertThrows(UnsupportedOperationException.class, () -> v.setDouble(1.0, 0));
                RuntimeException w = assertThrows(RuntimeException.class,
                        () -> v.segment().set(ValueLayout.JAVA_DOUBLE, 0, 1.0));
                assertTrue(w instanceof UnsupportedOperationException || w instanceof IllegalArgumentException, w.toString());
                assertEquals(3.0, v.getDouble(3));
            }
        }
    }

    @Test
    void unsignedFormatsReadUnsigned() {
        try (PyBufferView v = view("np.array([0, 200, 255], dtype=np.uint8)", BufferRequest.FULL_RO)) {
            assertEquals("B", v.format());
            assertEquals(255, v.getAsLong(2));
            assertEquals(200.0, v.getAsDouble(1));
        }
        try (PyBufferView v = view("np.array([65535], dtype=np.uint16)", BufferRequest.FULL_RO)) {
            assertEquals(65535, v.getAsLong(0));
        }
        try (PyBufferView v = view("np.array([2**32 - 1], dtype=np.uint32)", BufferRequest.FULL_RO)) {
            assertEquals(4294967295L, v.getAsLong(0));
        }
        try (PyBufferView v = view("np.array([2**64 - 1], dtype=np.uint64)", BufferRequest.FULL_RO)) {
            assertEquals(18446744073709551615.0, v.getAsDouble(0));
        }
    }

    @Test
    void int64AndSmallerTypesAndBool() {
        try (PyBufferView v = view("np.array([-(2**40), 5], dtype=np.int64)", BufferRequest.FULL_RO)) {
            assertEquals(-(1L << 40), v.getLong(0));
            assertEquals(-(1L << 40), v.getAsLong(0));
        }
        try (PyBufferView v = view("np.array([1.5, -2.5], dtype=np.float32)", BufferRequest.FULL_RO)) {
            assertEquals("f", v.format());
            assertEquals(-2.5f, v.getFloat(1));
            assertEquals(-1.0, v.sum());
        }
        try (PyBufferView v = view("np.array([0.5, 65504], dtype=np.float16)", BufferRequest.FULL_RO)) {
            assertEquals("e", v.format());
            assertArrayEquals(new double[]{0.5, 65504}, v.copyToDoubleArray());
        }
        try (PyBufferView v = view("np.array([True, False, True])", BufferRequest.FULL_RO)) {
            assertEquals("?", v.format());
            assertArrayEquals(new long[]{1, 0, 1}, v.copyToLongArray());
        }
        try (PyBufferView v = view("np.array([-3], dtype=np.int16)", BufferRequest.FULL_RO)) {
            assertEquals(-3, v.getShort(0));
        }
    }

    @Test
    void javaWritesAreSeenByNumpy() {
        py.exec("w = np.zeros((3, 3))");
        try (PyBufferView v = view("w", BufferRequest.FULL)) {
            for (int i = 0; i < 3; i++) v.setDouble(i + 1, i, i);
            v.setLong(7, 0, 2);
            v.segment().setAtIndex(ValueLayout.JAVA_DOUBLE, 3, -4.0);    // [1, 0]
        }
        try (PyObject r = py.eval("(float(np.trace(w)), float(w[0, 2]), float(w[1, 0]))")) {
            assertEquals("(6.0, 7.0, -4.0)", r.toString());
        }
    }

    @Test
    void sumOfTenMillionDoublesMatchesNumpy() {
        py.exec("big = np.random.default_rng(42).random(10_000_000)");
        double expected;
        try (PyObject r = py.eval("float(big.sum())")) {
            expected = r.asDouble();
        }
        try (PyBufferView v = view("big", BufferRequest.FULL_RO)) {
            assertEquals(80_000_000, v.segment().byteSize());
            long t0 = System.nanoTime();
            double sum = v.sum();
            long t1 = System.nanoTime();
            assertEquals(expected, sum, Math.abs(expected) * 1e-6);
            assertEquals(expected, v.doubles().sum(), Math.abs(expected) * 1e-6);
            System.out.printf("sum of 10M float64 through a view: %.1f ms%n", (t1 - t0) / 1e6);
        }
        py.exec("del big");
    }

    @Test
    void stridedSumMatchesNumpy() {
        py.exec("sb = np.random.default_rng(1).random((1000, 1000))[::3, ::-7]");
        double expected;
        try (PyObject r = py.eval("float(sb.sum())")) {
            expected = r.asDouble();
        }
        try (PyBufferView v = view("sb", BufferRequest.FULL_RO)) {
            assertEquals(expected, v.sum(), Math.abs(expected) * 1e-9);
        }
    }

    @Test
    void contiguityRequestsAreRefusedForTheWrongLayout() {
        try (PyObject f = py.eval("np.asfortranarray(np.ones((3, 4)))")) {
            PythonException e = assertThrows(PythonException.class, () -> f.getBuffer(BufferRequest.C_CONTIGUOUS));
            assertTrue(e.is("BufferError") || e.is("ValueError"), e.toString());
            assertTrue(e.pythonMessage().contains("C-contiguous"), e.pythonMessage());
            try (PyBufferView v = f.getBuffer(BufferRequest.F_CONTIGUOUS)) {
                assertArrayEquals(new long[]{8, 24}, v.strides());
            }
        }
        try (PyObject s = py.eval("np.ones((4, 6))[::2, ::-1]")) {
            PythonException e = assertThrows(PythonException.class, () -> s.getBuffer(BufferRequest.ND));
            assertTrue(e.pythonMessage().contains("contiguous"), e.pythonMessage());
        }
    }

    @Test
    void simpleRequestSpansTheWholeArrayDespiteNumpysNdimZero() {
        // numpy answers SIMPLE with ndim = 0 and no shape: PEP 3118 says read it as len bytes
        try (PyBufferView v = view("np.arange(12.0).reshape(3, 4)", BufferRequest.SIMPLE)) {
            assertFalse(v.hasShape());
            assertEquals(96, v.byteLength());
            assertEquals(96, v.segment().byteSize());
            assertArrayEquals(new long[]{96}, v.shape());
            assertEquals(96, v.copyToByteArray().length);
            assertEquals(11.0, v.segment().getAtIndex(ValueLayout.JAVA_DOUBLE, 11));
        }
        try (PyBufferView v = view("np.arange(12.0).reshape(3, 4)", BufferRequest.FORMAT)) {
            assertEquals("d", v.format());
            assertArrayEquals(new long[]{12}, v.shape());
            assertEquals(66.0, v.sum());
        }
    }
}
