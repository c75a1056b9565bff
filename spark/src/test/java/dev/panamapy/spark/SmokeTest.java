package dev.panamapy.spark;

import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class SmokeTest {
    @Test
    void sparkRuns() {
        Dataset<Row> d = SparkTests.session().range(1000).toDF("x");
        assertEquals(1000, d.count());
    }
}
