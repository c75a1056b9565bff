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
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.complex.impl.UnionListWriter;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.List;

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
        return refused(py, type, Samples.root(allocator, 10), schema, child < 0 ? new int[0] : new int[]{child},
                new long[]{field, value}, fragment);
    }

    /**
     * Imports {@code root} (closed here) as a batch whose struct at (array or schema, path of child
     * indexes from the top) had its fields set: {@code changes} is field, value, field, value...
     */
    private <T extends RuntimeException> T refused(CPython py, Class<T> type, VectorSchemaRoot batch, boolean schema, int[] path,
                                                   long[] changes, String fragment) {
        try (VectorSchemaRoot root = batch; PyObject obj = ArrowExport.batch(py, root);
             PyObject pair = obj.callMethod("__arrow_c_array__");
             PyObject make = py.eval("lambda p: type('Producer', (), {'__arrow_c_array__': lambda self, r=None: p})()");
             PyObject producer = make.call(pair)) {
            long struct;
            try (Gil gil = py.gil(); PyObject cap = pair.getItem(schema ? 0 : 1)) {
                struct = Capsules.pointer(Handles.address(cap), schema ? "arrow_schema" : "arrow_array");
            }
            long top = struct;
            for (int child : path) struct = CData.getLong(CData.getLong(struct + (schema ? CData.S_CHILDREN : CData.A_CHILDREN)) + 8L * child);
            long[] saved = new long[changes.length / 2];
            for (int i = 0; i < saved.length; i++) {
                saved[i] = CData.getLong(struct + changes[2 * i]);
                CData.putLong(struct + changes[2 * i], changes[2 * i + 1]);
            }
            T e;
            try {
                e = assertThrows(type, () -> ArrowImport.batch(py, producer, allocator).close());
            } finally {
                // an import that (wrongly) succeeded moved the tree and released it: its children are gone
                boolean moved = !schema && CData.getLong(top + CData.A_RELEASE) == 0 && !(path.length == 0
                        && changes[0] == CData.A_RELEASE);
                if (!moved) for (int i = saved.length - 1; i >= 0; i--) CData.putLong(struct + changes[2 * i], saved[i]);
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
        refused(py, IllegalArgumentException.class, false, 1, CData.A_LENGTH, 4, "struct child has 4 values (from its offset 0), the parent needs 10");
    }

    @Test
    void aStructChildWhoseOffsetLeavesTooFewValuesIsRefused(CPython py) {
        // offset 8 + length 2 "ends" at 10 like the batch, but the batch reads the child's [8, 18)
        refused(py, IllegalArgumentException.class, Samples.root(allocator, 10), false, new int[]{0},
                new long[]{CData.A_OFFSET, 8, CData.A_LENGTH, 2},
                "struct child has 2 values (from its offset 8), the parent needs 10 (its offset 0 + length 10)");
    }

    @Test
    void aBatchOffsetBeyondAStructChildsValuesIsRefused(CPython py) {
        // the batch (offset 3, length 8) reads the children's [3, 11): they have 10
        refused(py, IllegalArgumentException.class, Samples.root(allocator, 10), false, new int[0],
                new long[]{CData.A_OFFSET, 3, CData.A_LENGTH, 8}, "the parent needs 11 (its offset 3 + length 8)");
    }

    @Test
    void listOffsetsBeyondTheListsChildAreRefused(CPython py) {
        // 10 lists of 2 ints: the offsets end at 20; the child claims 15 values
        refused(py, IllegalArgumentException.class, lists(10), false, new int[]{0, 0}, new long[]{CData.A_LENGTH, 15},
                "the list's offsets run from 0 to 20, its child has 15 values");
    }

    /** One column "l": {@code n} lists of two ints each. */
    private VectorSchemaRoot lists(int n) {
        ListVector v = ListVector.empty("l", allocator);
        UnionListWriter w = v.getWriter();
        for (int i = 0; i < n; i++) {
            w.setPosition(i);
            w.startList();
            w.integer().writeInt(i);
            w.integer().writeInt(-i);
            w.endList();
        }
        v.setValueCount(n);
        return new VectorSchemaRoot(List.of(v.getField()), List.of(v), n);
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
