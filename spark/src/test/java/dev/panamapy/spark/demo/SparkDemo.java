package dev.panamapy.spark.demo;

import dev.panamapy.spark.PythonFunction;
import dev.panamapy.spark.PythonUdfs;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.util.List;

import static org.apache.spark.sql.functions.avg;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.stddev_samp;

/**
 * scripts/spark-demo: a Java Spark job whose per-group statistics and a column conversion are
 * pandas code, run inside the executor's JVM on Arrow batches (no Python worker processes), then
 * checked against the same computation in Spark's Java engine. Argument: [rows].
 */
public final class SparkDemo {

    private SparkDemo() { }

    public static void main(String[] args) {
        long rows = args.length > 0 ? Long.parseLong(args[0]) : 3_000_000L;
        SparkSession spark = SparkSession.builder().master("local[2]").appName("panamapy-spark-demo")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "4")
                .config("spark.panamapy.python", System.getProperty("panamapy.python", "")).getOrCreate();
        Dataset<Row> readings = spark.range(0, rows, 1, 4)
                .selectExpr("id % 50 AS sensor", "CAST(20 + (id * 7919 % 1000) / 50.0 AS DOUBLE) AS celsius").cache();
        readings.count();
        readings.createOrReplaceTempView("readings");

        // 1. a grouped pandas function: per sensor, mean / standard deviation / count
        StructType statsSchema = new StructType().add("sensor", DataTypes.LongType).add("mean", DataTypes.DoubleType)
                .add("std", DataTypes.DoubleType).add("n", DataTypes.LongType);
        PythonFunction stats = PythonFunction.fromSource("""
                import pandas as pd
                def stats(key, table):
                    df = table.to_pandas()
                    return pd.DataFrame({"sensor": [key[0]], "mean": [df.celsius.mean()],
                                         "std": [df.celsius.std()], "n": [len(df)]})
                """, "stats");
        long t0 = System.nanoTime();
        List<Row> py = PythonUdfs.applyInArrow(readings, new String[] {"sensor"}, stats, statsSchema).orderBy("sensor").collectAsList();
        long t1 = System.nanoTime();
        List<Row> java = readings.groupBy("sensor").agg(avg("celsius"), stddev_samp("celsius"), count("celsius"))
                .orderBy("sensor").collectAsList();
        long t2 = System.nanoTime();
        double worst = 0;
        for (int i = 0; i < py.size(); i++) {
            worst = Math.max(worst, Math.abs(py.get(i).getDouble(1) - java.get(i).getDouble(1)));
            worst = Math.max(worst, Math.abs(py.get(i).getDouble(2) - java.get(i).getDouble(2)));
            if (py.get(i).getLong(3) != java.get(i).getLong(3)) throw new AssertionError("counts differ: " + py.get(i) + " " + java.get(i));
        }
        System.out.printf("%,d readings, 50 sensors, local[2]%n%n", rows);
        System.out.println("pandas per sensor (applyInArrow), first rows:");
        for (Row r : py.subList(0, 5)) System.out.printf("  sensor %2d  mean %.4f  std %.4f  n %,d%n", r.getLong(0), r.getDouble(1), r.getDouble(2), r.getLong(3));
        System.out.printf("  pandas in-process %.2f s, Spark's Java groupBy %.2f s; largest difference %.2e%n%n", (t1 - t0) / 1e9,
                (t2 - t1) / 1e9, worst);

        // 2. a scalar pandas UDF used in SQL
        PythonUdfs.register(spark, "fahrenheit", PythonFunction.fromSource("""
                def fahrenheit(celsius):
                    s = celsius.to_pandas()
                    return s * 9 / 5 + 32
                """, "fahrenheit"), DataTypes.DoubleType);
        long t3 = System.nanoTime();
        double viaPandas = spark.sql("SELECT avg(fahrenheit(celsius)) FROM readings").first().getDouble(0);
        long t4 = System.nanoTime();
        double viaJava = spark.sql("SELECT avg(celsius * 9 / 5 + 32) FROM readings").first().getDouble(0);
        long t5 = System.nanoTime();
        System.out.printf("SELECT avg(fahrenheit(celsius)) FROM readings  -- a pandas UDF in SQL%n  %.6f (pandas, %.2f s)  %.6f (Java, %.2f s)%n",
                viaPandas, (t4 - t3) / 1e9, viaJava, (t5 - t4) / 1e9);
        boolean ok = worst < 1e-9 && Math.abs(viaPandas - viaJava) < 1e-9;
        System.out.println(ok ? "\nOK: the pandas results equal Spark's own" : "\nMISMATCH");
        spark.stop();
        if (!ok) System.exit(1);
    }
}
