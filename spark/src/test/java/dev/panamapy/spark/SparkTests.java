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

    /** A PythonFunction from source whose function is named like the last "def" in it. */
    static PythonFunction py(String source) {
        String name = source.substring(source.lastIndexOf("def ") + 4, source.indexOf('(', source.lastIndexOf("def ")));
        return PythonFunction.fromSource(source, name);
    }

    /** The whole message chain of a failure (Spark wraps the task's exception in its own). */
    static String messages(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) sb.append(c).append('\n');
        return sb.toString();
    }

    /** A test body that may throw. */
    interface Body {
        void run() throws Exception;
    }

    /** Runs {@code body} with spark.sql.execution.arrow.maxRecordsPerBatch set to {@code rows}, then unsets it. */
    static void withBatchSize(int rows, Body body) throws Exception {
        session().conf().set("spark.sql.execution.arrow.maxRecordsPerBatch", Integer.toString(rows));
        try {
            body.run();
        } finally {
            session().conf().unset("spark.sql.execution.arrow.maxRecordsPerBatch");
        }
    }

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
                    .config("spark.panamapy.python", System.getProperty("panamapy.python", ""))
                    .getOrCreate();
        }
        return spark;
    }
}
