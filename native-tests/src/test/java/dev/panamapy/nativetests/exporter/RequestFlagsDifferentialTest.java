package dev.panamapy.nativetests.exporter;

import dev.panamapy.BufferRequest;
import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PyBufferView;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * For the same layout and the same request flags, a JavaBuffer gives the same Py_buffer fields,
 * or the same BufferError, as CPython's reference exporter {@code _testbuffer.ndarray}. Every
 * one of the 256 combinations of the eight PyBUF_* bits is tried on every layout, through
 * {@code PyObject_GetBuffer} called from Java on both objects.
 */
@PythonTest
class RequestFlagsDifferentialTest {

    /** One layout: what _testbuffer.ndarray is built from, and the same as a BufferSpec. */
    record Layout(String name, String format, String items, long[] shape, long[] strides, long offset,
                  boolean fortran, boolean readOnly) {
        @Override public String toString() { return name; }
    }

    static Stream<Layout> layouts() {
        List<Layout> l = new ArrayList<>();
        l.add(new Layout("2-D C double", "d", "[float(i) for i in range(12)]", new long[]{3, 4}, null, 0, false, false));
        l.add(new Layout("2-D Fortran double", "d", "[float(i) for i in range(12)]", new long[]{3, 4}, null, 0, true, false));
        l.add(new Layout("2-D strided int", "i", "list(range(24))", new long[]{3, 4}, new long[]{32, 8}, 0, false, false));
        l.add(new Layout("2-D negative strides short", "h", "list(range(12))", new long[]{3, 4}, new long[]{-8, -2}, 22, false, false));
        l.add(new Layout("1-D negative stride", "q", "list(range(5))", new long[]{5}, new long[]{-8}, 32, false, false));
        l.add(new Layout("1-D every other float", "f", "[i / 4 for i in range(10)]", new long[]{5}, new long[]{8}, 0, false, false));
        l.add(new Layout("0-d scalar", "d", "[2.5]", new long[]{}, null, 0, false, false));
        l.add(new Layout("0-d scalar read-only", "i", "[7]", new long[]{}, null, 0, false, true));
        l.add(new Layout("zero-size 1-D", "d", "[0.0]", new long[]{0}, null, 0, false, false));
        l.add(new Layout("zero-size 2-D", "i", "[0]", new long[]{3, 0}, null, 0, false, false));
        l.add(new Layout("read-only bytes 2-D", "B", "list(range(16))", new long[]{4, 4}, null, 0, false, true));
        l.add(new Layout("read-only Fortran", "H", "list(range(6))", new long[]{2, 3}, null, 0, true, true));
        l.add(new Layout("little-endian int", "<i", "list(range(6))", new long[]{6}, null, 0, false, false));
        l.add(new Layout("big-endian double 2-D", ">d", "[float(i) for i in range(6)]", new long[]{2, 3}, null, 0, false, false));
        l.add(new Layout("network short", "!h", "list(range(4))", new long[]{4}, null, 0, false, false));
        l.add(new Layout("standard long long", "=q", "list(range(4))", new long[]{2, 2}, null, 0, false, false));
        l.add(new Layout("3-D C", "b", "list(range(24))", new long[]{2, 3, 4}, null, 0, false, false));
        l.add(new Layout("3-D Fortran", "b", "list(range(24))", new long[]{2, 3, 4}, null, 0, true, false));
        l.add(new Layout("size-1 dim with odd stride", "d", "[float(i) for i in range(5)]", new long[]{1, 5}, new long[]{999 * 8, 8}, 0, false, false));
        l.add(new Layout("zero stride broadcast", "d", "[1.5]", new long[]{4}, new long[]{0}, 0, false, false));
        l.add(new Layout("offset into buffer", "I", "list(range(10))", new long[]{2, 2}, null, 8, false, false));
        l.add(new Layout("bool", "?", "[True, False, True, True]", new long[]{4}, null, 0, false, false));
        l.add(new Layout("half float", "e", "[0.5, 1.5, 2.5, 3.5]", new long[]{2, 2}, null, 0, false, false));
        l.add(new Layout("unsigned long long transposed", "Q", "list(range(6))", new long[]{3, 2}, new long[]{8, 24}, 0, false, false));
        return l.stream();
    }

    static CPython py;

    @BeforeAll
    static void start(CPython python) {
        py = python;
        py.exec("""
                import struct
                from _testbuffer import ndarray, ND_WRITABLE, ND_FORTRAN
                def make_nd(items, shape, strides, offset, fmt, fortran, readonly):
                    flags = (0 if readonly else ND_WRITABLE) | (ND_FORTRAN if fortran else 0)
                    kw = dict(shape=shape, offset=offset, format=fmt, flags=flags)
                    if strides is not None:
                        kw['strides'] = strides
                    return ndarray(items, **kw)
                def _tolist(obj):
                    try:
                        return memoryview(obj).tolist()
                    except NotImplementedError:     # formats memoryview cannot unpack ('<i', 'e' ...)
                        return None
                def raw_bytes(items, fmt):
                    # the memory the ndarray is built over: the items packed one after another
                    if not items:
                        return b''
                    return ndarray(items, shape=[len(items)], format=fmt).tobytes()
                """);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("layouts")
    void javaBufferAnswersEveryRequestLikeTestbuffer(Layout layout) {
        String shape = Arrays.toString(layout.shape());
        String strides = layout.strides() == null ? "None" : Arrays.toString(layout.strides());
        try (Arena arena = Arena.ofShared();
             PyObject nd = py.eval("make_nd(" + layout.items() + ", " + shape + ", " + strides + ", " + layout.offset()
                     + ", '" + layout.format() + "', " + py(layout.fortran()) + ", " + py(layout.readOnly()) + ")");
             PyObject raw = py.eval("raw_bytes(" + layout.items() + ", '" + layout.format() + "')")) {
            byte[] bytes = raw.asBytesCopy();
            MemorySegment seg = arena.allocate(Math.max(1, bytes.length), 16);
            MemorySegment.copy(bytes, 0, seg, ValueLayout.JAVA_BYTE, 0, bytes.length);
            long itemsize = BufferSpec.of(seg, layout.format()).itemsize();
            long[] st = layout.strides() != null ? layout.strides()
                    : layout.fortran() ? BufferSpec.fStrides(layout.shape(), itemsize)
                    : BufferSpec.cStrides(layout.shape(), itemsize);
            BufferSpec spec = BufferSpec.of(seg.asSlice(0, bytes.length), layout.format())
                    .layout(layout.offset(), layout.shape(), st).readOnly(layout.readOnly());

            try (JavaBuffer jb = py.export(spec); PyObject ours = jb.asPyObject()) {
                long refNdBuf = bufOf(nd), refOurBuf = bufOf(ours);
                int accepted = 0;
                for (int f = 0; f < 0x200; f++) {
                    if ((f & 0x2) != 0) continue;          // 0x2 is no PyBUF_* bit
                    final int flags = f;
                    Outcome expected = outcome(nd, flags, refNdBuf);
                    Outcome actual = outcome(ours, flags, refOurBuf);
                    assertEquals(expected, actual, () -> layout + ", request " + BufferRequest.describe(flags)
                            + " (0x" + Integer.toHexString(flags) + ")");
                    if (expected.error() == null) accepted++;
                }
                assertTrue(accepted > 0, "some request must succeed for " + layout);
                assertEquals(0, jb.exportCount(), "every view was released");
                // and a consumer reads the same values from both
                py.setGlobal("nd", nd);
                py.setGlobal("jb", jb);
                try (PyObject same = py.eval("memoryview(nd).tobytes() == memoryview(jb).tobytes() and "
                        + "memoryview(nd).tobytes('F') == memoryview(jb).tobytes('F') and "
                        + "_tolist(nd) == _tolist(jb)")) {
                    assertTrue(same.asBoolean(), "memoryview reads the same values from both: " + layout);
                }
                py.exec("del nd, jb");
            }
        }
    }

    /** What PyObject_GetBuffer gave: the fields, or the BufferError's message with "ndarray" read as "JavaBuffer". */
    record Outcome(String error, long bufOffset, long len, long itemsize, boolean readOnly, int ndim, String format,
                   String shape, String strides, String suboffsets) { }

    private static Outcome outcome(PyObject obj, int flags, long referenceBuf) {
        try (PyBufferView v = obj.getBuffer(BufferRequest.of(flags))) {
            return new Outcome(null, (v.segment().address() + v.offset()) - referenceBuf, v.byteLength(), v.itemsize(), v.readOnly(), v.ndim(),
                    v.hasFormat() ? v.format() : null,
                    v.hasShape() ? Arrays.toString(v.shape()) : null,
                    v.hasStrides() ? Arrays.toString(v.strides()) : null,
                    v.suboffsets() == null ? null : Arrays.toString(v.suboffsets()));
        } catch (PythonException e) {
            return new Outcome(e.pythonType() + ": " + e.pythonMessage().replace("ndarray", "JavaBuffer"),
                    0, 0, 0, false, 0, null, null, null, null);
        }
    }

    private static long bufOf(PyObject obj) {
        try (PyBufferView v = obj.getBuffer(BufferRequest.FULL_RO)) {
            return (v.segment().address() + v.offset());
        }
    }

    private static String py(boolean b) { return b ? "True" : "False"; }
}
