package dev.panamapy.spark.bench;

import dev.panamapy.spark.PythonFunction;
import dev.panamapy.spark.PythonUdfs;
import dev.panamapy.spark.internal.ArrowSettings;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.api.java.UDF1;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;

import static org.apache.spark.sql.functions.avg;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.length;
import static org.apache.spark.sql.functions.sum;

/**
 * scripts/spark-bench: the same UDFs over the same rows, (a) in-process through panamapy-spark,
 * (b) through an out-of-process Python worker fed Arrow IPC over a pipe (what PySpark does), (c)
 * as a Java UDF (the ceiling), in one run and one local[2] session; ratios are of that run.
 * Arguments: [rows] [reps] [output directory].
 */
public final class SparkBench {

    public static final StructType XY = new StructType().add("x", DataTypes.LongType).add("y", DataTypes.LongType);
    private static final StructType KM = new StructType().add("k", DataTypes.LongType).add("mean", DataTypes.DoubleType);
    private static final StructType SU = new StructType().add("u", DataTypes.StringType);

    public static final PythonFunction PLUS_ONE = PythonFunction.fromSource("""
            import pyarrow as pa, pyarrow.compute as pc
            def plus_one(batches):
                for b in batches:
                    yield pa.record_batch([b["x"], pc.add(b["x"], 1)], names=["x", "y"])
            """, "plus_one");
    public static final PythonFunction PLUS_ONE_SCALAR = PythonFunction.fromSource("""
            import pyarrow.compute as pc
            def plus_one(x):
                return pc.add(x, 1)
            """, "plus_one");
    public static final PythonFunction GROUP_MEAN = PythonFunction.fromSource("""
            import pandas as pd
            def group_mean(key, table):
                df = table.to_pandas()
                return pd.DataFrame({"k": [key[0]], "mean": [df["v"].mean()]})
            """, "group_mean");
    public static final PythonFunction UPPER = PythonFunction.fromSource("""
            import pyarrow as pa, pyarrow.compute as pc
            def upper(batches):
                for b in batches:
                    yield pa.record_batch([pc.utf8_upper(b["s"])], names=["u"])
            """, "upper");

    private SparkBench() { }

    public static void main(String[] args) throws IOException {
        long rows = args.length > 0 ? Long.parseLong(args[0]) : 2_000_000L;
        int reps = args.length > 1 ? Integer.parseInt(args[1]) : 3;
        Path outDir = Path.of(args.length > 2 ? args[2] : "target/spark-bench");
        Files.createDirectories(outDir);
        SparkSession spark = SparkSession.builder().master("local[2]").appName("panamapy-spark-bench")
                .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
                .config("spark.sql.adaptive.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.panamapy.python", System.getProperty("panamapy.python", "")).getOrCreate();
        spark.udf().register("plus_one_java", (UDF1<Long, Long>) x -> x + 1, DataTypes.LongType);
        spark.udf().register("upper_java", (UDF1<String, String>) s -> s.toUpperCase(Locale.ROOT), DataTypes.StringType);
        PythonUdfs.register(spark, "plus_one_py", PLUS_ONE_SCALAR, DataTypes.LongType);

        int partitions = 4;
        Dataset<Row> longs = spark.range(0, rows, 1, partitions).toDF("x").cache();
        long check = longs.count();
        Dataset<Row> keyed = spark.range(0, rows, 1, partitions).selectExpr("id % 1000 AS k", "CAST(id AS DOUBLE) * 0.5 AS v").cache();
        keyed.count();
        Dataset<Row> strings = spark.range(0, rows, 1, partitions).selectExpr("concat('row-', CAST(id AS STRING), '-abc') AS s").cache();
        strings.count();
        longs.createOrReplaceTempView("longs");
        System.out.printf("rows: %,d (%d partitions, local[2]), reps: %d (best of), batch: %s rows%n", check, partitions, reps,
                spark.conf().get("spark.sql.execution.arrow.maxRecordsPerBatch"));

        List<String[]> table = new ArrayList<>();
        long expected = rows * (rows + 1) / 2;
        // light UDF: x + 1
        double a = time(reps, () -> PythonUdfs.mapInArrow(longs, PLUS_ONE, XY).agg(sum("y")).first().getLong(0), expected);
        double a2 = time(reps, () -> spark.sql("SELECT sum(plus_one_py(x)) FROM longs").first().getLong(0), expected);
        double b = time(reps, () -> ipc(longs, PLUS_ONE, XY, null).agg(sum("y")).first().getLong(0), expected);
        double c = time(reps, () -> spark.sql("SELECT sum(plus_one_java(x)) FROM longs").first().getLong(0), expected);
        table.add(row("light: pc.add(x, 1), mapInArrow", rows, a, b, c));
        table.add(row("light: pc.add(x, 1), scalar UDF in SQL", rows, a2, b, c));
        // pandas groupby-mean
        double ga = time(reps, () -> (long) PythonUdfs.applyInArrow(keyed, new String[] {"k"}, GROUP_MEAN, KM).agg(sum("mean")).first().getDouble(0), -1);
        double gb = time(reps, () -> (long) ipc(keyed, GROUP_MEAN, KM, new int[] {0}).agg(sum("mean")).first().getDouble(0), -1);
        double gc = time(reps, () -> (long) keyed.groupBy("k").agg(avg("v").as("mean")).agg(sum("mean")).first().getDouble(0), -1);
        table.add(row("pandas groupby-mean (applyInArrow; Java: groupBy.avg)", rows, ga, gb, gc));
        // string UDF
        long chars = strings.agg(sum(length(col("s")))).first().getLong(0);
        double sa = time(reps, () -> PythonUdfs.mapInArrow(strings, UPPER, SU).agg(sum(length(col("u")))).first().getLong(0), chars);
        double sb = time(reps, () -> ipc(strings, UPPER, SU, null).agg(sum(length(col("u")))).first().getLong(0), chars);
        double sc = time(reps, () -> strings.selectExpr("upper_java(s) AS u").agg(sum(length(col("u")))).first().getLong(0), chars);
        table.add(row("string: utf8_upper(s), mapInArrow", rows, sa, sb, sc));

        StringBuilder md = new StringBuilder();
        md.append(String.format("%,d rows, %d partitions, local[2] on %d cores, best of %d; rows/s (millions)%n%n", rows, partitions,
                Runtime.getRuntime().availableProcessors(), reps));
        md.append("| UDF | (a) in-process | (b) IPC worker | (c) Java | a/b | a/c |\n| --- | ---: | ---: | ---: | ---: | ---: |\n");
        for (String[] r : table) md.append("| ").append(String.join(" | ", r)).append(" |\n");

        // rows/s against batch size, light UDF
        md.append("\nrows/s (millions) against spark.sql.execution.arrow.maxRecordsPerBatch, light UDF (mapInArrow)\n\n");
        md.append("| batch rows | (a) in-process | (b) IPC worker | a/b |\n| ---: | ---: | ---: | ---: |\n");
        for (int batch : new int[] {100, 1_000, 10_000, 100_000}) {
            spark.conf().set("spark.sql.execution.arrow.maxRecordsPerBatch", Integer.toString(batch));
            double ba = time(reps, () -> PythonUdfs.mapInArrow(longs, PLUS_ONE, XY).agg(sum("y")).first().getLong(0), expected);
            double bb = time(reps, () -> ipc(longs, PLUS_ONE, XY, null).agg(sum("y")).first().getLong(0), expected);
            md.append(String.format("| %,d | %.2f | %.2f | %.2f |%n", batch, rows / ba / 1e6, rows / bb / 1e6, bb / ba));
        }
        spark.conf().unset("spark.sql.execution.arrow.maxRecordsPerBatch");
        Files.writeString(outDir.resolve("spark-bench.md"), md);
        System.out.println();
        System.out.print(md);
        System.out.println("\n(written to " + outDir.resolve("spark-bench.md") + ")");
        spark.stop();
    }

    private static String[] row(String name, long rows, double a, double b, double c) {
        System.out.printf("  %s: a %.2f s, b %.2f s, c %.2f s%n", name, a, b, c);
        return new String[] {name, String.format("%.2f", rows / a / 1e6), String.format("%.2f", rows / b / 1e6),
                String.format("%.2f", rows / c / 1e6), String.format("%.2f", b / a), String.format("%.2f", c / a)};
    }

    /** Best wall time in seconds of {@code reps} runs (after one warm-up), checking the answer. */
    private static double time(int reps, Supplier<Long> run, long expected) {
        long got = run.get();
        if (expected >= 0 && got != expected) throw new AssertionError("wrong answer: " + got + ", expected " + expected);
        double best = Double.MAX_VALUE;
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            run.get();
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        }
        return best;
    }

    /** Baseline (b): the same function through the IPC worker. */
    public static Dataset<Row> ipc(Dataset<Row> in, PythonFunction fn, StructType out, int[] keys) {
        Dataset<Row> input = in;
        if (keys != null) {
            String[] names = Arrays.stream(keys).mapToObj(k -> in.schema().fields()[k].name()).toArray(String[]::new);
            input = in.repartition(Arrays.stream(names).map(org.apache.spark.sql.functions::col).toArray(org.apache.spark.sql.Column[]::new))
                    .sortWithinPartitions(names[0], Arrays.copyOfRange(names, 1, names.length));
        }
        org.apache.spark.sql.classic.Dataset<Row> ds = (org.apache.spark.sql.classic.Dataset<Row>) input;
        ArrowSettings settings = ArrowSettings.of(in.sparkSession());
        FlatMapFunction<java.util.Iterator<InternalRow>, InternalRow> task = new IpcMapInArrowTask(fn, in.schema(), out, keys, settings,
                settings.python());
        RDD<InternalRow> rdd = ds.queryExecution().toRdd().toJavaRDD().mapPartitions(task).rdd();
        return ds.sparkSession().internalCreateDataFrame(rdd, out, false);
    }

}
