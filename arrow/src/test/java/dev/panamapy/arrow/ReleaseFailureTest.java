package dev.panamapy.arrow;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.testing.PythonTest;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A producer whose release throws is reported (logged), not fatal, and released once. */
@PythonTest
@Tag("adversarial")
class ReleaseFailureTest extends AllocatorTest {

    @Test
    void aReaderThatThrowsOnCloseIsReleasedOnceAndNothingEscapes(CPython py) throws Exception {
        AtomicInteger closes = new AtomicInteger();
        List<VectorSchemaRoot> batches = List.of(Samples.root(allocator, 4));
        ListReader throwing = new ListReader(allocator, batches) {
            @Override
            protected void closeReadSource() {
                closes.incrementAndGet();
                super.closeReadSource();
                throw new IllegalStateException("release failed on purpose");
            }
        };
        try (PyObject obj = ArrowExport.stream(py, throwing)) {
            try (ArrowReader reader = ArrowImport.stream(py, obj, allocator)) {
                assertTrue(reader.loadNextBatch());
                assertEquals(4, reader.getVectorSchemaRoot().getRowCount());
            }                                    // releases the Java stream through C: the throw is logged
        }
        py.exec("pass");
        assertEquals(1, closes.get(), "the producer's release ran exactly once");
        try (PyObject alive = py.eval("1 + 1")) {
            assertEquals(2, alive.asLong());
        }
    }
}
