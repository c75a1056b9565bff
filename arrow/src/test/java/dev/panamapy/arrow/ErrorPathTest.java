package dev.panamapy.arrow;

import dev.panamapy.CPython;
import dev.panamapy.Gil;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;
import dev.panamapy.arrow.internal.CData;
import dev.panamapy.arrow.internal.Glue;
import dev.panamapy.arrow.internal.Snapshot;
import dev.panamapy.testing.PythonTest;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Failures inside the capsule-making Java functions leave no C memory behind. Capsule level: no package needed. */
@PythonTest
@Tag("adversarial")
class ErrorPathTest extends AllocatorTest {

    @Test
    void anArrayExportThatFailsFreesItsStruct(CPython py) {
        try (VectorSchemaRoot root = Samples.root(allocator, 3)) {
            Snapshot snap = Snapshot.of(root, null);
            PyObject made;
            try (Gil gil = py.gil()) {
                made = Glue.newObject(Glue.interpreter(py), snap);
            }
            try (PyObject obj = made) {
                // the export's data given back under its live Python object (the state a bug would leave):
                // exportArray's retain() refuses, after __arrow_c_array__ allocated the ArrowArray struct
                snap.release();
                long before = CData.liveBlocks();
                for (int i = 0; i < 5; i++) {
                    PythonException e = assertThrows(PythonException.class, () -> obj.callMethod("__arrow_c_array__").close());
                    assertTrue(e.getMessage().contains("was already released"), e.getMessage());
                }
                assertEquals(before, CData.liveBlocks(), "C blocks left by the failed exports");
            }                                    // its _drop logs "released more often than retained": expected here
        }
    }
}
