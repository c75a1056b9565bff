package dev.panamapy.spark;

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

import static dev.panamapy.spark.SparkTests.messages;
import static dev.panamapy.spark.SparkTests.py;
import static org.apache.spark.sql.functions.avg;
import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.count;
import static org.apache.spark.sql.functions.pmod;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@RequiresPythonPackage("pyarrow")
class ApplyInArrowTest {

    private static final StructType MEANS = new StructType()
            .add("k", DataTypes.LongType).add("mean", DataTypes.DoubleType).add("n", DataTypes.LongType);

    private static SparkSession spark;

    @BeforeAll
    static void session() {
        spark = SparkTests.session();
    }

    private static Dataset<Row> keyed(long n) {
        return spark.range(0, n, 1, 3).select(pmod(col("id").multiply(7), org.apache.spark.sql.functions.lit(13)).as("k"),
                col("id").multiply(0.5).as("v"));
    }

    private static List<Row> javaMeans(Dataset<Row> in) {
        return in.groupBy("k").agg(avg("v").as("mean"), count("v").as("n")).orderBy("k").collectAsList();
    }

    @Test
    void eachGroupIsOneTableAndTheMeansEqualSparksOwn() {
        Dataset<Row> in = keyed(50_000);
        List<Row> out = PythonUdfs.applyInArrow(in, new String[] {"k"}, py("""
                import pyarrow as pa, pyarrow.compute as pc
                def mean(table):
                    return pa.table({"k": [table["k"][0].as_py()], "mean": [pc.mean(table["v"]).as_py()],
                                     "n": [table.num_rows]})
                """), MEANS).orderBy("k").collectAsList();
        assertEquals(javaMeans(in).toString(), out.toString());
    }

    @Test
    @RequiresPythonPackage("pandas")
    void aTwoArgumentFunctionGetsTheKeyAndMayUsePandas() {
        Dataset<Row> in = keyed(20_000);
        List<Row> out = PythonUdfs.applyInArrow(in, new String[] {"k"}, py("""
                import pandas as pd
                def pandas_mean(key, table):
                    df = table.to_pandas()
                    return pd.DataFrame({"k": [key[0]], "mean": [df["v"].mean()], "n": [len(df)]})
                """), MEANS).orderBy("k").collectAsList();
        List<Row> expected = javaMeans(in);
        assertEquals(expected.size(), out.size());
        for (int i = 0; i < out.size(); i++) {
            assertEquals(expected.get(i).getLong(0), out.get(i).getLong(0));
            assertEquals(expected.get(i).getDouble(1), out.get(i).getDouble(1), 1e-9);
            assertEquals(expected.get(i).getLong(2), out.get(i).getLong(2));
        }
    }

    @Test
    void groupingByTwoColumnsSeparatesEveryCombination() {
        Dataset<Row> in = spark.range(0, 1000, 1, 2).select(col("id").mod(2).as("a"), col("id").mod(3).as("b"));
        StructType counts = new StructType().add("a", DataTypes.LongType).add("b", DataTypes.LongType).add("n", DataTypes.LongType);
        List<Row> out = PythonUdfs.applyInArrow(in, new String[] {"a", "b"}, py("""
                import pyarrow as pa
                def size(key, table):
                    return pa.table({"a": [key[0]], "b": [key[1]], "n": [table.num_rows]})
                """), counts).orderBy("a", "b").collectAsList();
        assertEquals(in.groupBy("a", "b").count().orderBy("a", "b").collectAsList().toString(), out.toString());
    }

    @Test
    void anUnknownKeyIsRefusedBeforeAnythingRuns() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PythonUdfs.applyInArrow(keyed(10), new String[] {"nope"}, py("def f(t):\n    return t\n"), MEANS));
        assertEquals("applyInArrow: 'nope' is not a column of the input (its columns: k, v)", e.getMessage());
    }

    @Test
    void aFunctionReturningSomethingElseThanATableIsAClearError() {
        SparkException e = assertThrows(SparkException.class, () -> PythonUdfs.applyInArrow(keyed(100), new String[] {"k"},
                py("def number(table):\n    return 42\n"), MEANS).collect());
        assertTrue(messages(e).contains("applyInArrow function 'number' produced a int; it must give pyarrow.RecordBatch, "
                + "pyarrow.Table or pandas.DataFrame objects"), messages(e));
    }
}
