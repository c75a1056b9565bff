package dev.panamapy.nativetests.numpy;

import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PythonException;
import dev.panamapy.nativetests.exporter.ExportFixture;
import dev.panamapy.testing.RequiresPythonPackage;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static dev.panamapy.nativetests.exporter.PyCheck.*;
import static java.lang.foreign.ValueLayout.*;
import static org.junit.jupiter.api.Assertions.*;

/** numpy over Java memory: dtype from the format, C, Fortran, strided and negative-stride layouts, writes both ways. */
@RequiresPythonPackage("numpy")
class NumpyArraysTest {

    private static final ValueLayout.OfInt BE_INT = JAVA_INT.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfDouble BE_DOUBLE = JAVA_DOUBLE.withOrder(ByteOrder.BIG_ENDIAN);

    private final CPython py;
    /** Python lets go first; then every buffer closes (which refuses while a view lives) and the arena. */
    @RegisterExtension
    final ExportFixture fx = new ExportFixture("numpy");
    private Arena arena;

    NumpyArraysTest(CPython py) {
        this.py = py;
    }

    @BeforeEach
    void open() {
        arena = fx.arena();
        py.exec("import numpy as np");
    }

    private JavaBuffer export(BufferSpec spec) {
        return fx.export(spec);
    }

    /** rows x cols doubles in C order, element [i][j] = 100 i + j. */
    private MemorySegment matrix(int rows, int cols) {
        MemorySegment seg = arena.allocate(JAVA_DOUBLE, (long) rows * cols);
        for (int i = 0; i < rows; i++) for (int j = 0; j < cols; j++) seg.setAtIndex(JAVA_DOUBLE, (long) i * cols + j, 100 * i + j);
        return seg;
    }

    @Test
    void asarrayReadsTwoDimensionalCOrderValues() {
        {
            JavaBuffer buf = export(BufferSpec.of(matrix(3, 4), "d").shape(3, 4));
            py.exec("t_a = np.asarray(t_buf)");
            assertEquals("(3, 4) float64 True", str("f'{t_a.shape} {t_a.dtype} {t_a.flags.c_contiguous}'"));
            assertTrue(isTrue("(t_a == np.add.outer(100 * np.arange(3), np.arange(4))).all()"));
            assertEquals(1218.0, asDouble("t_a.sum()"));
        }
    }

    @Test
    void numpyWriteIsSeenByJava() {
        MemorySegment seg = matrix(3, 4);
        {
            JavaBuffer buf = export(BufferSpec.of(seg, "d").shape(3, 4));
            py.exec("t_a = np.asarray(t_buf)\nt_a[2, 3] = -1.5\nt_a[0] *= 2\nt_a[:, 1] += 0.25");
            assertEquals(-1.5, seg.getAtIndex(JAVA_DOUBLE, 11));
            assertEquals(4.0, seg.getAtIndex(JAVA_DOUBLE, 2));
            assertEquals(2.25, seg.getAtIndex(JAVA_DOUBLE, 1));
            assertEquals(201.25, seg.getAtIndex(JAVA_DOUBLE, 9));
            assertEquals(100.0, seg.getAtIndex(JAVA_DOUBLE, 4));
        }
    }

    @Test
    void javaWriteIsSeenByAnExistingArray() {
        MemorySegment seg = matrix(2, 2);
        {
            JavaBuffer buf = export(BufferSpec.of(seg, "d").shape(2, 2));
            py.exec("t_a = np.asarray(t_buf)");
            seg.setAtIndex(JAVA_DOUBLE, 3, 42.0);
            assertEquals(42.0, asDouble("t_a[1, 1]"), "the array is the Java memory, not a copy");
            assertEquals(seg.address(), asLong("t_a.ctypes.data"));
        }
    }

    @Test
    void frombufferWithDtypeReadsJavaInts() {
        MemorySegment seg = arena.allocate(JAVA_INT, 5);
        for (int i = 0; i < 5; i++) seg.setAtIndex(JAVA_INT, i, 1 << (i * 7));
        {
            JavaBuffer buf = export(BufferSpec.of(seg, "B"));
            assertEquals("[1, 128, 16384, 2097152, 268435456]", str("np.frombuffer(t_buf, dtype='<i4').tolist()"));
            assertEquals("[16384, 2097152]", str("np.frombuffer(t_buf, dtype='<i4', count=2, offset=8).tolist()"));
            py.exec("t_a = np.frombuffer(t_buf, dtype=np.int32)\nt_a[4] = -3");
            assertEquals(-3, seg.getAtIndex(JAVA_INT, 4));
        }
    }

    @Test
    void dtypeFollowsLittleEndianFormat() {
        MemorySegment seg = arena.allocate(JAVA_INT, 3);
        for (int i = 0; i < 3; i++) seg.setAtIndex(JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN), i, -i * 1000);
        {
            JavaBuffer buf = export(BufferSpec.of(seg, "<i"));
            py.exec("t_a = np.asarray(t_buf)");
            assertEquals("<i4", str("t_a.dtype.str"));
            assertEquals("[0, -1000, -2000]", str("t_a.tolist()"));
            py.exec("t_a[1] = 77");
            assertEquals(77, seg.getAtIndex(JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN), 1));
        }
    }

    @Test
    void dtypeFollowsBigEndianFormat() {
        MemorySegment seg = arena.allocate(JAVA_DOUBLE, 3);
        for (int i = 0; i < 3; i++) seg.setAtIndex(BE_DOUBLE, i, i + 0.5);
        {
            JavaBuffer buf = export(BufferSpec.of(seg, ">d"));
            py.exec("t_a = np.asarray(t_buf)");
            assertEquals(">f8", str("t_a.dtype.str"));
            assertEquals("[0.5, 1.5, 2.5]", str("t_a.tolist()"));
            py.exec("t_a[2] = -8.125");
            assertEquals(-8.125, seg.getAtIndex(BE_DOUBLE, 2));
        }
    }

    @Test
    void dtypeFollowsBigEndianIntFormat() {
        MemorySegment seg = arena.allocate(JAVA_INT, 2);
        seg.setAtIndex(BE_INT, 0, 0x01020304);
        seg.setAtIndex(BE_INT, 1, -2);
        {
            JavaBuffer buf = export(BufferSpec.of(seg, ">i"));
            assertEquals(">i4 [16909060, -2]", str("(lambda a: f'{a.dtype.str} {a.tolist()}')(np.asarray(t_buf))"));
        }
    }

    @Test
    void dtypeFollowsNativeStandardSizeFormat() {
        MemorySegment seg = arena.allocate(JAVA_SHORT, 4);
        for (int i = 0; i < 4; i++) seg.setAtIndex(JAVA_SHORT, i, (short) (i - 2));
        {
            JavaBuffer buf = export(BufferSpec.of(seg, "=h"));
            py.exec("t_a = np.asarray(t_buf)");
            assertEquals("int16", str("t_a.dtype"));
            assertTrue(isTrue("t_a.dtype.isnative"));
            assertEquals("[-2, -1, 0, 1]", str("t_a.tolist()"));
        }
    }

    @Test
    void dtypesOfUnsignedFloatAndBoolFormats() {
        MemorySegment seg = arena.allocate(16, 8);
        seg.setAtIndex(JAVA_FLOAT, 0, 1.25f);
        seg.set(JAVA_BYTE, 4, (byte) 1);
        seg.setAtIndex(JAVA_LONG, 1, -1L);
        {
            JavaBuffer f = export(BufferSpec.of(seg, "f")), q = export(BufferSpec.of(seg, "Q")),
                    b = export(BufferSpec.of(seg, "?")), h = export(BufferSpec.of(seg, "<H"));
            py.setGlobal("t_f", f);
            py.setGlobal("t_q", q);
            py.setGlobal("t_b", b);
            py.setGlobal("t_h", h);
            assertEquals("float32 1.25", str("(lambda a: f'{a.dtype} {a[0]}')(np.asarray(t_f))"));
            assertEquals("uint64 18446744073709551615", str("(lambda a: f'{a.dtype} {a[1]}')(np.asarray(t_q))"));
            // bytes 0-3 hold the float 1.25 (00 00 a0 3f), byte 4 the 1 written above
            assertEquals("bool [False, False, True, True, True, False]", str("(lambda a: f'{a.dtype} {a[:6].tolist()}')(np.asarray(t_b))"));
            assertEquals("<u2 65535", str("(lambda a: f'{a.dtype.str} {a[7]}')(np.asarray(t_h))"));
            py.exec("np.asarray(t_b)[5] = True");
            assertEquals(1, seg.get(JAVA_BYTE, 5));
        }
    }

    @Test
    void fortranSpecGivesFortranOrderedArray() {
        MemorySegment seg = arena.allocate(JAVA_DOUBLE, 12);
        // column-major: element (i, j) of a 3 x 4 matrix at index i + 3 j
        for (int i = 0; i < 3; i++) for (int j = 0; j < 4; j++) seg.setAtIndex(JAVA_DOUBLE, i + 3L * j, 10 * i + j);
        {
            JavaBuffer buf = export(BufferSpec.of(seg, "d").shape(3, 4).fortran());
            py.exec("t_a = np.asarray(t_buf)");
            assertEquals("(3, 4) (8, 24) True False", str("f'{t_a.shape} {t_a.strides} {t_a.flags.f_contiguous} {t_a.flags.c_contiguous}'"));
            assertEquals("[[0.0, 1.0, 2.0, 3.0], [10.0, 11.0, 12.0, 13.0], [20.0, 21.0, 22.0, 23.0]]", str("t_a.tolist()"));
            py.exec("t_a[2, 1] = -1.0");
            assertEquals(-1.0, seg.getAtIndex(JAVA_DOUBLE, 2 + 3));
            assertEquals(seg.address(), asLong("t_a.ctypes.data"));
        }
    }

    @Test
    void explicitStridesSelectEveryOtherRowAndThirdColumn() {
        MemorySegment seg = arena.allocate(JAVA_INT, 100);                 // a 10 x 10 int matrix, [i][j] = 10 i + j
        for (int k = 0; k < 100; k++) seg.setAtIndex(JAVA_INT, k, k);
        {
            JavaBuffer buf = export(BufferSpec.of(seg, "i").shape(5, 3).strides(80, 12).offset(4));
            py.exec("t_a = np.asarray(t_buf)");
            assertEquals("(5, 3) (80, 12) False", str("f'{t_a.shape} {t_a.strides} {t_a.flags.contiguous}'"));
            assertTrue(isTrue("(t_a == np.arange(100, dtype=np.int32).reshape(10, 10)[::2, 1::3]).all()"));
            assertEquals("[1, 4, 7]", str("t_a[0].tolist()"));
            py.exec("t_a[4, 2] = -5");
            assertEquals(-5, seg.getAtIndex(JAVA_INT, 8 * 10 + 7));
            assertEquals(82, seg.getAtIndex(JAVA_INT, 82), "a neighbour outside the view is untouched");
        }
    }

    @Test
    void zeroStrideBroadcastsOneRow() {
        MemorySegment seg = arena.allocate(JAVA_LONG, 3);
        for (int k = 0; k < 3; k++) seg.setAtIndex(JAVA_LONG, k, k + 1);
        {
            JavaBuffer buf = export(BufferSpec.of(seg, "q").shape(4, 3).strides(0, 8).readOnly());
            assertEquals("[[1, 2, 3], [1, 2, 3], [1, 2, 3], [1, 2, 3]]", str("np.asarray(t_buf).tolist()"));
        }
    }

    @Test
    void negativeStridesWithOffsetGiveTheReversedMatrix() {
        MemorySegment seg = matrix(3, 4);
        // start at the last element and walk backwards in both dimensions
        {
            JavaBuffer buf = export(BufferSpec.of(seg, "d").shape(3, 4).strides(-32, -8).offset(11 * 8));
            py.exec("t_a = np.asarray(t_buf)\nt_e = np.add.outer(100 * np.arange(3), np.arange(4)).astype(float)");
            assertEquals("(-32, -8)", str("t_a.strides"));
            assertTrue(isTrue("(t_a == t_e[::-1, ::-1]).all()"), str("t_a.tolist()"));
            assertEquals(203.0, asDouble("t_a[0, 0]"));
            assertEquals(0.0, asDouble("t_a[2, 3]"));
            py.exec("t_a[0, 1] = 0.5");
            assertEquals(0.5, seg.getAtIndex(JAVA_DOUBLE, 10));
            assertEquals(seg.address() + 11 * 8, asLong("t_a.ctypes.data"));
        }
    }

    @Test
    void negativeStrideOneDimensionalViewReadsBackwards() {
        MemorySegment seg = arena.allocate(JAVA_SHORT, 6);
        for (int k = 0; k < 6; k++) seg.setAtIndex(JAVA_SHORT, k, (short) (k * 11));
        {
            JavaBuffer buf = export(BufferSpec.of(seg, "h").shape(3).strides(-4).offset(10));
            assertEquals("[55, 33, 11]", str("np.asarray(t_buf).tolist()"));
            assertEquals("[55, 33, 11]", str("memoryview(t_buf).tolist()"));
        }
    }

    @Test
    void readOnlySpecGivesNonWriteableArray() {
        MemorySegment seg = matrix(2, 3);
        {
            JavaBuffer buf = export(BufferSpec.of(seg, "d").shape(2, 3).readOnly());
            py.exec("t_a = np.asarray(t_buf)");
            assertFalse(isTrue("t_a.flags.writeable"));
            assertEquals("[[0.0, 1.0, 2.0], [100.0, 101.0, 102.0]]", str("t_a.tolist()"));
            PythonException e = raises("t_a[0, 0] = 9.0");
            assertTrue(e.is("ValueError"), e.getMessage());
            assertTrue(e.pythonMessage().contains("read-only"), e.pythonMessage());
            assertEquals(0.0, seg.getAtIndex(JAVA_DOUBLE, 0));
        }
    }

    @Test
    void readOnlyArrayCannotBeMadeWriteable() {
        MemorySegment seg = arena.allocate(JAVA_INT, 4);
        {
            JavaBuffer buf = export(BufferSpec.of(seg, "i").readOnly());
            py.exec("t_a = np.frombuffer(t_buf, dtype=np.int32)");
            assertFalse(isTrue("t_a.flags.writeable"));
            PythonException e = raises("t_a.flags.writeable = True");
            assertTrue(e.is("ValueError"), e.getMessage());
            PythonException inPlace = raises("t_a += 1");
            assertTrue(inPlace.is("ValueError"), inPlace.getMessage());
            assertArrayEquals(new int[4], seg.toArray(JAVA_INT));
        }
    }

    @Test
    void numpyReductionsSeeJavaValues() {
        MemorySegment seg = arena.allocate(JAVA_DOUBLE, 1000);
        double sum = 0;
        for (int k = 0; k < 1000; k++) {
            double v = Math.sin(k);
            seg.setAtIndex(JAVA_DOUBLE, k, v);
            sum += v;
        }
        {
            JavaBuffer buf = export(BufferSpec.of(seg, "d").shape(10, 100));
            assertEquals(sum, asDouble("np.asarray(t_buf).sum()"), 1e-9);
            assertEquals(Math.sin(999), asDouble("np.asarray(t_buf).ravel()[-1]"));
        }
    }
}
