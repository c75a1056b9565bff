package dev.panamapy.spark.bench;

import dev.panamapy.spark.PythonFunction;
import dev.panamapy.spark.PythonUdfs;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.List;

/**
 * Runs mapInArrow on {@code local-cluster[2,1,1024]} (two executor JVMs started by an in-process
 * standalone master and workers) and prints which executor processes ran Python. The executors get
 * this JVM's class path (spark.executor.extraClassPath). Needs the environment a Spark
 * distribution's scripts would set: SPARK_HOME (a directory with a RELEASE file and a jars/
 * directory, which may be empty) and SPARK_SCALA_VERSION=2.13 (LocalClusterTest sets both).
 */
public final class LocalClusterProbe {

    private LocalClusterProbe() { }

    public static void main(String[] args) {
        String flags = System.getProperty("spark.jvm.flags", "");
        SparkSession spark = SparkSession.builder().master("local-cluster[2,1,1024]").appName("panamapy-local-cluster")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.executor.extraJavaOptions", flags + " -Dpanamapy.python=" + System.getProperty("panamapy.python", ""))
                .config("spark.executor.extraClassPath", System.getProperty("java.class.path"))
                .config("spark.panamapy.python", System.getProperty("panamapy.python", ""))
                .getOrCreate();
        StructType out = new StructType().add("pid", DataTypes.LongType).add("n", DataTypes.LongType).add("s", DataTypes.LongType);
        List<Row> rows = PythonUdfs.mapInArrow(spark.range(0, 1_000_000, 1, 8).toDF("x"), PythonFunction.fromSource("""
                import os, pyarrow as pa, pyarrow.compute as pc
                def where(batches):
                    for b in batches:
                        yield pa.record_batch({"pid": [os.getpid()], "n": [b.num_rows], "s": [pc.sum(b["x"]).as_py()]})
                """, "where"), out).groupBy("pid").agg(org.apache.spark.sql.functions.sum("n"), org.apache.spark.sql.functions.sum("s"))
                .collectAsList();
        long total = 0;
        for (Row r : rows) {
            System.out.printf("executor process %d: %,d rows through its embedded CPython%n", r.getLong(0), r.getLong(1));
            total += r.getLong(2);
        }
        System.out.printf("%d executor JVMs ran Python; sum %d (expected %d), driver pid %d%n", rows.size(), total,
                999_999L * 1_000_000 / 2, ProcessHandle.current().pid());
        spark.stop();
    }
}
