package dev.panamapy.spark;

import dev.panamapy.testing.RequiresPythonPackage;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.util.ArrowUtils;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static dev.panamapy.spark.SparkTests.py;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.sum;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Many rows through Python: {@code -Dpanamapy.spark.rows} (the POM's default is CI-sized, 1M;
 * 10000000 for the 10M run), and afterwards no Arrow memory left allocated.
 */
@RequiresPythonPackage("pyarrow")
class VolumeTest {

    private static final long ROWS = Long.getLong("panamapy.spark.rows", 1_000_000L);

    private static SparkSession spark;

    @BeforeAll
    static void session() {
        spark = SparkTests.session();
    }

    @Test
    void manyRowsThroughMapInArrowSumAsInJavaAndLeaveNoArrowMemory() {
        long before = ArrowUtils.rootAllocator().getAllocatedMemory();
        StructType out = new StructType().add("y", DataTypes.LongType).add("z", DataTypes.DoubleType);
        Row r = PythonUdfs.mapInArrow(spark.range(0, ROWS, 1, 4).toDF("x"), py("""
                import pyarrow as pa, pyarrow.compute as pc
                def scale(batches):
                    for b in batches:
                        yield pa.record_batch({"y": pc.add(b["x"], 1), "z": pc.multiply(b["x"], 0.5)})
                """), out).agg(sum("y"), sum("z"), count("y")).first();
        assertEquals(ROWS * (ROWS + 1) / 2, r.getLong(0));
        assertEquals((ROWS - 1) * ROWS / 4.0, r.getDouble(1), 1e-6 * ROWS * ROWS);
        assertEquals(ROWS, r.getLong(2));
        assertEquals(before, ArrowUtils.rootAllocator().getAllocatedMemory(), "Arrow memory still allocated after the job");
    }

    @Test
    void manyRowsThroughAScalarUdfInSqlSumAsInJava() {
        PythonUdfs.register(spark, "twice", py("""
                import pyarrow.compute as pc
                def twice(x):
                    return pc.multiply(x, 2)
                """), DataTypes.LongType);
        spark.range(0, ROWS, 1, 4).toDF("x").createOrReplaceTempView("volume");
        assertEquals(ROWS * (ROWS - 1), spark.sql("SELECT sum(twice(x)) FROM volume").first().getLong(0));
    }
}
