package dev.panamapy.spark;

import dev.panamapy.testing.RequiresPythonPackage;
import org.apache.spark.SparkException;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.panamapy.spark.SparkTests.messages;
import static dev.panamapy.spark.SparkTests.py;
import static org.apache.spark.sql.functions.col;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@RequiresPythonPackage("pyarrow")
class ScalarUdfTest {

    private static SparkSession spark;
    private static PythonScalarUdf plusOne;

    @BeforeAll
    static void session() {
        spark = SparkTests.session();
        plusOne = PythonUdfs.register(spark, "plus_one", py("""
                import pyarrow.compute as pc
                def plus_one(x):
                    return pc.add(x, 1)
                """), DataTypes.LongType);
        PythonUdfs.register(spark, "shout", py("""
                import pyarrow.compute as pc
                def shout(s):
                    return pc.binary_join_element_wise(pc.utf8_upper(s), "!", "")
                """), DataTypes.StringType);
        spark.range(0, 10_000, 1, 4).selectExpr("id AS x", "CAST(id AS STRING) AS s", "IF(id % 10 = 0, NULL, id) AS n")
                .createOrReplaceTempView("t");
    }

    @Test
    void aRegisteredUdfRunsInSqlAndEqualsJava() {
        List<Row> rows = spark.sql("SELECT x, plus_one(x) AS y FROM t ORDER BY x").collectAsList();
        assertEquals(10_000, rows.size());
        for (Row r : rows) assertEquals(r.getLong(0) + 1, r.getLong(1));
    }

    @Test
    void thePlanRunsItInProcessNotInAPythonWorker() {
        String plan = spark.sql("SELECT plus_one(x) FROM t").queryExecution().executedPlan().toString();
        assertTrue(plan.contains("PanamapyArrowEvalPython"), plan);
        assertTrue(!plan.contains("ArrowEvalPythonExec") && !plan.contains(" ArrowEvalPython "), plan);
    }

    @Test
    void nullsStayNullAndStringsWork() {
        Row r = spark.sql("SELECT count(plus_one(n)), sum(plus_one(n)), max(shout(s)) FROM t").first();
        assertEquals(9_000L, r.getLong(0));
        long expected = 0;
        for (long i = 0; i < 10_000; i++) if (i % 10 != 0) expected += i + 1;
        assertEquals(expected, r.getLong(1));
        assertEquals("9999!", r.getString(2));
    }

    @Test
    void severalAndNestedUdfsInOneQuery() {
        Row r = spark.sql("SELECT sum(plus_one(plus_one(x))), sum(plus_one(x) + length(shout(s))) FROM t").first();
        long sumX = 10_000L * 9_999 / 2;
        assertEquals(sumX + 20_000, r.getLong(0));
        long lengths = 0;
        for (int i = 0; i < 10_000; i++) lengths += Integer.toString(i).length() + 1;
        assertEquals(sumX + 10_000 + lengths, r.getLong(1));
    }

    @Test
    void theDatasetApiAppliesItToColumns() {
        Dataset<Row> d = spark.table("t").select(plusOne.apply(col("x")).as("y")).filter(col("y").gt(9_990));
        assertEquals(10, d.count());
    }

    @Test
    void aFunctionFromAModuleIsImportedOnTheExecutor() {
        PythonUdfs.register(spark, "negated", PythonFunction.fromModule("pyarrow.compute:negate"), DataTypes.LongType);
        assertEquals(-(10_000L * 9_999 / 2), spark.sql("SELECT sum(negated(x)) FROM t").first().getLong(0));
    }

    @Test
    @RequiresPythonPackage("pandas")
    void aPandasSeriesResultIsConverted() {
        PythonUdfs.register(spark, "halve", py("""
                def halve(x):
                    return x.to_pandas() / 2
                """), DataTypes.DoubleType);
        assertEquals(10_000L * 9_999 / 4.0, spark.sql("SELECT sum(halve(x)) FROM t").first().getDouble(0), 1e-6);
    }

    @Test
    void aResultOfTheWrongLengthIsAClearError() {
        PythonUdfs.register(spark, "too_short", py("""
                def too_short(x):
                    return x[:1]
                """), DataTypes.LongType);
        SparkException e = assertThrows(SparkException.class, () -> spark.sql("SELECT too_short(x) FROM t").collect());
        assertTrue(messages(e).contains("scalar UDF 'too_short' returned 1 values for a batch of"), messages(e));
    }

    @Test
    void aRaisingUdfFailsTheQueryWithTheTraceback() {
        PythonUdfs.register(spark, "boom", py("""
                def boom(x):
                    return 1 / 0
                """), DataTypes.LongType);
        SparkException e = assertThrows(SparkException.class, () -> spark.sql("SELECT boom(x) FROM t").collect());
        assertTrue(messages(e).contains("ZeroDivisionError: division by zero"), messages(e));
        assertTrue(messages(e).contains("return 1 / 0"), messages(e));
    }
}
