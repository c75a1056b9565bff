package dev.panamapy.spark;

import dev.panamapy.CPython;
import dev.panamapy.testing.RequiresPythonPackage;
import org.apache.spark.SparkException;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.util.ArrowUtils;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static dev.panamapy.spark.SparkTests.messages;
import static dev.panamapy.spark.SparkTests.py;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A mapInArrow function's input batches can be iterated only on the task's thread while the task
 * runs: pulling a batch runs Spark's row iterator, which is not thread-safe and points into
 * memory the task frees when it ends. A thread the function starts, or a feed kept for later, gets
 * a RuntimeError and touches nothing.
 */
@RequiresPythonPackage("pyarrow")
class FeedConfinementTest {

    private static final String REFUSED = "can only be iterated on the task's own thread while the task runs";
    private static final StructType X = new StructType().add("x", DataTypes.LongType);

    private static SparkSession spark;

    @BeforeAll
    static void session() {
        spark = SparkTests.session();
    }

    @Test
    void iteratingTheBatchesOnAThreadTheFunctionStartsFailsTheTaskAndLeaksNoArrowMemory() throws Exception {
        long before = ArrowUtils.rootAllocator().getAllocatedMemory();
        SparkTests.withBatchSize(100, () -> {
            SparkException e = assertThrows(SparkException.class, () -> PythonUdfs.mapInArrow(spark.range(0, 1000, 1, 1).toDF("x"), PythonFunction.fromSource("""
                    import threading
                    def prefetch(batches):
                        got = []
                        def run():
                            try:
                                for b in batches:
                                    got.append(b)
                            except BaseException as e:
                                got.append(e)
                        t = threading.Thread(target=run)
                        t.start()
                        t.join()
                        for b in got:
                            if isinstance(b, BaseException):
                                raise b
                            yield b
                    """, "prefetch"), X).count());
            assertTrue(messages(e).contains("RuntimeError") && messages(e).contains(REFUSED), messages(e));
        });
        assertEquals(before, ArrowUtils.rootAllocator().getAllocatedMemory(), "no Arrow memory left by the failed tasks");
    }

    @Test
    void aFeedKeptPastItsTaskIsRefusedToTheDriverAndToLaterTasks(CPython python) throws Exception {
        long before = ArrowUtils.rootAllocator().getAllocatedMemory();
        SparkTests.withBatchSize(100, () -> {
            long rows = PythonUdfs.mapInArrow(spark.range(0, 1000, 1, 1).toDF("x"), py("""
                    import sys
                    def keep(batches):
                        sys._panamapy_kept_feed = batches
                        yield next(batches)
                    """), X).count();
            assertEquals(100, rows, "the function yielded its first batch only");
            assertEquals(before, ArrowUtils.rootAllocator().getAllocatedMemory(), "the batches the kept feed held were freed");

            python.exec("""
                    import sys
                    _panamapy_kept_errors = []
                    for attempt in (lambda: next(sys._panamapy_kept_feed), lambda: sys._panamapy_kept_feed.pull()):
                        try:
                            attempt()
                            _panamapy_kept_errors.append('no error')
                        except RuntimeError as e:
                            _panamapy_kept_errors.append(str(e))
                    """);
            try {
                for (int i = 0; i < 2; i++) {
                    String message = python.eval("_panamapy_kept_errors[" + i + "]").asString();
                    assertTrue(message.contains(REFUSED), message);
                }
            } finally {
                python.exec("del _panamapy_kept_errors");
            }

            SparkException e = assertThrows(SparkException.class, () -> PythonUdfs.mapInArrow(spark.range(0, 10, 1, 1).toDF("x"), py("""
                    import sys
                    def reuse(batches):
                        yield next(sys._panamapy_kept_feed)
                    """), X).count());
            assertTrue(messages(e).contains("RuntimeError") && messages(e).contains(REFUSED), messages(e));
        });
        python.exec("import sys; del sys._panamapy_kept_feed");
        assertEquals(before, ArrowUtils.rootAllocator().getAllocatedMemory(), "no Arrow memory left");
    }
}
