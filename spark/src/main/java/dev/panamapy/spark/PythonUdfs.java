package dev.panamapy.spark;

import dev.panamapy.spark.internal.ArrowSettings;
import dev.panamapy.spark.internal.MapInArrowTask;
import dev.panamapy.spark.internal.ScalarUdfs;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.Column;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.StructType;

import java.util.Arrays;
import java.util.Objects;

/**
 * Python UDFs for Java (and Scala) Spark applications, run in each executor JVM's embedded
 * CPython on the partition's Arrow batches, without copying them: the forms PySpark offers
 * ({@code mapInArrow}, {@code groupBy(..).applyInArrow}, scalar Arrow UDFs), with no Python worker
 * processes and no serialization.
 *
 * <pre>{@code
 * StructType out = new StructType().add("id", DataTypes.LongType).add("y", DataTypes.DoubleType);
 * Dataset<Row> scored = PythonUdfs.mapInArrow(df, PythonFunction.fromSource("""
 *         import pyarrow as pa, pyarrow.compute as pc
 *         def score(batches):
 *             for b in batches:
 *                 yield pa.record_batch({"id": b["id"], "y": pc.multiply(b["x"], 2.0)})
 *         """, "score"), out);
 * }</pre>
 *
 * <p><b>On the executors.</b> Each executor JVM starts one CPython, with the first task that
 * needs it, from {@code spark.panamapy.python} (the Python executable on the workers; default:
 * {@code -Dpanamapy.python}, {@code PANAMAPY_PYTHON}, {@code python3} on the PATH) and shares it
 * among its task threads; each call into Python takes the GIL. That Python needs pyarrow (and
 * whatever the functions import). Rows become Arrow batches through Spark's own Arrow writer, at
 * most {@code spark.sql.execution.arrow.maxRecordsPerBatch} rows each; Python reads them in
 * place, and the batches it returns are read by Spark in place, as columnar batches.
 *
 * <p><b>Errors.</b> A Python exception fails the task with a {@link PythonUdfException} carrying
 * the Python traceback (Spark retries the task as for any failure, then fails the job with that
 * message). Output that does not match the declared schema fails the same way, saying which
 * columns differ; a differing type that can be cast safely is cast. A killed task stops at the
 * next batch and releases its batches.
 *
 * <p>The JVMs need {@code --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow
 * --add-opens=java.base/java.nio=ALL-UNNAMED} besides Spark's own flags (see docs/spark.md).
 */
public final class PythonUdfs {

    private PythonUdfs() { }

    /**
     * Like PySpark's {@code DataFrame.mapInArrow}: {@code fn} is called once per partition with an
     * iterator of {@code pyarrow.RecordBatch} (the partition's rows, in batches) and yields
     * batches (or tables, or pandas DataFrames) with the columns of {@code outSchema}.
     *
     * @param in        the input (any Dataset of this session)
     * @param fn        {@code def f(batches): ... yield batch}
     * @param outSchema the columns it yields, in order
     * @return a Dataset of {@code outSchema}; nothing runs until an action
     * @throws IllegalArgumentException if {@code in} is not a classic (non-Connect) Dataset
     * @throws NullPointerException     if an argument is null
     */
    public static Dataset<Row> mapInArrow(Dataset<Row> in, PythonFunction fn, StructType outSchema) {
        Objects.requireNonNull(in, "in");
        Objects.requireNonNull(fn, "fn");
        Objects.requireNonNull(outSchema, "outSchema");
        return run(in, new MapInArrowTask(fn, in.schema(), outSchema, null, ArrowSettings.of(in.sparkSession())), outSchema);
    }

    /**
     * Like PySpark's {@code groupBy(keys).applyInArrow}: the rows are grouped by the {@code keys}
     * columns and {@code fn} is called once per group with the group as a {@code pyarrow.Table}
     * (all of the input's columns), or, if it takes two arguments, with the group's key (a tuple
     * of Python values) and the table. It returns a table (or batch, or pandas DataFrame) with
     * the columns of {@code outSchema}. A group is one Arrow batch, however large.
     *
     * @param in        the input
     * @param keys      the grouping columns, by name (at least one)
     * @param fn        {@code def f(table): ... return table} or {@code def f(key, table)}
     * @param outSchema the columns it returns, in order
     * @return a Dataset of {@code outSchema}; nothing runs until an action
     * @throws IllegalArgumentException if there are no keys, a key is not a column of {@code in},
     *                                  or {@code in} is not a classic (non-Connect) Dataset
     * @throws NullPointerException     if an argument is null
     */
    public static Dataset<Row> applyInArrow(Dataset<Row> in, String[] keys, PythonFunction fn, StructType outSchema) {
        Objects.requireNonNull(in, "in");
        Objects.requireNonNull(keys, "keys");
        Objects.requireNonNull(fn, "fn");
        Objects.requireNonNull(outSchema, "outSchema");
        if (keys.length == 0) throw new IllegalArgumentException("applyInArrow needs at least one grouping column");
        StructType schema = in.schema();
        int[] ordinals = new int[keys.length];
        Column[] columns = new Column[keys.length];
        for (int i = 0; i < keys.length; i++) {
            int k = Arrays.asList(schema.fieldNames()).indexOf(keys[i]);
            if (k < 0) {
                throw new IllegalArgumentException("applyInArrow: '" + keys[i] + "' is not a column of the input (its columns: "
                        + String.join(", ", schema.fieldNames()) + ")");
            }
            ordinals[i] = k;
            columns[i] = functions.col(keys[i]);
        }
        Dataset<Row> clustered = in.repartition(columns).sortWithinPartitions(columns);
        return run(clustered, new MapInArrowTask(fn, schema, outSchema, ordinals, ArrowSettings.of(in.sparkSession())), outSchema);
    }

    /**
     * Registers a scalar vectorized Python UDF under {@code name}, usable in Spark SQL
     * ({@code SELECT name(x) FROM t}) and, through the returned object, in the Dataset API. The
     * function gets one {@code pyarrow.Array} per argument (a batch's worth of rows) and returns
     * an array as long (or a pandas Series) of {@code returnType}; a different type that can be
     * cast safely is cast. Registering again under the same name replaces the function.
     *
     * <p>It also installs, once per session, the planner strategy that runs these UDFs in-process
     * (the same as {@code spark.sql.extensions=dev.panamapy.spark.PanamapyExtensions}).
     *
     * @param spark      the session to register it in
     * @param name       the SQL function name
     * @param fn         {@code def f(a, b, ...): return array}
     * @param returnType the Spark type of its result
     * @return the UDF, to apply to columns
     * @throws NullPointerException if an argument is null
     */
    public static PythonScalarUdf register(SparkSession spark, String name, PythonFunction fn, DataType returnType) {
        Objects.requireNonNull(spark, "spark");
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(fn, "fn");
        Objects.requireNonNull(returnType, "returnType");
        return new PythonScalarUdf(ScalarUdfs.register(spark, name, fn, returnType));
    }

    private static Dataset<Row> run(Dataset<Row> in, MapInArrowTask task, StructType outSchema) {
        if (!(in instanceof org.apache.spark.sql.classic.Dataset<Row> ds)) {
            throw new IllegalArgumentException("Python UDFs run in the executors of a classic SparkSession; this Dataset is a "
                    + in.getClass().getName() + " (Spark Connect clients cannot run them)");
        }
        RDD<InternalRow> out = ds.queryExecution().toRdd().toJavaRDD().mapPartitions(task).rdd();
        return ds.sparkSession().internalCreateDataFrame(out, outSchema, false);
    }
}
