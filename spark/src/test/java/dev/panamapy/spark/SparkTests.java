package dev.panamapy.spark;

import org.apache.spark.sql.SparkSession;

/**
 * The one SparkSession of the test JVM (surefire reuses one fork for the whole Spark suite):
 * {@code local[2,2]}, two task threads and one retry per task, so a failing task is retried
 * once, as on a cluster. Started on first use, which a test class does in {@code @BeforeAll},
 * after {@code @RequiresPythonPackage} has decided whether the class runs at all.
 */
final class SparkTests {

    private static SparkSession spark; // guarded by SparkTests.class

    private SparkTests() { }

    static synchronized SparkSession session() {
        if (spark == null) {
            spark = SparkSession.builder()
                    .master("local[2,2]")
                    .appName("panamapy-spark-tests")
                    .config("spark.ui.enabled", "false")
                    .config("spark.sql.shuffle.partitions", "4")
                    .config("spark.sql.adaptive.enabled", "false")
                    .config("spark.driver.host", "127.0.0.1")
                    .config("spark.sql.session.timeZone", "UTC")
                    .getOrCreate();
        }
        return spark;
    }
}
