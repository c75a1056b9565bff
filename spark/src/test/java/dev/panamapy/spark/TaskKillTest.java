package dev.panamapy.spark;

import dev.panamapy.CPython;
import dev.panamapy.testing.RequiresPythonPackage;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.util.ArrowUtils;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static dev.panamapy.spark.SparkTests.messages;
import static dev.panamapy.spark.SparkTests.py;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A cancelled job's tasks stop at the next batch and release every batch they held. */
@RequiresPythonPackage("pyarrow")
class TaskKillTest {

    private static SparkSession spark;

    @BeforeAll
    static void session() {
        spark = SparkTests.session();
    }

    @Test
    void cancellingAJobStopsItsTasksAndReleasesTheirBatches(CPython python) throws Exception {
        python.exec("import sys; sys._panamapy_kill_batches = 0");
        long before = ArrowUtils.rootAllocator().getAllocatedMemory();
        SparkTests.withBatchSize(100, () -> {
            CompletableFuture<Long> job = CompletableFuture.supplyAsync(() -> {
                spark.sparkContext().setJobGroup("panamapy-kill", "a job to cancel", true);
                try {
                    return PythonUdfs.mapInArrow(spark.range(0, 10_000_000, 1, 2).toDF("x"), py("""
                            import sys, time
                            def slow(batches):
                                for b in batches:
                                    sys._panamapy_kill_batches += 1
                                    time.sleep(0.01)
                                    yield b
                            """), new StructType().add("x", DataTypes.LongType)).count();
                } finally {
                    spark.sparkContext().clearJobGroup();
                }
            });
            while (!job.isDone() && python.eval("__import__('sys')._panamapy_kill_batches").asLong() < 4) Thread.sleep(20);
            spark.sparkContext().cancelJobGroup("panamapy-kill");
            ExecutionException e = assertThrows(ExecutionException.class, () -> job.get(2, TimeUnit.MINUTES));
            assertTrue(messages(e).contains("cancel"), messages(e));
            long seen = python.eval("__import__('sys')._panamapy_kill_batches").asLong();
            assertTrue(seen < 100_000, "the tasks stopped long before their 100,000 batches: " + seen);
            long left = ArrowUtils.rootAllocator().getAllocatedMemory();
            for (int i = 0; i < 500 && left != before; i++) {   // the killed tasks' completion listeners run as they wind down
                Thread.sleep(20);
                left = ArrowUtils.rootAllocator().getAllocatedMemory();
            }
            assertEquals(before, left, "Arrow memory of the killed tasks is released");
        });
    }
}
