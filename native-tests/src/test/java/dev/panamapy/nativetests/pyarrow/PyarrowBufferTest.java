package dev.panamapy.nativetests.pyarrow;

import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
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

/** pyarrow wraps Java memory without copying: py_buffer, Array.from_buffers, numpy over the Arrow buffer. */
@RequiresPythonPackage("pyarrow")
class PyarrowBufferTest {

    private final CPython py;
    @RegisterExtension
    final ExportFixture fx = new ExportFixture("pyarrow");
    private Arena arena;

    PyarrowBufferTest(CPython py) {
        this.py = py;
    }

    @BeforeEach
    void open() {
        arena = fx.arena();
        py.exec("import pyarrow as pa");
    }

    private JavaBuffer export(BufferSpec spec) {
        return fx.export(spec);
    }

    private MemorySegment longs(int n) {
        MemorySegment seg = arena.allocate(JAVA_LONG, n);
        for (int i = 0; i < n; i++) seg.setAtIndex(JAVA_LONG, i, (long) i * i - 5);
        return seg;
    }

    @Test
    void pyBufferIsZeroCopyOverTheSegment() {
        MemorySegment seg = longs(16);
        JavaBuffer buf = export(BufferSpec.of(seg, "q"));
        py.exec("t_pb = pa.py_buffer(t_buf)");
        assertEquals(seg.address(), asLong("t_pb.address"), "the Arrow buffer points at the Java memory");
        assertEquals(128, asLong("t_pb.size"));
        assertTrue(isTrue("t_pb.is_mutable"));
        assertEquals(1, buf.exportCount(), "the Arrow buffer holds one view");
        assertArrayEquals(seg.toArray(JAVA_BYTE), bytes("t_pb.to_pybytes()"));
    }

    @Test
    void readOnlySpecGivesImmutableArrowBuffer() {
        MemorySegment seg = longs(2);
        export(BufferSpec.of(seg, "q").readOnly());
        assertFalse(isTrue("pa.py_buffer(t_buf).is_mutable"));
    }

    @Test
    void arrayFromBuffersReadsJavaLongs() {
        MemorySegment seg = longs(100);
        export(BufferSpec.of(seg, "q"));
        py.exec("t_arr = pa.Array.from_buffers(pa.int64(), 100, [None, pa.py_buffer(t_buf)])");
        assertEquals("[-5, -4, -1, 4, 11]", str("t_arr.to_pylist()[:5]"));
        assertEquals(99L * 99 - 5, asLong("t_arr[99].as_py()"));
        long sum = 0;
        for (int i = 0; i < 100; i++) sum += (long) i * i - 5;
        assertEquals(sum, asLong("__import__('pyarrow.compute').compute.sum(t_arr).as_py()"));
        seg.setAtIndex(JAVA_LONG, 3, 12345);
        assertEquals(12345, asLong("t_arr[3].as_py()"), "the Arrow array reads Java's later write: no copy");
    }

    @Test
    void arrayFromBuffersWithOffsetAndDoubles() {
        MemorySegment seg = arena.allocate(JAVA_DOUBLE, 10);
        for (int i = 0; i < 10; i++) seg.setAtIndex(JAVA_DOUBLE, i, i / 8.0);
        export(BufferSpec.of(seg, "d"));
        assertEquals("[0.375, 0.5, 0.625]", str("pa.Array.from_buffers(pa.float64(), 3, [None, pa.py_buffer(t_buf)], offset=3).to_pylist()"));
    }

    @Test
    @RequiresPythonPackage("numpy")
    void numpyOverArrowBufferSeesJavaAndJavaSeesNumpy() {
        MemorySegment seg = longs(8);
        export(BufferSpec.of(seg, "q"));
        py.exec("import numpy as np\nt_np = np.frombuffer(pa.py_buffer(t_buf), dtype=np.int64)");
        assertEquals("[-5, -4, -1, 4, 11, 20, 31, 44]", str("t_np.tolist()"));
        assertEquals(seg.address(), asLong("t_np.ctypes.data"));
        assertTrue(isTrue("t_np.flags.writeable"), "a mutable Arrow buffer gives a writable array");
        py.exec("t_np[7] = -44");
        assertEquals(-44, seg.getAtIndex(JAVA_LONG, 7), "numpy's write through the Arrow buffer reaches Java");
    }

    @Test
    void writeThroughArrowBufferMemoryviewIsSeenByJava() {
        MemorySegment seg = longs(4);
        export(BufferSpec.of(seg, "q"));
        py.exec("t_m = memoryview(pa.py_buffer(t_buf)).cast('q')\nt_m[2] = 1 << 50\nt_m.release()");
        assertEquals(1L << 50, seg.getAtIndex(JAVA_LONG, 2));
    }

    @Test
    void arrowBufferKeepsTheViewUntilCollected() {
        MemorySegment seg = longs(4);
        JavaBuffer buf = export(BufferSpec.of(seg, "q"));
        py.exec("t_pb = pa.py_buffer(t_buf)\nt_arr = pa.Array.from_buffers(pa.int64(), 4, [None, t_pb])\ndel t_pb");
        assertEquals(1, buf.exportCount(), "the array keeps the Arrow buffer, which keeps the view");
        py.exec("del t_arr\nimport gc\ngc.collect()");
        assertEquals(0, buf.exportCount());
    }
}
