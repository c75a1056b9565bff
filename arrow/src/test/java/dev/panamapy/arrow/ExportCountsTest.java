package dev.panamapy.arrow;

import dev.panamapy.CPython;
import dev.panamapy.arrow.internal.Glue;
import dev.panamapy.arrow.internal.Snapshot;
import dev.panamapy.testing.PythonTest;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.StructVector;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Vectors whose counts disagree (a root's row count above a column's value count, a struct's
 * child shorter than the struct) would let a consumer read past the Java buffers: refused,
 * naming the column and both counts, before anything reaches Python (no export made, the
 * buffers still accounted to the vectors' allocator). Capsule level: no package needed.
 */
@PythonTest
@Tag("adversarial")
class ExportCountsTest extends AllocatorTest {

    @Test
    void aRowCountAboveAColumnsValueCountIsRefusedNamingBoth(CPython py) {
        try (VectorSchemaRoot root = Samples.root(allocator, 4)) {
            root.getVector("x").setValueCount(2);
            long before = allocator.getAllocatedMemory();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ArrowExport.batch(py, root).close());
            assertTrue(e.getMessage().contains("column 'x' has 2 values but the root's row count is 4"), e.getMessage());
            assertNothingExported(before);
            root.setRowCount(2);                 // consistent now: exported
            ArrowExport.batch(py, root).close();
        }
    }

    @Test
    void aStructChildShorterThanTheStructIsRefusedNamingIt(CPython py) {
        try (StructVector s = StructVector.empty("s", allocator)) {
            IntVector a = s.addOrGet("a", FieldType.nullable(new ArrowType.Int(32, true)), IntVector.class);
            s.allocateNew();
            for (int i = 0; i < 6; i++) {
                s.setIndexDefined(i);
                a.setSafe(i, i);
            }
            s.setValueCount(6);
            a.setValueCount(3);
            long before = allocator.getAllocatedMemory();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ArrowExport.array(py, s).close());
            assertTrue(e.getMessage().contains("vector 's' (Struct, 6 values) needs 6 values in its child 'a', which has 3"),
                    e.getMessage());
            assertNothingExported(before);
            try (VectorSchemaRoot root = new VectorSchemaRoot(List.of(s.getField()), List.of(s), 6)) {
                assertThrows(IllegalArgumentException.class, () -> ArrowExport.batch(py, root).close());
                assertNothingExported(before);
            }
        }
    }

    private void assertNothingExported(long allocatedBefore) {
        assertEquals(0, Snapshot.live(), "no export made");
        assertEquals(0, Glue.liveObjects(), "no Python object made");
        assertEquals(allocatedBefore, allocator.getAllocatedMemory(), "the buffers are still the vectors'");
        assertEquals(0, allocator.getChildAllocators().size(), "no export allocator left");
    }
}
