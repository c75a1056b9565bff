package dev.panamapy.spark;

import dev.panamapy.spark.bench.SparkBench;
import dev.panamapy.testing.RequiresPythonPackage;
import org.apache.spark.SparkException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static dev.panamapy.spark.SparkTests.messages;
import static dev.panamapy.spark.SparkTests.py;
import static org.apache.spark.sql.functions.sum;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The benchmark's out-of-process baseline (b) computes what the in-process path does. */
@RequiresPythonPackage("pyarrow")
class IpcBaselineTest {

    private static SparkSession spark;

    @BeforeAll
    static void session() {
        spark = SparkTests.session();
    }

    @Test
    void theIpcWorkerGivesTheSameAnswerAsInProcess() {
        Dataset<Row> longs = spark.range(0, 100_000, 1, 3).toDF("x");
        long expected = 100_000L * 99_999 / 2 + 100_000;
        assertEquals(expected, SparkBench.ipc(longs, SparkBench.PLUS_ONE, SparkBench.XY, null).agg(sum("y")).first().getLong(0));
        assertEquals(expected, PythonUdfs.mapInArrow(longs, SparkBench.PLUS_ONE, SparkBench.XY).agg(sum("y")).first().getLong(0));
    }

    @Test
    void aPythonErrorInTheWorkerFailsTheJobWithItsTraceback() {
        SparkException e = assertThrows(SparkException.class, () -> SparkBench.ipc(spark.range(10).toDF("x"), py("""
                def bad(batches):
                    raise KeyError("worker")
                """), SparkBench.XY, null).collect());
        assertTrue(messages(e).contains("KeyError: 'worker'"), messages(e));
    }
}
