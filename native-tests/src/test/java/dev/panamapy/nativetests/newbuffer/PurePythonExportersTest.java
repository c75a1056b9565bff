package dev.panamapy.nativetests.newbuffer;

import dev.panamapy.CPython;
import dev.panamapy.testing.PythonTest;
import dev.panamapy.testing.RequiresPythonPackage;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static dev.panamapy.nativetests.newbuffer.NewBufferPy.eval;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Issue 11, item 4: layouts memoryview cannot make (PIL-style indirect, negative strides with an
 * offset, zero strides) and deliberately broken views, exported by pure-Python BufferMixin
 * classes (nb_exporters.py), fed to real consumers: each consumes them with the right values or
 * refuses them with an exception. Every view is released (the exporters count them).
 */
@PythonTest
class PurePythonExportersTest {

    private final CPython py;

    PurePythonExportersTest(CPython py) {
        this.py = py;
    }

    @BeforeEach
    void importModule() {
        NewBufferPy.setUp(py);
        py.exec("import array, struct\n"
                + "def outcome(f):\n    try:\n        return repr(f())\n    except Exception as e:\n"
                + "        return '%s: %s' % (type(e).__name__, e)\n"
                + "pil, neg, zero = nbx.pil_2d(2, 3), nbx.negative_with_offset(4), nbx.zero_strides(2, 3)");
    }

    private String outcome(String expr) {
        return eval(py, "outcome(lambda: " + expr + ")");
    }

    @Test
    void memoryviewReadsEveryLayoutItCannotMakeItself() {
        assertEquals("[[0, 1, 2], [100, 101, 102]]", outcome("memoryview(pil).tolist()"));
        assertEquals("[3, 2, 1, 0]", outcome("memoryview(neg).tolist()"));
        assertEquals("[[0, 1, 2], [0, 1, 2]]", outcome("memoryview(zero).tolist()"));
        assertEquals("[[100, 101, 102], [0, 1, 2]]", outcome("memoryview(pil)[::-1].tolist()"));
        assertEquals("[0, 1, 2, 3]", outcome("memoryview(neg)[::-1].tolist()"));
        assertEquals("'(2, 3) (0, -1) True'", outcome("'%s %s %s' % (memoryview(pil).shape, memoryview(pil).suboffsets, "
                + "memoryview(pil).readonly is False)"));
        assertEquals("0 0 0", eval(py, "'%d %d %d' % (pil.exports, neg.exports, zero.exports)"));
    }

    @Test
    void bytesCopiesTheLogicalOrder() {
        assertEquals("[0, 1, 2, 100, 101, 102]", outcome("list(struct.unpack('6q', bytes(pil)))"));
        assertEquals("[3, 2, 1, 0]", outcome("list(struct.unpack('4i', bytes(neg)))"));
        assertEquals("[0, 1, 2, 0, 1, 2]", outcome("list(struct.unpack('6h', bytes(zero)))"));
    }

    @Test
    void contiguousOnlyConsumersRefuseWithBufferError() {
        assertEquals("BufferError: ndarray cannot be represented without suboffsets", outcome("struct.unpack_from('q', pil)"));
        assertEquals("BufferError: ndarray is not C-contiguous", outcome("struct.unpack_from('i', neg)"));
        assertEquals("BufferError: ndarray is not C-contiguous", outcome("array.array('B').frombytes(zero)"));
        assertEquals("TypeError: memoryview: casts are restricted to C-contiguous views", outcome("memoryview(neg).cast('B')"));
        assertEquals("0 0 0", eval(py, "'%d %d %d' % (pil.exports, neg.exports, zero.exports)"));
    }

    @Test
    void viewsNoConsumerCanUseAreRefusedBeforeTheyReachIt() {
        assertEquals("BufferError: _get_buffer set ndim to 65: a buffer has 0 to 64 (PyBUF_MAX_NDIM) dimensions",
                outcome("memoryview(nbx.Broken('ndim65'))"));
        assertEquals("BufferError: _get_buffer set len to -8: a buffer's length in bytes is never negative",
                outcome("bytes(nbx.Broken('negative_len'))"));
        assertTrue(outcome("memoryview(nbx.Broken('format_null'))").startsWith(
                "BufferError: _get_buffer left format None (NULL) but the request has PyBUF_FORMAT"));
        assertEquals("BufferError: _get_buffer set len to 16 but itemsize * product(shape) is 48: they must agree (PEP 3118)",
                outcome("bytes(nbx.Broken('itemsize_mismatch'))"));
        assertEquals("BufferError: _get_buffer set len to 7 but itemsize * product(shape) is 16: they must agree (PEP 3118)",
                outcome("memoryview(nbx.Broken('len_mismatch'))"));
    }

    @Test
    void brokenViewsThatReachConsumersAreReadOrRefused() {
        assertEquals("NotImplementedError: memoryview: unsupported format not a format",
                outcome("memoryview(nbx.Broken('bad_format')).tolist()"));
        assertEquals("(0,)", outcome("struct.unpack_from('B', nbx.Broken('format_null'))"), "a SIMPLE request needs no format");
        assertEquals("0", outcome("memoryview(nbx.Broken('ndim0_with_shape')).tolist()"));
        // obj None: nothing keeps the exporter (and its memory) alive but this name, as with ctypes
        py.exec("kept = nbx.Broken('no_obj')");
        assertEquals("[0, 1, 2] None", outcome("'%s %s' % (memoryview(kept).tolist()[:3], memoryview(kept).obj)").replace("'", ""));
        assertEquals("None", outcome("struct.pack_into('B', nbx.Broken('writable_lie'), 0, 7)"),
                "an exporter that grants WRITABLE on a read-only view is believed");
    }

    @Test
    @RequiresPythonPackage("numpy")
    void numpyReadsStridedLayoutsAndRefusesSuboffsets() {
        py.exec("import numpy as np");
        assertEquals("[3, 2, 1, 0]", outcome("np.asarray(neg).tolist()"));
        assertEquals("[[0, 1, 2], [0, 1, 2]]", outcome("np.asarray(zero).tolist()"));
        assertEquals("(0, 2) False", eval(py, "'%s %s' % (np.asarray(zero).strides, np.asarray(zero).flags.writeable and False)"));
        assertTrue(outcome("np.array(memoryview(pil))").startsWith("BufferError: NumPy currently does not support importing "
                + "buffers which include suboffsets"));
        assertEquals("BufferError: memoryview: underlying buffer is not C-contiguous", outcome("np.frombuffer(neg, dtype=np.int32)"));
        assertEquals("ValueError: 'notaformat' is not a valid PEP 3118 buffer format string",
                outcome("np.asarray(nbx.Broken('bad_format'))"));
        assertEquals("0 0 0", eval(py, "'%d %d %d' % (pil.exports, neg.exports, zero.exports)"));
    }

    @Test
    @RequiresPythonPackage("pyarrow")
    void pyarrowNeedsContiguousMemory() {
        py.exec("import pyarrow as pa\nflat = nbx.Layout(nbx.Native(range(4), 'B'), 0, 'B', 1, (4,), (1,))");
        assertEquals("b'\\x00\\x01\\x02\\x03'", outcome("pa.py_buffer(flat).to_pybytes()"));
        assertEquals("BufferError: ndarray is not contiguous", outcome("pa.py_buffer(neg)"));
        assertEquals("BufferError: ndarray is not contiguous", outcome("pa.py_buffer(pil)"));
        py.exec("del flat\ngc.collect()");
        assertEquals("0 0", eval(py, "'%d %d' % (pil.exports, neg.exports)"));
    }

    @Test
    @RequiresPythonPackage(value = "pillow", module = "PIL.Image")
    void pilReadsAContiguousExporterAndRefusesTheOthers() {
        py.exec("from PIL import Image\nflat = nbx.Layout(nbx.Native(range(6), 'B'), 0, 'B', 1, (2, 3), (3, 1))");
        assertEquals("[0, 1, 2, 3, 4, 5]", outcome("list(Image.frombuffer('L', (3, 2), flat, 'raw', 'L', 0, 1).getdata())"));
        assertEquals("BufferError: ndarray is not C-contiguous", outcome("Image.frombuffer('L', (3, 2), zero, 'raw', 'L', 0, 1)"));
        assertEquals("BufferError: ndarray cannot be represented without suboffsets",
                outcome("Image.frombuffer('L', (3, 2), pil, 'raw', 'L', 0, 1)"));
        assertEquals("ValueError: buffer is not large enough",
                outcome("Image.frombuffer('L', (5, 5), nbx.Broken('ndim0_with_shape'), 'raw', 'L', 0, 1)"));
    }

    @Test
    void theReadmeExporterWorksAsItSays() {
        py.exec("from nb_readme_example import Backwards\nb = Backwards([1, 2, 3])\nm = memoryview(b); m[0] = 30");
        assertEquals("[30, 2, 1] [1, 2, 30]", eval(py, "'%s %s' % (m.tolist(), list(b.data))"));
        assertEquals("BufferError: only a strided view can be given", outcome("struct.unpack_from('i', b)"));
        py.exec("m.release()");
    }
}
