package dev.panamapy.arrow;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.arrow.internal.Imported;
import dev.panamapy.arrow.internal.Snapshot;
import dev.panamapy.testing.PythonTest;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Imported vectors and readers closed on a virtual thread (which may not take the GIL) still
 * call the producer's release exactly once: the bridge's hand-off thread runs it. The producer
 * here is a panamapy export, so its release is seen in Java: capsule level, no package needed.
 */
@PythonTest
class VirtualThreadCloseTest extends AllocatorTest {

    @Test
    void anImportedRootClosedOnAVirtualThreadReleasesTheProducerOnce(CPython py) throws Exception {
        VectorSchemaRoot imported;
        try (VectorSchemaRoot root = Samples.root(allocator, 10); PyObject obj = ArrowExport.batch(py, root)) {
            imported = ArrowImport.batch(py, obj, allocator);
        }
        assertEquals(1, Snapshot.live(), "the import holds the export");
        assertEquals(40L, ((BigIntVector) imported.getVector("id")).get(4), "the imported values");
        OnThread.run(Thread.ofVirtual(), imported::close);
        assertEquals(0, Imported.live(), "the moved struct was released");
        assertEquals(0, Snapshot.live(), "the producer's release ran: the export gave its buffers back");
        assertEquals(0, allocator.getAllocatedMemory());
    }

    @Test
    void anImportedStreamClosedOnAVirtualThreadReleasesTheProducerOnce(CPython py) throws Exception {
        AtomicInteger closes = new AtomicInteger();
        ListReader counting = new ListReader(allocator, List.of(Samples.root(allocator, 4))) {
            @Override
            protected void closeReadSource() {
                closes.incrementAndGet();
                super.closeReadSource();
            }
        };
        ArrowReader reader;
        try (PyObject obj = ArrowExport.stream(py, counting)) {
            reader = ArrowImport.stream(py, obj, allocator);
        }
        assertTrue(reader.loadNextBatch());
        assertEquals(4, reader.getVectorSchemaRoot().getRowCount());
        OnThread.run(Thread.ofVirtual(), reader::close);
        assertEquals(1, closes.get(), "the producer's release ran exactly once");
        assertEquals(0, Imported.live());
    }
}
