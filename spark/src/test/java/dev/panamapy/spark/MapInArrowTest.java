package dev.panamapy.spark;

import dev.panamapy.CPython;
import dev.panamapy.testing.RequiresPythonPackage;
import org.apache.spark.SparkException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.stream.LongStream;

import static dev.panamapy.spark.SparkTests.messages;
import static dev.panamapy.spark.SparkTests.py;
import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@RequiresPythonPackage("pyarrow")
class MapInArrowTest {

    private static final StructType XY = new StructType().add("x", DataTypes.LongType).add("y", DataTypes.LongType);

    private static final PythonFunction PLUS_ONE = py("""
            import pyarrow as pa, pyarrow.compute as pc
            def plus_one(batches):
                for b in batches:
                    yield pa.record_batch({"x": b["x"], "y": pc.add(b["x"], 1)})
            """);

    private static SparkSession spark;

    @BeforeAll
    static void session() {
        spark = SparkTests.session();
    }

    private static Dataset<Row> longs(long n, int partitions) {
        return spark.range(0, n, 1, partitions).toDF("x");
    }

    @Test
    void resultsEqualTheSameComputationInJava() {
        List<Row> rows = PythonUdfs.mapInArrow(longs(100_000, 4), PLUS_ONE, XY).orderBy("x").collectAsList();
        assertEquals(100_000, rows.size());
        for (int i = 0; i < rows.size(); i++) {
            assertEquals((long) i, rows.get(i).getLong(0));
            assertEquals(i + 1L, rows.get(i).getLong(1));
        }
    }

    @Test
    void batchesHaveAtMostMaxRecordsPerBatchRows() throws Exception {
        SparkTests.withBatchSize(1000, () -> {
            PythonFunction sizes = py("""
                    import pyarrow as pa
                    def sizes(batches):
                        for b in batches:
                            yield pa.record_batch({"n": pa.array([b.num_rows], pa.int64())})
                    """);
            List<Row> rows = PythonUdfs.mapInArrow(longs(10_000, 2), sizes, new StructType().add("n", DataTypes.LongType))
                    .collectAsList();
            assertEquals(10, rows.size());
            rows.forEach(r -> assertEquals(1000L, r.getLong(0)));
        });
    }

    @Test
    void emptyPartitionsGiveNoRowsAndTheOthersAllTheirs() {
        assertEquals(0, PythonUdfs.mapInArrow(longs(100, 4).filter(col("x").lt(0)), PLUS_ONE, XY).count());
        List<Row> rows = PythonUdfs.mapInArrow(longs(3, 8), PLUS_ONE, XY).orderBy("x").collectAsList();
        assertEquals(List.of(Row.fromSeq(seq(0L, 1L)), Row.fromSeq(seq(1L, 2L)), Row.fromSeq(seq(2L, 3L))), rows);
    }

    @Test
    void aFunctionMayTakeSeveralBatchesPerOutputOrYieldSeveralPerInput() throws Exception {
        SparkTests.withBatchSize(100, () -> {
            PythonFunction pairs = py("""
                    import pyarrow as pa, pyarrow.compute as pc
                    def pairs(batches):
                        it = iter(batches)
                        for a in it:
                            b = next(it, None)
                            total = pc.sum(a["x"]).as_py() + (pc.sum(b["x"]).as_py() if b is not None else 0)
                            for part in (total, 0):
                                yield pa.record_batch({"s": pa.array([part], pa.int64())})
                    """);
            Row sum = PythonUdfs.mapInArrow(longs(10_000, 3), pairs, new StructType().add("s", DataTypes.LongType))
                    .agg(org.apache.spark.sql.functions.sum("s"), org.apache.spark.sql.functions.count("s")).first();
            assertEquals(LongStream.range(0, 10_000).sum(), sum.getLong(0));
            assertTrue(sum.getLong(1) >= 100, "two outputs for every two inputs: " + sum.getLong(1));
        });
    }

    @Test
    void aRaisingFunctionFailsTheJobWithThePythonTraceback() {
        PythonFunction raising = py("""
                def raising(batches):
                    for b in batches:
                        raise ValueError("no batch of %d rows is welcome" % b.num_rows)
                        yield b
                """);
        SparkException e = assertThrows(SparkException.class, () -> PythonUdfs.mapInArrow(longs(10, 1), raising, XY).collect());
        String all = messages(e);
        assertTrue(all.contains("ValueError: no batch of 10 rows is welcome"), all);
        assertTrue(all.contains("mapInArrow function 'raising'"), all);
        assertTrue(all.contains("raise ValueError(\"no batch of %d rows is welcome\" % b.num_rows)"), "the traceback shows the line: " + all);
    }

    @Test
    void aBatchWithOtherColumnsThanDeclaredIsAClearError() {
        PythonFunction wrong = py("""
                import pyarrow as pa
                def wrong(batches):
                    for b in batches:
                        yield pa.record_batch({"z": b["x"]})
                """);
        SparkException e = assertThrows(SparkException.class, () -> PythonUdfs.mapInArrow(longs(10, 1), wrong, XY).collect());
        String all = messages(e);
        assertTrue(all.contains("mapInArrow function 'wrong' returned a batch with columns [z: int64] but the declared schema "
                + "has [x: int64, y: int64]"), all);
    }

    @Test
    void aTypeThatCannotBeCastIsAClearErrorAndOneThatCanIsCast() {
        PythonFunction strings = py("""
                import pyarrow as pa
                def strings(batches):
                    for b in batches:
                        yield pa.record_batch({"x": b["x"], "y": pa.array(["a"] * b.num_rows)})
                """);
        SparkException e = assertThrows(SparkException.class, () -> PythonUdfs.mapInArrow(longs(10, 1), strings, XY).collect());
        assertTrue(messages(e).contains("returned y: string where the declared schema has y: int64, and it cannot be cast"), messages(e));

        PythonFunction int32 = py("""
                import pyarrow as pa
                def int32(batches):
                    for b in batches:
                        yield pa.record_batch({"x": b["x"], "y": b["x"].cast(pa.int32())})
                """);
        assertEquals(LongStream.range(0, 10).sum(),
                PythonUdfs.mapInArrow(longs(10, 1), int32, XY).agg(org.apache.spark.sql.functions.sum("y")).first().getLong(0));
    }

    @Test
    void aFailedTaskIsRetriedAndTheRetrySucceeds(CPython python) {
        python.exec("import sys; sys._panamapy_retry_attempts = 0");
        PythonFunction flaky = py("""
                import sys
                def flaky(batches):
                    sys._panamapy_retry_attempts += 1
                    if sys._panamapy_retry_attempts == 1:
                        raise RuntimeError("the first attempt fails")
                    yield from batches
                """);
        StructType x = new StructType().add("x", DataTypes.LongType);
        assertEquals(LongStream.range(0, 1000).sum(),
                PythonUdfs.mapInArrow(longs(1000, 1), flaky, x).agg(org.apache.spark.sql.functions.sum("x")).first().getLong(0));
        assertEquals(2, python.eval("__import__('sys')._panamapy_retry_attempts").asLong());
    }

    @Test
    void manyConcurrentTasksShareTheInterpreterAndAllAnswerRight() throws Exception {
        SparkTests.withBatchSize(500, () -> {
            Dataset<Row> out = PythonUdfs.mapInArrow(longs(200_000, 64), PLUS_ONE, XY);
            Row r = out.agg(org.apache.spark.sql.functions.sum("y"), org.apache.spark.sql.functions.count("y")).first();
            assertEquals(LongStream.range(1, 200_001).sum(), r.getLong(0));
            assertEquals(200_000L, r.getLong(1));
        });
    }

    @Test
    @RequiresPythonPackage("pandas")
    void aFunctionMayYieldPandasDataFrames() {
        PythonFunction viaPandas = py("""
                def via_pandas(batches):
                    for b in batches:
                        df = b.to_pandas()
                        df["y"] = df["x"] * 3
                        yield df
                """);
        assertEquals(LongStream.range(0, 5000).map(v -> v * 3).sum(),
                PythonUdfs.mapInArrow(longs(5000, 2), viaPandas, XY).agg(org.apache.spark.sql.functions.sum("y")).first().getLong(0));
    }

    /**
     * A function that collects its whole partition makes Python pull the batches, and Spark's
     * upstream (here a Java UDF that waits for Python run by another thread, as a source or UDF
     * waiting on another task's output does) runs inside that pull. It must run with the GIL let
     * go: before, the other thread waited for the GIL the task thread held, and the wait timed out.
     */
    @Test
    void anUpstreamWaitingForAnotherThreadsPythonDoesNotDeadlockACollectingFunction() throws Exception {
        PythonFunction collectAll = py("""
                import pyarrow as pa
                def collect_all(batches):
                    t = pa.Table.from_batches(list(batches))
                    yield pa.record_batch({"n": pa.array([t.num_rows], pa.int64()), "s": pa.array([pa.compute.sum(t["x"]).as_py()], pa.int64())})
                """);
        org.apache.spark.sql.expressions.UserDefinedFunction waitsForPython = org.apache.spark.sql.functions.udf(
                (org.apache.spark.sql.api.java.UDF1<Long, Long>) x -> {
                    if (x % 25 != 0) return x;
                    java.util.concurrent.CompletableFuture<Long> other = new java.util.concurrent.CompletableFuture<>();
                    Thread.ofPlatform().start(() -> {
                        try (dev.panamapy.PyObject r = CPython.running().orElseThrow().eval(x + " * 0")) {
                            other.complete(r.asLong());
                        } catch (Throwable t) {
                            other.completeExceptionally(t);
                        }
                    });
                    return x + other.get(30, java.util.concurrent.TimeUnit.SECONDS);
                }, DataTypes.LongType);
        SparkTests.withBatchSize(10, () -> {
            Row r = PythonUdfs.mapInArrow(longs(200, 1).select(waitsForPython.apply(col("x")).as("x")), collectAll,
                    new StructType().add("n", DataTypes.LongType).add("s", DataTypes.LongType)).first();
            assertEquals(200L, r.getLong(0));
            assertEquals(LongStream.range(0, 200).sum(), r.getLong(1));
        });
    }

    static scala.collection.immutable.Seq<Object> seq(Object... values) {
        return scala.jdk.javaapi.CollectionConverters.asScala(List.of(values)).toList();
    }
}
