package dev.panamapy.spark;

import dev.panamapy.testing.RequiresPythonPackage;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.math.BigDecimal;
import java.sql.Date;
import java.sql.Timestamp;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static dev.panamapy.spark.SparkTests.py;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Every Spark type Spark's Arrow writer writes, through Python and back, nulls included. */
@RequiresPythonPackage("pyarrow")
class SparkTypesTest {

    private static final StructType ALL = new StructType()
            .add("id", DataTypes.IntegerType, false)
            .add("bool", DataTypes.BooleanType)
            .add("i8", DataTypes.ByteType)
            .add("i16", DataTypes.ShortType)
            .add("i32", DataTypes.IntegerType)
            .add("i64", DataTypes.LongType)
            .add("f32", DataTypes.FloatType)
            .add("f64", DataTypes.DoubleType)
            .add("str", DataTypes.StringType)
            .add("bin", DataTypes.BinaryType)
            .add("date", DataTypes.DateType)
            .add("ts", DataTypes.TimestampType)
            .add("ts_ntz", DataTypes.TimestampNTZType)
            .add("dec", DataTypes.createDecimalType(10, 2))
            .add("dec38", DataTypes.createDecimalType(38, 10))
            .add("ints", DataTypes.createArrayType(DataTypes.IntegerType))
            .add("strs", DataTypes.createArrayType(DataTypes.StringType))
            .add("pt", new StructType().add("a", DataTypes.IntegerType).add("b", DataTypes.StringType))
            .add("m", DataTypes.createMapType(DataTypes.StringType, DataTypes.IntegerType));

    private static SparkSession spark;

    @BeforeAll
    static void session() {
        spark = SparkTests.session();
    }

    private static List<Row> rows(int n) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (i % 7 == 3) {
                Object[] nulls = new Object[ALL.size()];
                nulls[0] = i;
                rows.add(RowFactory.create(nulls));
                continue;
            }
            rows.add(RowFactory.create(i, i % 2 == 0, (byte) i, (short) (i * 3), i * 1000, i * 1_000_000_000L, i / 4f, i / 3d,
                    "s" + i + "ü", new byte[] {(byte) i, 0, (byte) 255}, Date.valueOf("2024-02-" + (10 + i % 19)),
                    Timestamp.valueOf("2024-03-01 10:00:00." + (100 + i)), LocalDateTime.of(2023, 1, 1, 0, 0, i % 60),
                    new BigDecimal(i + ".25"), new BigDecimal("1234567890123456789012345678." + i),
                    scalaSeq(Arrays.asList(i, null, -i)), scalaSeq(Arrays.asList("a" + i, null)),
                    RowFactory.create(i, i % 3 == 0 ? null : "b" + i),
                    scala.jdk.javaapi.CollectionConverters.asScala(Map.of("k" + i, i)).toMap(scala.$less$colon$less$.MODULE$.refl())));
        }
        return rows;
    }

    /** The row's values as text, byte arrays by content. */
    private static String render(Row row) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < row.size(); i++) {
            Object v = row.get(i);
            sb.append(v instanceof byte[] b ? Arrays.toString(b) : String.valueOf(v)).append(" | ");
        }
        return sb.toString();
    }

    private static scala.collection.immutable.Seq<Object> scalaSeq(List<?> values) {
        return scala.jdk.javaapi.CollectionConverters.asScala(new ArrayList<Object>(values)).toList();
    }

    @Test
    void everyColumnTypeComesBackUnchangedThroughPython() {
        Dataset<Row> in = spark.createDataFrame(rows(50), ALL).repartition(3);
        Dataset<Row> out = PythonUdfs.mapInArrow(in, py("""
                def same(batches):
                    yield from batches
                """), ALL);
        List<String> expected = in.orderBy("id").collectAsList().stream().map(SparkTypesTest::render).toList();
        List<String> got = out.orderBy("id").collectAsList().stream().map(SparkTypesTest::render).toList();
        assertEquals(50, got.size());
        for (int i = 0; i < expected.size(); i++) assertEquals(expected.get(i), got.get(i), "row " + i);
    }

    @Test
    void pythonSeesTheValuesJavaWrote() {
        Dataset<Row> in = spark.createDataFrame(rows(14), ALL).coalesce(1);
        StructType seen = new StructType().add("id", DataTypes.IntegerType).add("py", DataTypes.StringType);
        List<Row> out = PythonUdfs.mapInArrow(in, py("""
                import pyarrow as pa
                def describe(batches):
                    for b in batches:
                        rows = b.to_pylist()
                        yield pa.record_batch({"id": b["id"], "py": pa.array(
                            [repr((r["i64"], r["str"], r["ints"], r["pt"], r["m"], str(r["dec"]), r["ts"] and r["ts"].isoformat())) for r in rows])})
                """), seen).orderBy("id").collectAsList();
        assertEquals("(2000000000, 's2ü', [2, None, -2], {'a': 2, 'b': 'b2'}, [('k2', 2)], '2.25', '"
                + Timestamp.valueOf("2024-03-01 10:00:00.102").toInstant().atOffset(java.time.ZoneOffset.UTC)
                        .format(java.time.format.DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSSSSxxx")) + "')", out.get(2).getString(1));
        assertEquals("(None, None, None, None, None, 'None', None)", out.get(3).getString(1));
    }
}
