package dev.panamapy.nativetests.pyarrow;

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

/** PyBufferView over pyarrow buffers. */
@RequiresPythonPackage("pyarrow")
class ViewsPyarrowTest {

    private static CPython py;

    @BeforeEach
    void pyarrow(CPython python) {
        py = python;
        py.exec("import pyarrow as pa");
    }

    @Test
    void pyBufferOfBytesIsReadOnlyBytes() {
        try (PyObject b = py.eval("pa.py_buffer(b'arrow-bytes')"); PyBufferView v = b.getBuffer(BufferRequest.FULL_RO)) {
            assertTrue(v.readOnly());
            assertEquals(11, v.segment().byteSize());
            assertEquals("b", v.format(), "pyarrow exports signed bytes");
            assertEquals('w', v.segment().get(ValueLayout.JAVA_BYTE, 4));
            assertThrows(PythonException.class, () -> b.getBuffer(BufferRequest.WRITABLE));
        }
    }

    @Test
    void int64ArrayValuesBufferReadsTheValues() {
        py.exec("pa_arr = pa.array([10, 20, 30, 40], type=pa.int64())\npa_vals = pa_arr.buffers()[1]");
        try (PyObject b = py.eval("pa_vals"); PyBufferView v = b.getBuffer(BufferRequest.FULL_RO)) {
            assertTrue(v.segment().byteSize() >= 32);
            assertEquals(v.byteLength(), v.segment().byteSize());
            var s = v.segment();
            for (int i = 0; i < 4; i++) assertEquals(10L * (i + 1), s.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i));
        }
    }

    @Test
    void mutableArrowBufferIsWritable() {
        py.exec("pa_mut = pa.allocate_buffer(16)\nmemoryview(pa_mut).cast('B')[:] = bytes(16)");
        try (PyObject b = py.eval("pa_mut"); PyBufferView v = b.getBuffer(BufferRequest.WRITABLE)) {
            assertFalse(v.readOnly());
            v.segment().set(ValueLayout.JAVA_BYTE, 3, (byte) 9);
        }
        try (PyObject r = py.eval("pa_mut.to_pybytes()[3]")) {
            assertEquals(9, r.asLong());
        }
    }
}
