package dev.panamapy.nativetests.dlpack;

import dev.panamapy.CPython;
import dev.panamapy.PyBufferView;
import dev.panamapy.PyObject;
import dev.panamapy.testing.RequiresPythonPackage;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static dev.panamapy.nativetests.exporter.PyCheck.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Java's dlpack() over pyarrow arrays: pyarrow's {@code Array.__dlpack__} takes no
 * {@code max_version}, so the bridge gets a legacy tensor, which cannot say whether its memory
 * may be written; Arrow memory is immutable (maybe a read-only file mapping), so the view is
 * read-only.
 */
@RequiresPythonPackage("pyarrow")
class DLPackPyarrowTest {

    private final CPython py;

    DLPackPyarrowTest(CPython py) {
        this.py = py;
    }

    @BeforeEach
    void open() {
        py.exec("import pyarrow as pa");
    }

    @Test
    void pyarrowArrayIsReadOnlyInJavaAndAWriteThrows() {
        py.exec("t_pa = pa.array([10, 20, 30], pa.int64())");
        try (PyObject a = py.eval("t_pa"); PyBufferView v = a.dlpack()) {
            assertEquals(asLong("t_pa.buffers()[1].address"), v.segment().address(), "the Arrow memory itself");
            assertEquals("q", v.format());
            assertTrue(v.isReadOnly(), "a legacy tensor over immutable Arrow memory is read-only");
            assertTrue(v.segment().isReadOnly());
            assertThrows(UnsupportedOperationException.class, () -> v.setLong(-1, 1));
            assertEquals(30, v.getLong(2));
        }
        assertEquals("[10, 20, 30]", str("t_pa.to_pylist()"), "nothing written");
    }
}
