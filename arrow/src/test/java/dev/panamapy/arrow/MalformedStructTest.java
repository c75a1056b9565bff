package dev.panamapy.arrow;

import dev.panamapy.CPython;
import dev.panamapy.Gil;
import dev.panamapy.PyObject;
import dev.panamapy.arrow.internal.CData;
import dev.panamapy.arrow.internal.Imported;
import dev.panamapy.arrow.internal.Snapshot;
import dev.panamapy.internal.Capsules;
import dev.panamapy.internal.Handles;
import dev.panamapy.testing.PythonTest;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Malformed structs from Python are refused with a clear exception before Java moves them or
 * reads a buffer: each case takes a valid batch's capsules, breaks one field, imports (refused,
 * nothing imported, no memory taken), restores the field and lets the capsules release as usual.
 */
@PythonTest
@Tag("adversarial")
class MalformedStructTest extends AllocatorTest {


    /** Imports a batch whose struct at (array or schema, child index or -1) had {@code field} set to {@code value}. */
    private <T extends RuntimeException> T refused(CPython py, Class<T> type, boolean schema, int child, long field, long value,
                                                   String fragment) {
        try (VectorSchemaRoot root = Samples.root(allocator, 10); PyObject obj = ArrowExport.batch(py, root);
             PyObject pair = obj.callMethod("__arrow_c_array__");
             PyObject make = py.eval("lambda p: type('Producer', (), {'__arrow_c_array__': lambda self, r=None: p})()");
             PyObject producer = make.call(pair)) {
            long struct;
            try (Gil gil = py.gil(); PyObject cap = pair.getItem(schema ? 0 : 1)) {
                struct = Capsules.pointer(Handles.address(cap), schema ? "arrow_schema" : "arrow_array");
            }
            if (child >= 0) struct = CData.getLong(CData.getLong(struct + (schema ? CData.S_CHILDREN : CData.A_CHILDREN)) + 8L * child);
            long saved = CData.getLong(struct + field);
            CData.putLong(struct + field, value);
            T e;
            try {
                e = assertThrows(type, () -> ArrowImport.batch(py, producer, allocator).close());
            } finally {
                CData.putLong(struct + field, saved);
            }
            assertTrue(e.getMessage().contains(fragment), e.getMessage());
            assertEquals(0, Imported.live(), "nothing imported");
            return e;
        }
    }

    @Test
    void wrongBufferCountIsRefused(CPython py) {
        refused(py, IllegalArgumentException.class, false, 0, CData.A_N_BUFFERS, 3, "n_buffers is 3, the format needs 2");
    }

    @Test
    void negativeLengthIsRefused(CPython py) {
        refused(py, IllegalArgumentException.class, false, 1, CData.A_LENGTH, -5, "negative length -5");
    }

    @Test
    void negativeOffsetIsRefused(CPython py) {
        refused(py, IllegalArgumentException.class, false, 2, CData.A_OFFSET, -1, "negative offset -1");
    }

    @Test
    void nullDataBufferWithRowsIsRefused(CPython py) {
        refused(py, IllegalArgumentException.class, false, 0, CData.A_BUFFERS, 0, "buffers is NULL");
    }

    @Test
    void tooFewChildrenIsRefused(CPython py) {
        refused(py, IllegalArgumentException.class, false, -1, CData.A_N_CHILDREN, 2, "n_children is 2, the schema has 3");
    }

    @Test
    void aReleasedArrayIsRefused(CPython py) {
        refused(py, IllegalArgumentException.class, false, -1, CData.A_RELEASE, 0, "released already");
    }

    @Test
    void aNullCountAboveTheLengthIsRefused(CPython py) {
        refused(py, IllegalArgumentException.class, false, 0, CData.A_NULL_COUNT, 11, "null_count 11 with length 10");
    }

    @Test
    void aChildShorterThanTheBatchIsRefused(CPython py) {
        refused(py, IllegalArgumentException.class, false, 1, CData.A_LENGTH, 4, "struct child has 4 values, the parent needs 10");
    }

    @Test
    void anUnsupportedFormatIsRefusedNamingIt(CPython py) {
        try (Arena a = Arena.ofConfined()) {
            refused(py, UnsupportedOperationException.class, true, 0, CData.S_FORMAT, a.allocateFrom("+ud:0,1").address(),
                    "'+ud:0,1' (union)");
        }
    }

    @Test
    void aMalformedFormatIsRefused(CPython py) {
        try (Arena a = Arena.ofConfined()) {
            refused(py, IllegalArgumentException.class, true, 1, CData.S_FORMAT, a.allocateFrom("w:x").address(),
                    "malformed format string 'w:x'");
        }
    }

    @Test
    void aCapsuleOfTheWrongNameIsRefused(CPython py) {
        try (VectorSchemaRoot root = Samples.root(allocator, 3); PyObject obj = ArrowExport.batch(py, root);
             PyObject producer = py.eval("lambda o: type('P', (), {'__arrow_c_array__': lambda self, r=None: "
                     + "(o.__arrow_c_schema__(), o.__arrow_c_schema__())})()").call(obj)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ArrowImport.batch(py, producer, allocator).close());
            assertTrue(e.getMessage().contains("expected a PyCapsule named 'arrow_array', got a PyCapsule named 'arrow_schema'"),
                    e.getMessage());
        }
    }
}
