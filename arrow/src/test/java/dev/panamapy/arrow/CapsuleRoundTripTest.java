package dev.panamapy.arrow;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.arrow.internal.Glue;
import dev.panamapy.arrow.internal.Imported;
import dev.panamapy.arrow.internal.Snapshot;
import dev.panamapy.arrow.internal.StreamExport;
import dev.panamapy.testing.PythonTest;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ViewVarCharVector;
import org.apache.arrow.vector.compare.VectorEqualsVisitor;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Java export -> Python capsules -> Java import, on every CPython (no pyarrow needed): the
 * Arrow PyCapsule protocol end to end through Python objects, with the release semantics.
 */
@PythonTest
class CapsuleRoundTripTest extends AllocatorTest {


    @Test
    void aBatchCrossesPythonAndComesBackOverTheSameMemory(CPython py) {
        try (VectorSchemaRoot root = Samples.root(allocator, 50);
             PyObject obj = ArrowExport.batch(py, root);
             VectorSchemaRoot back = ArrowImport.batch(py, obj, allocator)) {
            assertEquals(50, back.getRowCount());
            for (int c = 0; c < root.getFieldVectors().size(); c++) {
                FieldVector a = root.getVector(c), b = back.getVector(c);
                assertTrue(VectorEqualsVisitor.vectorEquals(a, b), a.getName());
                assertEquals(a.getDataBuffer().memoryAddress(), b.getDataBuffer().memoryAddress(), a.getName());
            }
        }
    }

    /** A closed imported reader read again: refused, not a read of the freed stream struct. */
    @Test
    void readingAClosedImportedStreamIsRefused(CPython py) throws Exception {
        ArrowReader in;
        try (PyObject obj = ArrowExport.stream(py, new ListReader(allocator, List.of(Samples.root(allocator, 3))))) {
            in = ArrowImport.stream(py, obj, allocator);
        }
        assertTrue(in.loadNextBatch());
        in.close();
        IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, in::loadNextBatch);
        assertTrue(e.getMessage().contains("this ArrowReader is closed"), e.getMessage());
        assertEquals(0, Imported.live());
    }

    /** Closed before its first read: every later read refused, the struct never revived. */
    @Test
    void anImportedStreamClosedBeforeItsFirstReadStaysClosed(CPython py) throws Exception {
        ArrowReader in;
        try (PyObject obj = ArrowExport.stream(py, new ListReader(allocator, List.of(Samples.root(allocator, 3))))) {
            in = ArrowImport.stream(py, obj, allocator);
        }
        in.close();
        for (int i = 0; i < 3; i++) {
            IllegalStateException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                    in::getVectorSchemaRoot);
            assertTrue(e.getMessage().contains("this ArrowReader is closed"), e.getMessage());
        }
        assertEquals(0, Imported.live());
    }

    @Test
    void closingTheJavaRootFirstKeepsTheImportReadable(CPython py) {
        VectorSchemaRoot root = Samples.root(allocator, 20);
        try (PyObject obj = ArrowExport.batch(py, root)) {
            VectorSchemaRoot back = ArrowImport.batch(py, obj, allocator);
            root.close();
            assertEquals("n19", ((VarCharVector) back.getVector("name")).getObject(19).toString());
            back.close();
        }
    }

    @Test
    void anUnconsumedCapsuleIsReleasedByItsDestructor(CPython py) {
        try (VectorSchemaRoot root = Samples.root(allocator, 5); PyObject obj = ArrowExport.batch(py, root)) {
            py.setGlobal("obj", obj);
            py.exec("caps = [obj.__arrow_c_array__() for _ in range(10)] + [obj.__arrow_c_schema__()]");
            assertTrue(Snapshot.live() == 1);
            py.exec("del caps, obj");
        }
    }

    @Test
    void aStreamIsReadOnceAndClosesTheReader(CPython py) throws Exception {
        List<VectorSchemaRoot> batches = new ArrayList<>();
        for (int b = 0; b < 4; b++) batches.add(Samples.root(allocator, 3 + b));
        ListReader source = new ListReader(allocator, batches);
        try (PyObject obj = ArrowExport.stream(py, source); ArrowReader reader = ArrowImport.stream(py, obj, allocator)) {
            List<Integer> sizes = new ArrayList<>();
            while (reader.loadNextBatch()) sizes.add(reader.getVectorSchemaRoot().getRowCount());
            assertEquals(List.of(3, 4, 5, 6), sizes);
            assertFalse(reader.loadNextBatch());
            py.setGlobal("obj", obj);
            PyObjectAssert.raises(py, "obj.__arrow_c_stream__()", "consumed already");
            py.exec("del obj");
        }
        py.exec("pass");           // the last PyObject reference Java dropped is decremented on the next call
        assertTrue(source.closed, "the exported reader is closed when the stream and the object are released");
    }

    @Test
    void aBatchObjectAlsoSpeaksTheStreamProtocol(CPython py) throws Exception {
        try (VectorSchemaRoot root = Samples.root(allocator, 7); PyObject obj = ArrowExport.batch(py, root);
             ArrowReader reader = ArrowImport.stream(py, obj, allocator)) {
            assertTrue(reader.loadNextBatch());
            assertEquals(7, reader.getVectorSchemaRoot().getRowCount());
            assertFalse(reader.loadNextBatch());
        }
    }

    @Test
    void releasesFromPythonThreadsJavaThreadsAndTheGcLandOnce(CPython py) throws Exception {
        try (VectorSchemaRoot root = Samples.root(allocator, 100)) {
            // a Python thread drops the last reference to a capsule
            try (PyObject obj = ArrowExport.batch(py, root)) {
                py.setGlobal("obj", obj);
                py.exec("import threading\ncaps = obj.__arrow_c_array__()\nt = threading.Thread(target=lambda: globals().pop('caps'))\n"
                        + "t.start(); t.join(); del obj, t");
            }
            // a Java thread closes an imported vector
            try (PyObject obj = ArrowExport.batch(py, root)) {
                VectorSchemaRoot back = ArrowImport.batch(py, obj, allocator);
                OnThread.run(Thread.ofPlatform(), back::close);
            }
            // the garbage collector frees the Python object of an export nobody closed
            ArrowExport.batch(py, root);
            for (int i = 0; i < 50 && Glue.liveObjects() > 0; i++) {
                System.gc();
                Thread.sleep(20);
                py.exec("pass");
            }
        }
    }

    @Test
    void anUnsupportedTypeIsRefusedNamingIt(CPython py) {
        try (ViewVarCharVector v = new ViewVarCharVector("views", allocator)) {
            v.allocateNew();
            v.setValueCount(0);
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> ArrowExport.array(py, v));
            assertTrue(e.getMessage().contains("Utf8View"), e.getMessage());
        }
    }

    @Test
    void theExportsReprNamesWhatItHolds(CPython py) {
        try (BigIntVector v = new BigIntVector("answer", allocator)) {
            v.allocateNew(1);
            v.set(0, 42);
            v.setValueCount(1);
            try (PyObject obj = ArrowExport.array(py, v)) {
                String repr = obj.toString();
                assertTrue(repr.contains("JavaArrowArray") && repr.contains("answer"), repr);
            }
        }
    }
}
