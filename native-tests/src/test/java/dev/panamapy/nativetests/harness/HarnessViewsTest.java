package dev.panamapy.nativetests.harness;

import dev.panamapy.BufferLayout;
import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.HarnessSpec;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PyObject;
import dev.panamapy.testing.PythonTest;
import dev.panamapy.testing.RequiresPythonPackage;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static dev.panamapy.BufferRequest.*;
import static dev.panamapy.nativetests.harness.Reactions.doubles;
import static dev.panamapy.nativetests.harness.Reactions.ints;
import static dev.panamapy.nativetests.harness.Reactions.react;
import static dev.panamapy.nativetests.harness.Reactions.request;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * HarnessSpec's steps export what a careless or hostile C exporter could,
 * and consumers react to them exactly as they react to such a C exporter. Every assertion pins
 * the consumer's reaction: a value, or the exception type and message.
 */
@PythonTest
class HarnessViewsTest {

    private final CPython py;

    HarnessViewsTest(CPython py) {
        this.py = py;
    }

    private String on(BufferLayout spec, String expr) {
        try (JavaBuffer jb = py.export(spec)) {
            return react(py, jb, expr);
        }
    }

    // ---- len -----------------------------------------------------------------------------------

    @Test
    void shorterLenIsWhatNbytesAndTobytesSee() {
        HarnessSpec s = HarnessSpec.of(doubles(1, 2, 3, 4), "d").len(8);
        assertEquals("value: 8", on(s, "memoryview(x).nbytes"));
        assertEquals("value: 4", on(s, "len(memoryview(x))"));           // the shape still says 4 items
        assertEquals("value: [1.0, 2.0, 3.0, 4.0]", on(s, "memoryview(x).tolist()"));
        assertEquals("value: 8", on(s, "len(bytes(x))"));                // bytes() copies len bytes
        assertEquals("value: 8", on(s, "len(memoryview(x).cast('B'))"));
    }

    @Test
    void longerLenMakesByteConsumersReadPastTheShape() {
        HarnessSpec s = HarnessSpec.of(doubles(1, 2, 3, 4), "d").shape(2).len(32);
        assertEquals("value: 32", on(s, "memoryview(x).nbytes"));
        assertEquals("value: [1.0, 2.0]", on(s, "memoryview(x).tolist()"));
        assertEquals("value: (1.0, 2.0, 3.0, 4.0)", on(s, "__import__('struct').unpack('4d', x)"));
    }

    // ---- itemsize ------------------------------------------------------------------------------

    @Test
    void itemsizeLargerThanTheFormatMakesMemoryviewStepByItemsize() {
        HarnessSpec s = HarnessSpec.of(ints(1, 2, 3, 4, 5, 6), "i").shape(3).itemsize(8).strides(8);
        assertEquals("value: 8", on(s, "memoryview(x).itemsize"));
        assertEquals("value: [1, 3, 5]", on(s, "memoryview(x).tolist()"));   // unpacks 'i' at each 8-byte item
    }

    @Test
    void itemsizeSmallerThanTheFormatMakesMemoryviewReadOverlappingItems() {
        HarnessSpec s = HarnessSpec.of(ints(1, 2, 3, 4), "i").shape(4).itemsize(2).strides(2);
        assertEquals("value: [1, 131072, 2, 196608]", on(s, "memoryview(x).tolist()"));
    }

    @Test
    @RequiresPythonPackage("numpy")
    void numpyRefusesAnItemsizeThatContradictsTheFormat() {
        HarnessSpec s = HarnessSpec.of(ints(1, 2, 3, 4, 5, 6), "i").shape(3).itemsize(8).strides(8);
        assertEquals("RuntimeError: Item size 8 for PEP 3118 buffer format string i does not match the dtype i item size 4.",
                on(s, "__import__('numpy').asarray(x)"));
    }

    // ---- formats -------------------------------------------------------------------------------

    @Test
    void unknownFormatIsReportedButNotUnpacked() {
        HarnessSpec s = HarnessSpec.of(ints(1, 2), "Z");
        assertEquals("value: 'Z'", on(s, "memoryview(x).format"));
        assertEquals("value: 1", on(s, "memoryview(x).itemsize"));   // unparseable: itemsize defaults to 1
        assertEquals("NotImplementedError: memoryview: format Z not supported", on(s, "memoryview(x).tolist()"));
        assertEquals("value: b'\\x01\\x00\\x00\\x00\\x02\\x00\\x00\\x00'", on(s, "memoryview(x).tobytes()"));
        assertEquals("value: [1, 0, 0, 0, 2, 0, 0, 0]", on(s, "memoryview(x).cast('B').tolist()"));
        // an unknown format compares unequal even to itself (memoryview cannot unpack it)
        assertEquals("value: False", on(s, "memoryview(x) == memoryview(x)"));
    }

    @Test
    void malformedFormatsAreUnsupportedForMemoryview() {
        assertEquals("NotImplementedError: memoryview: unsupported format <<i",
                on(HarnessSpec.of(ints(1, 2), "<<i").itemsize(4).shape(2), "memoryview(x).tolist()"));
        assertEquals("NotImplementedError: memoryview: unsupported format ",
                on(HarnessSpec.of(ints(1, 2), ""), "memoryview(x).tolist()"));
        assertEquals("NotImplementedError: memoryview: format 3 not supported",
                on(HarnessSpec.of(ints(1, 2), "3"), "memoryview(x).tolist()"));
        assertEquals("NotImplementedError: memoryview: unsupported format ii",
                on(HarnessSpec.of(ints(1, 2), "ii").shape(1), "memoryview(x).tolist()"));
    }

    @Test
    @RequiresPythonPackage("numpy")
    void numpyRejectsAFormatItCannotParse() {
        assertEquals("ValueError: 'Z' is not a valid PEP 3118 buffer format string",
                on(HarnessSpec.of(ints(1, 2), "Z"), "__import__('numpy').asarray(x)"));
        // numpy does parse struct-style records memoryview cannot unpack
        assertEquals("value: [(1, 2)]", on(HarnessSpec.of(ints(1, 2), "ii").shape(1),
                "__import__('numpy').asarray(x).tolist()"));
    }

    // ---- ndim ----------------------------------------------------------------------------------

    @Test
    void memoryviewAcceptsSixtyFourDimensions() {
        HarnessSpec s = HarnessSpec.of(ints(7), "i").shape(ones(64));
        assertEquals("value: 64", on(s, "memoryview(x).ndim"));
        assertEquals("value: 7", on(s, "memoryview(x)[" + "0,".repeat(63) + "0]"));
    }

    @Test
    void memoryviewRefusesSixtyFiveDimensions() {
        HarnessSpec s = HarnessSpec.of(ints(7), "i").shape(ones(65));
        assertEquals("ValueError: memoryview: number of dimensions must not exceed 64", on(s, "memoryview(x)"));
        try (JavaBuffer jb = py.export(s); PyObject x = jb.asPyObject()) {
            // the exporter gives it (memoryview's message says so); Java's view refuses it as memoryview does
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> x.getBuffer(FULL_RO));
            assertEquals("malformed buffer: ndim = 65 is outside [0, 64]; refused (released, nothing read)", e.getMessage());
        }
    }

    @Test
    void checkedSpecsStopAtSixtyFourDimensions() {
        BufferSpec.of(ints(7), "i").shape(ones(64));
        try {
            BufferSpec.of(ints(7), "i").shape(ones(65));
        } catch (IllegalArgumentException e) {
            assertEquals("ndim 65 exceeds Python's limit of 64", e.getMessage());
            return;
        }
        throw new AssertionError("a checked spec with 65 dimensions was accepted");
    }

    // ---- strides -------------------------------------------------------------------------------

    @Test
    void zeroStrideRepeatsOneItem() {
        BufferSpec s = BufferSpec.of(ints(7, 8), "i").layout(4, new long[]{3}, new long[]{0});
        assertEquals("value: [8, 8, 8]", on(s, "memoryview(x).tolist()"));
        assertEquals("value: 12", on(s, "memoryview(x).nbytes"));
        assertEquals("TypeError: memoryview: casts are restricted to C-contiguous views", on(s, "memoryview(x).cast('B')"));
        assertEquals("BufferError: JavaBuffer is not C-contiguous", on(s, "__import__('struct').unpack_from('i', x)"));
    }

    @Test
    void negativeStrideReadsBackwards() {
        BufferSpec s = BufferSpec.of(ints(1, 2, 3), "i").layout(8, new long[]{3}, new long[]{-4});
        assertEquals("value: [3, 2, 1]", on(s, "memoryview(x).tolist()"));
        assertEquals("value: [1, 2, 3]", on(s, "memoryview(x)[::-1].tolist()"));
        assertEquals("value: b'\\x03\\x00\\x00\\x00\\x02\\x00\\x00\\x00\\x01\\x00\\x00\\x00'", on(s, "bytes(x)"));
    }

    @Test
    void uncheckedStridesAreExportedAsGiven() {
        // a negative stride without the offset it needs: reading would leave the segment; the fields show it
        HarnessSpec s = HarnessSpec.of(ints(1, 2, 3), "i").strides(-4);
        assertEquals("value: (-4,)", on(s, "memoryview(x).strides"));
        assertEquals("value: (False, False)", on(s, "(memoryview(x).c_contiguous, memoryview(x).f_contiguous)"));
    }

    // ---- suboffsets ----------------------------------------------------------------------------

    @Test
    void indirectViewIsReadThroughItsPointers() {
        BufferSpec s = BufferSpec.indirect(ints(1, 2, 3, 4, 5, 6), "i", 2, 3);
        assertEquals("value: (0, -1)", on(s, "memoryview(x).suboffsets"));
        assertEquals("value: [[1, 2, 3], [4, 5, 6]]", on(s, "memoryview(x).tolist()"));
        assertEquals("value: [[4, 5, 6], [1, 2, 3]]", on(s, "memoryview(x)[::-1].tolist()"));
        assertEquals("value: 6", on(s, "memoryview(x)[1, 2]"));
        assertEquals("value: b'\\x01\\x00\\x00\\x00\\x02\\x00\\x00\\x00\\x03\\x00\\x00\\x00\\x04\\x00\\x00\\x00"
                + "\\x05\\x00\\x00\\x00\\x06\\x00\\x00\\x00'", on(s, "bytes(x)"));
    }

    @Test
    void indirectViewIsRefusedWithoutIndirectRequest() {
        BufferSpec s = BufferSpec.indirect(ints(1, 2, 3, 4, 5, 6), "i", 2, 3);
        try (JavaBuffer jb = py.export(s); PyObject x = jb.asPyObject()) {
            assertEquals("BufferError: JavaBuffer cannot be represented without suboffsets",
                    request(x, PyBUF_STRIDES | PyBUF_FORMAT));
            assertEquals("ok ndim=2 readonly=false", request(x, PyBUF_INDIRECT | PyBUF_FORMAT));
        }
        assertEquals("BufferError: JavaBuffer cannot be represented without suboffsets",
                on(s, "__import__('struct').unpack_from('i', x)"));           // a SIMPLE request
        assertEquals("BufferError: memoryview: underlying buffer requires suboffsets",
                on(s, "__import__('_testbuffer').ndarray(memoryview(x), "
                        + "getbuf=__import__('_testbuffer').PyBUF_STRIDES)"));
    }

    @Test
    @RequiresPythonPackage("numpy")
    void numpyRefusesSuboffsets() {
        String r = on(BufferSpec.indirect(ints(1, 2, 3, 4, 5, 6), "i", 2, 3), "__import__('numpy').asarray(x)");
        assertTrue(r.startsWith("BufferError: NumPy currently does not support importing buffers which include suboffsets"), r);
    }

    @Test
    void uncheckedSuboffsetsMakeTheSameIndirectView() {
        // the pointer array an indirect() spec built, described again by hand
        BufferSpec built = BufferSpec.indirect(ints(1, 2, 3, 4, 5, 6), "i", 2, 3);
        HarnessSpec byHand = HarnessSpec.of(built.segment(), "i").shape(2, 3).strides(8, 4).suboffsets(0, -1);
        assertEquals("value: [[1, 2, 3], [4, 5, 6]]", on(byHand, "memoryview(x).tolist()"));
        assertEquals(built.toString(), built.toString());   // keeps built (and its data) reachable until here
    }

    // ---- NULL shape / strides ------------------------------------------------------------------

    @Test
    void nullShapeOneDimensionalIsSizedFromLen() {
        // memoryview takes shape[0] = len / itemsize when a 1-D view has no shape (PEP 3118: shape NULL needs strides NULL)
        HarnessSpec s = HarnessSpec.of(doubles(1, 2, 3, 4), "d").nullShape().nullStrides().len(24);
        assertEquals("value: (3,)", on(s, "memoryview(x).shape"));
        assertEquals("value: [1.0, 2.0, 3.0]", on(s, "memoryview(x).tolist()"));
    }

    @Test
    void nullStridesMeanCOrderWhateverTheSpecSays() {
        HarnessSpec s = HarnessSpec.of(ints(1, 2, 3, 4, 5, 6), "i").shape(2, 3).fortran().nullStrides();
        assertEquals("value: (12, 4)", on(s, "memoryview(x).strides"));
        assertEquals("value: [[1, 2, 3], [4, 5, 6]]", on(s, "memoryview(x).tolist()"));   // Fortran strides ignored
    }

    // ---- refusing ------------------------------------------------------------------------------

    @Test
    void refusingWritableFailsWritableRequestsWithTheMessage() {
        HarnessSpec s = HarnessSpec.from(BufferSpec.of(ints(1, 2, 3), "i")).refusing(PyBUF_WRITABLE, "no writes");
        try (JavaBuffer jb = py.export(s); PyObject x = jb.asPyObject()) {
            assertEquals("BufferError: no writes", request(x, PyBUF_WRITABLE));
            assertEquals("BufferError: no writes", request(x, FULL.flags()));
            assertEquals("ok ndim=1 readonly=false", request(x, FULL_RO.flags()));
            assertEquals("ok ndim=1 readonly=false", request(x, PyBUF_SIMPLE));
        }
        assertEquals("BufferError: no writes", on(s, "__import__('_testbuffer').ndarray(x, getbuf=__import__('_testbuffer').PyBUF_WRITABLE)"));
        assertEquals("value: [1, 2, 3]", on(s, "memoryview(x).tolist()"));     // memoryview asks read-only
        // struct's w* converter replaces the BufferError by its own TypeError
        assertEquals("TypeError: argument must be read-write bytes-like object, not panamapy.JavaBuffer",
                on(s, "__import__('struct').pack_into('i', x, 0, 5)"));
    }

    private static long[] ones(int n) {
        long[] o = new long[n];
        Arrays.fill(o, 1);
        return o;
    }
}
