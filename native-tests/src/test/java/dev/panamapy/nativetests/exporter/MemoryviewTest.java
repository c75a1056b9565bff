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
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** memoryview over Java memory: values both ways through tolist, cast, slices, tobytes, hash, repr. */
@PythonTest
class MemoryviewTest {

    private final CPython py;
    @RegisterExtension
    final ExportFixture fx = new ExportFixture("memoryview");
    private Arena arena;

    MemoryviewTest(CPython py) {
        this.py = py;
    }

    @BeforeEach
    void open() {
        arena = fx.arena();
    }

    private JavaBuffer export(BufferSpec spec) {
        return fx.export(spec);
    }

    /** 2 x 3 doubles, element [i][j] = 10 i + j + 0.5. */
    private MemorySegment doubles2x3() {
        MemorySegment seg = arena.allocate(JAVA_DOUBLE, 6);
        for (int i = 0; i < 2; i++) for (int j = 0; j < 3; j++) seg.setAtIndex(JAVA_DOUBLE, i * 3 + j, 10 * i + j + 0.5);
        return seg;
    }

    @Test
    void tolistReadsJavaValuesInShape() {
        try (JavaBuffer buf = export(BufferSpec.of(doubles2x3(), "d").shape(2, 3))) {
            assertEquals("[[0.5, 1.5, 2.5], [10.5, 11.5, 12.5]]", str("memoryview(t_buf).tolist()"));
            assertEquals("(2, 3)", str("memoryview(t_buf).shape"));
            assertEquals("(24, 8)", str("memoryview(t_buf).strides"));
            assertEquals("d", str("memoryview(t_buf).format"));
        }
    }

    @Test
    void itemAssignmentIsSeenByJava() {
        MemorySegment seg = doubles2x3();
        try (JavaBuffer buf = export(BufferSpec.of(seg, "d").shape(2, 3))) {
            py.exec("t_m = memoryview(t_buf)\nt_m[1, 2] = -4.25\nt_m[0, 0] = 1e300\nt_m.release()");
            assertEquals(-4.25, seg.getAtIndex(JAVA_DOUBLE, 5));
            assertEquals(1e300, seg.getAtIndex(JAVA_DOUBLE, 0));
            assertEquals(10.5, seg.getAtIndex(JAVA_DOUBLE, 3));
            assertEquals(0, buf.exportCount());
        }
    }

    @Test
    void castFromBytesToDoublesReadsJavaDoubles() {
        MemorySegment seg = arena.allocate(16, 8);
        seg.setAtIndex(JAVA_DOUBLE, 0, Math.PI);
        seg.setAtIndex(JAVA_DOUBLE, 1, -2.5);
        try (JavaBuffer buf = export(BufferSpec.of(seg, "B"))) {
            assertEquals(16, asLong("len(memoryview(t_buf))"));
            assertEquals("[3.141592653589793, -2.5]", str("memoryview(t_buf).cast('d').tolist()"));
        }
    }

    @Test
    void writeThroughDoubleCastIsSeenByJava() {
        MemorySegment seg = arena.allocate(16, 8);
        try (JavaBuffer buf = export(BufferSpec.of(seg, "B"))) {
            py.exec("with memoryview(t_buf) as m, m.cast('d') as d:\n    d[1] = 6.02e23\n    d[0] = -0.0");
            assertEquals(6.02e23, seg.getAtIndex(JAVA_DOUBLE, 1));
            assertEquals(Double.doubleToRawLongBits(-0.0), seg.getAtIndex(JAVA_LONG, 0));
            assertEquals(0, buf.exportCount());
        }
    }

    @Test
    void castOneDimToTwoDimKeepsJavaOrder() {
        MemorySegment seg = arena.allocate(JAVA_INT, 12);
        for (int i = 0; i < 12; i++) seg.setAtIndex(JAVA_INT, i, i * i);
        try (JavaBuffer buf = export(BufferSpec.of(seg, "i"))) {
            assertEquals("[[0, 1, 4, 9], [16, 25, 36, 49], [64, 81, 100, 121]]",
                    str("memoryview(t_buf).cast('B').cast('i', (3, 4)).tolist()"));
            py.exec("t_m = memoryview(t_buf).cast('B').cast('i', [3, 4])\nt_m[2, 1] = -77\nt_m.release()");
            assertEquals(-77, seg.getAtIndex(JAVA_INT, 9));
        }
    }

    @Test
    void slicesWithStepsReadTheRightElements() {
        MemorySegment seg = arena.allocate(JAVA_INT, 10);
        for (int i = 0; i < 10; i++) seg.setAtIndex(JAVA_INT, i, 100 + i);
        try (JavaBuffer buf = export(BufferSpec.of(seg, "i"))) {
            assertEquals("[102, 103, 104]", str("memoryview(t_buf)[2:5].tolist()"));
            assertEquals("[101, 104, 107]", str("memoryview(t_buf)[1:9:3].tolist()"));
            assertEquals("[109, 107, 105, 103, 101]", str("memoryview(t_buf)[::-2].tolist()"));
            assertEquals("(-8,)", str("memoryview(t_buf)[::-2].strides"));
            assertEquals("[]", str("memoryview(t_buf)[5:5].tolist()"));
        }
    }

    @Test
    void writesThroughSteppedSlicesAreSeenByJava() {
        MemorySegment seg = arena.allocate(JAVA_INT, 10);
        try (JavaBuffer buf = export(BufferSpec.of(seg, "i"))) {
            py.exec("""
                    import array
                    t_m = memoryview(t_buf)
                    t_m[::3] = array.array('i', [7, 8, 9, 10])
                    t_m[::-1][1] = -1
                    t_m.release()
                    """);
            int[] expected = {7, 0, 0, 8, 0, 0, 9, 0, -1, 10};
            for (int i = 0; i < 10; i++) assertEquals(expected[i], seg.getAtIndex(JAVA_INT, i), "index " + i);
        }
    }

    @Test
    void equalityComparesValuesWithOtherBuffers() {
        MemorySegment seg = arena.allocate(JAVA_SHORT, 4);
        short[] v = {1, -2, 300, -32768};
        for (int i = 0; i < 4; i++) seg.setAtIndex(JAVA_SHORT, i, v[i]);
        try (JavaBuffer buf = export(BufferSpec.of(seg, "h"))) {
            py.exec("import array");
            assertTrue(isTrue("memoryview(t_buf) == array.array('h', [1, -2, 300, -32768])"));
            assertFalse(isTrue("memoryview(t_buf) == array.array('h', [1, -2, 300, 0])"));
            assertTrue(isTrue("memoryview(t_buf) == memoryview(t_buf)"));
            assertTrue(isTrue("memoryview(t_buf)[::2] == array.array('h', [1, 300])"));
            seg.setAtIndex(JAVA_SHORT, 3, (short) 0);
            assertTrue(isTrue("memoryview(t_buf) == array.array('h', [1, -2, 300, 0])"), "Java's write is seen");
        }
    }

    @Test
    void tobytesInCOrderEqualsJavaBytes() {
        MemorySegment seg = arena.allocate(JAVA_INT, 6);
        for (int i = 0; i < 6; i++) seg.setAtIndex(JAVA_INT, i, 0x01020304 * (i + 1));
        try (JavaBuffer buf = export(BufferSpec.of(seg, "i").shape(2, 3))) {
            assertArrayEquals(seg.toArray(JAVA_BYTE), bytes("memoryview(t_buf).tobytes()"));
            assertArrayEquals(seg.toArray(JAVA_BYTE), bytes("memoryview(t_buf).tobytes(order='C')"));
        }
    }

    @Test
    void tobytesInFortranOrderTransposesJavaRows() {
        MemorySegment seg = arena.allocate(JAVA_INT, 6);
        for (int i = 0; i < 6; i++) seg.setAtIndex(JAVA_INT, i, i + 1);            // [[1,2,3],[4,5,6]]
        try (JavaBuffer buf = export(BufferSpec.of(seg, "i").shape(2, 3))) {
            MemorySegment expected = arena.allocate(JAVA_INT, 6);
            int[] colMajor = {1, 4, 2, 5, 3, 6};
            for (int i = 0; i < 6; i++) expected.setAtIndex(JAVA_INT, i, colMajor[i]);
            assertArrayEquals(expected.toArray(JAVA_BYTE), bytes("memoryview(t_buf).tobytes(order='F')"));
        }
    }

    @Test
    void tobytesOfFortranSpecInBothOrders() {
        MemorySegment seg = arena.allocate(JAVA_INT, 6);
        for (int i = 0; i < 6; i++) seg.setAtIndex(JAVA_INT, i, i + 1);            // column-major [[1,3,5],[2,4,6]]
        try (JavaBuffer buf = export(BufferSpec.of(seg, "i").shape(2, 3).fortran())) {
            assertEquals("[[1, 3, 5], [2, 4, 6]]", str("memoryview(t_buf).tolist()"));
            assertTrue(isTrue("memoryview(t_buf).f_contiguous and not memoryview(t_buf).c_contiguous"));
            assertArrayEquals(seg.toArray(JAVA_BYTE), bytes("memoryview(t_buf).tobytes(order='F')"));
            assertArrayEquals(seg.toArray(JAVA_BYTE), bytes("memoryview(t_buf).tobytes(order='A')"));
            MemorySegment rowMajor = arena.allocate(JAVA_INT, 6);
            int[] c = {1, 3, 5, 2, 4, 6};
            for (int i = 0; i < 6; i++) rowMajor.setAtIndex(JAVA_INT, i, c[i]);
            assertArrayEquals(rowMajor.toArray(JAVA_BYTE), bytes("memoryview(t_buf).tobytes()"));
        }
    }

    @Test
    void nbytesItemsizeAndLenMatchTheSpec() {
        MemorySegment seg = arena.allocate(JAVA_LONG, 20);
        try (JavaBuffer buf = export(BufferSpec.of(seg, "q").shape(4, 5))) {
            assertEquals(160, asLong("memoryview(t_buf).nbytes"));
            assertEquals(8, asLong("memoryview(t_buf).itemsize"));
            assertEquals(4, asLong("len(memoryview(t_buf))"));
            assertEquals(2, asLong("memoryview(t_buf).ndim"));
            assertEquals(buf.spec().byteLength(), asLong("memoryview(t_buf).nbytes"));
        }
    }

    @Test
    void hashOfReadOnlyByteViewEqualsHashOfBytes() {
        MemorySegment seg = arena.allocate(32);
        for (int i = 0; i < 32; i++) seg.set(JAVA_BYTE, i, (byte) (i * 37 + 11));
        try (JavaBuffer buf = export(BufferSpec.of(seg, "B").readOnly())) {
            py.setGlobal("t_expected", seg.toArray(JAVA_BYTE));
            assertTrue(isTrue("hash(memoryview(t_buf)) == hash(t_expected)"));
            assertTrue(isTrue("memoryview(t_buf) == t_expected"));
        }
    }

    @Test
    void hashOfWritableViewIsRefused() {
        MemorySegment seg = arena.allocate(8);
        try (JavaBuffer buf = export(BufferSpec.of(seg, "B"))) {
            PythonException e = raises("hash(memoryview(t_buf))");
            assertTrue(e.is("ValueError"), e.getMessage());
        }
    }

    @Test
    void writingThroughReadOnlyViewRaisesTypeErrorAndChangesNothing() {
        MemorySegment seg = arena.allocate(JAVA_INT, 4);
        for (int i = 0; i < 4; i++) seg.setAtIndex(JAVA_INT, i, 5 + i);
        try (JavaBuffer buf = export(BufferSpec.of(seg, "i").readOnly())) {
            assertTrue(isTrue("memoryview(t_buf).readonly"));
            PythonException item = raises("t_m = memoryview(t_buf)\ntry:\n    t_m[0] = 99\nfinally:\n    t_m.release()");
            assertTrue(item.is("TypeError"), item.getMessage());
            PythonException slice = raises("memoryview(t_buf)[1:3] = b'\\0' * 8");
            assertTrue(slice.is("TypeError"), slice.getMessage());
            PythonException cast = raises("memoryview(t_buf).cast('B')[0] = 1");
            assertTrue(cast.is("TypeError"), cast.getMessage());
            for (int i = 0; i < 4; i++) assertEquals(5 + i, seg.getAtIndex(JAVA_INT, i));
            assertEquals(0, buf.exportCount());
        }
    }

    @Test
    void readOnlySpecRefusesWritableRequests() {
        MemorySegment seg = arena.allocate(8);
        try (JavaBuffer buf = export(BufferSpec.of(seg, "B").readOnly())) {
            // readinto needs a writable buffer: the request is refused, nothing is written
            PythonException e = raises("import io\nio.BytesIO(b'abcdefgh').readinto(t_buf)");
            assertTrue(e.is("BufferError") || e.is("TypeError"), e.getMessage());
            assertArrayEquals(new byte[8], seg.toArray(JAVA_BYTE));
        }
    }

    @Test
    void writableSpecAcceptsReadinto() {
        MemorySegment seg = arena.allocate(8);
        try (JavaBuffer buf = export(BufferSpec.of(seg, "B"))) {
            assertEquals(8, asLong("__import__('io').BytesIO(b'abcdefgh').readinto(t_buf)"));
            assertEquals("abcdefgh", new String(seg.toArray(JAVA_BYTE), java.nio.charset.StandardCharsets.US_ASCII));
        }
    }

    @Test
    void reprShowsFormatShapeReadOnlyAndLiveExports() {
        MemorySegment seg = arena.allocate(JAVA_FLOAT, 6);
        try (JavaBuffer buf = export(BufferSpec.of(seg, "<f").shape(3, 2).readOnly())) {
            String idle = str("repr(t_buf)");
            assertTrue(idle.contains("format='<f'"), idle);
            assertTrue(idle.contains("shape=(3, 2)"), idle);
            assertTrue(idle.contains("readonly=True"), idle);
            assertTrue(idle.contains("exports=0"), idle);
            py.exec("t_m1 = memoryview(t_buf)\nt_m2 = memoryview(t_buf)");
            String busy = str("repr(t_buf)");
            assertTrue(busy.contains("exports=2"), busy);
            assertEquals(busy, buf.toString());
            py.exec("t_m1.release()\nt_m2.release()");
            assertTrue(str("repr(t_buf)").contains("exports=0"));
        }
    }

    @Test
    void reprOfOneDimensionalWritableBuffer() {
        MemorySegment seg = arena.allocate(JAVA_LONG, 5);
        try (JavaBuffer buf = export(BufferSpec.of(seg, "q"))) {
            String r = str("repr(t_buf)");
            assertTrue(r.startsWith("<panamapy.JavaBuffer"), r);
            assertTrue(r.contains("shape=(5,)") && r.contains("readonly=False"), r);
        }
    }

    @Test
    void javaBufferCannotBeInstantiatedFromPython() {
        PythonException e = raises("import panamapy\npanamapy.JavaBuffer()");
        assertTrue(e.is("TypeError"), e.getMessage());
        assertTrue(e.pythonMessage().contains("JavaBuffer"), e.pythonMessage());
        PythonException viaNew = raises("import panamapy\npanamapy.JavaBuffer.__new__(panamapy.JavaBuffer)");
        assertTrue(viaNew.is("TypeError"), viaNew.getMessage());
    }

    @Test
    void dunderBufferReturnsMemoryviewOn312AndLater() {
        assumeTrue(py.minorVersion() >= 12, "__buffer__ (PEP 688) exists from Python 3.12 on");
        MemorySegment seg = arena.allocate(JAVA_INT, 3);
        for (int i = 0; i < 3; i++) seg.setAtIndex(JAVA_INT, i, -i);
        try (JavaBuffer buf = export(BufferSpec.of(seg, "i"))) {
            py.exec("t_m = t_buf.__buffer__(0)");
            assertEquals("memoryview", str("type(t_m).__name__"));
            // flags 0 is a SIMPLE request: no format (unsigned bytes), the true itemsize, as _testbuffer gives
            assertEquals("B 12 False", str("f'{t_m.format} {t_m.nbytes} {t_m.readonly}'"));
            assertArrayEquals(seg.toArray(JAVA_BYTE), bytes("t_m.tobytes()"));
            assertEquals(1, buf.exportCount());
            py.exec("t_m.release()");
            assertEquals(0, buf.exportCount());
            py.exec("import inspect\nt_m = t_buf.__buffer__(inspect.BufferFlags.FULL)");
            assertEquals("i [0, -1, -2] False", str("f'{t_m.format} {t_m.tolist()} {t_m.readonly}'"));
            py.exec("t_m[2] = 77\nt_m.release()");
            assertEquals(77, seg.getAtIndex(JAVA_INT, 2));
            assertTrue(isTrue("isinstance(t_buf, __import__('collections.abc').abc.Buffer)"));
        }
    }
}
