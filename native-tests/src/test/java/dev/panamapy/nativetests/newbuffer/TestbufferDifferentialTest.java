package dev.panamapy.nativetests.newbuffer;

import dev.panamapy.CPython;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static dev.panamapy.nativetests.newbuffer.NewBufferPy.eval;
import static org.junit.jupiter.api.Assertions.*;

/**
 * CPython's test_buffer checks exporters against {@code _testbuffer.ndarray}; here a pure-Python
 * BufferMixin exporter ({@code nb_exporters.Layout}, _testbuffer's request rules ported line by
 * line) rebuilds 14 ndarray layouts (C, Fortran, PIL-style suboffsets, 0-d, empty, a struct
 * format, negative strides with an offset, zero strides, slices) over the ndarray's own memory,
 * and for each of the 256 combinations of request bits gives the same fields or the same
 * BufferError (both read through panamapy.newbuffer.Py_buffer), and memoryview reads the same.
 */
@PythonTest
class TestbufferDifferentialTest {

    private final CPython py;

    TestbufferDifferentialTest(CPython py) {
        this.py = py;
    }

    @BeforeEach
    void importModule() {
        NewBufferPy.setUp(py);
    }

    @Test
    void aBufferMixinRebuildAgreesWithTestbufferForEveryRequest() {
        py.exec("n, mismatches = nbx.differential()");
        assertEquals("[]", eval(py, "mismatches[:5]"));
        assertEquals("3598", eval(py, "n"), "14 layouts x (256 requests + 1 memoryview read)");
    }

    @Test
    void theComparisonSeesADifferentRefusal() {
        py.exec("n2, other = nbx.differential(refusal_name='other')");
        assertEquals("True", eval(py, "len(other) > 100 and all(m[2].startswith('BufferError: ndarray') for m in other)"));
    }
}
