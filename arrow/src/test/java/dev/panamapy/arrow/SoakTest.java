package dev.panamapy.arrow;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.arrow.internal.Glue;
import dev.panamapy.arrow.internal.Imported;
import dev.panamapy.arrow.internal.Snapshot;
import dev.panamapy.internal.Capsules;
import dev.panamapy.testing.PythonTest;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.compare.VectorEqualsVisitor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Many export/import round trips of random schemas leave nothing behind: Java memory back to 0,
 * no export, import or capsule alive, Python's references and allocated blocks flat. Rounds:
 * {@code -Dpanamapy.arrow.soakRounds} (default 2,000; the figure is 100,000). Where
 * pyarrow is installed each round also goes through a pyarrow RecordBatch.
 */
@PythonTest
class SoakTest {

    private static final int ROUNDS = Integer.getInteger("panamapy.arrow.soakRounds", 2000);
    private static final long SEED = Long.getLong("panamapy.arrow.soakSeed", 12);

    @Test
    void randomSchemaRoundTripsLeaveNothingBehind(CPython py) {
        boolean pyarrow;
        try (PyObject has = py.eval("__import__('importlib.util').util.find_spec('pyarrow') is not None")) {
            pyarrow = has.asBoolean();
        }
        Random r = new Random(SEED);
        try (BufferAllocator allocator = new RootAllocator();
             PyObject toPyarrow = py.eval(pyarrow ? "__import__('pyarrow').record_batch" : "lambda o: o")) {
            roundTrip(py, r, allocator, toPyarrow, 50);             // warm up caches before the baseline
            settle(py);
            long refs = py.diagnostics().liveReferences();
            long blocks = blocks(py);
            roundTrip(py, r, allocator, toPyarrow, ROUNDS);
            settle(py);
            assertEquals(0, allocator.getAllocatedMemory(), "Java memory left");
            assertEquals(0, Snapshot.live(), "exports left");
            assertEquals(0, Imported.live(), "imports left");
            assertEquals(0, Glue.liveObjects(), "export objects left");
            assertEquals(0, Capsules.liveCapsules(), "capsules left");
            assertEquals(refs, py.diagnostics().liveReferences(), "Java-held Python references");
            long grown = blocks(py) - blocks;
            assertTrue(grown < 200, "Python allocated blocks grew by " + grown + " over " + ROUNDS + " rounds");
        }
    }

    @Test
    void concurrentRoundTripsFromJavaThreads(CPython py) throws Exception {
        int threads = 4, rounds = Math.max(50, ROUNDS / 20);
        try (BufferAllocator allocator = new RootAllocator(); PyObject identity = py.eval("lambda o: o")) {
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    long seed = SEED + t;
                    done.add(pool.submit(() -> {
                        try {
                            roundTrip(py, new Random(seed), allocator, identity, rounds);
                        } finally {
                            py.detachThread();
                        }
                        return null;
                    }));
                }
                for (Future<?> f : done) f.get();
            } finally {
                pool.shutdown();
            }
            settle(py);
            assertEquals(0, allocator.getAllocatedMemory());
            assertEquals(0, Snapshot.live());
            assertEquals(0, Imported.live());
        }
    }

    private static void roundTrip(CPython py, Random r, BufferAllocator allocator, PyObject via, int rounds) {
        for (int i = 0; i < rounds; i++) {
            try (VectorSchemaRoot root = RandomBatches.next(r, allocator);
                 PyObject obj = ArrowExport.batch(py, root);
                 PyObject mid = via.call(obj);
                 VectorSchemaRoot back = ArrowImport.batch(py, mid, allocator)) {
                assertEquals(root.getRowCount(), back.getRowCount());
                for (int c = 0; c < root.getFieldVectors().size(); c++) {
                    assertTrue(VectorEqualsVisitor.vectorEquals(root.getVector(c), back.getVector(c)),
                            "round " + i + " column " + root.getVector(c).getField());
                }
            }
        }
    }

    private static void settle(CPython py) {
        py.exec("import gc; gc.collect()");
        py.exec("pass");
    }

    private static long blocks(CPython py) {
        try (PyObject b = py.eval("__import__('sys').getallocatedblocks()")) {
            return b.asLong();
        }
    }
}
