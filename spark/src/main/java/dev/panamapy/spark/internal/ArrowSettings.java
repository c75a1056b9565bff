package dev.panamapy.spark.internal;

import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.internal.SQLConf;

import java.io.Serial;
import java.io.Serializable;

/**
 * What the executors need from the session's configuration, read on the driver when the plan is
 * made and shipped with the tasks: Spark's own Arrow settings
 * ({@code spark.sql.execution.arrow.maxRecordsPerBatch}, the session time zone Arrow timestamps
 * carry, {@code spark.sql.execution.arrow.useLargeVarTypes}) and the executors' Python
 * ({@value ExecutorPython#PYTHON_CONF}, null for discovery).
 */
public record ArrowSettings(int maxRecordsPerBatch, String timeZone, boolean largeVarTypes, String python)
        implements Serializable {

    @Serial
    private static final long serialVersionUID = 1L;

    /** The settings of {@code conf} (the active session's, on the driver). */
    public static ArrowSettings of(SQLConf conf) {
        String python = conf.getConfString(ExecutorPython.PYTHON_CONF, "");
        return new ArrowSettings(conf.arrowMaxRecordsPerBatch(), conf.sessionLocalTimeZone(), conf.arrowUseLargeVarTypes(),
                python.isBlank() ? null : python);
    }

    /** The settings of {@code spark}'s session. */
    public static ArrowSettings of(SparkSession spark) {
        String python = spark.conf().get(ExecutorPython.PYTHON_CONF, spark.sparkContext().getConf().get(ExecutorPython.PYTHON_CONF, ""));
        SQLConf conf = ((org.apache.spark.sql.classic.SparkSession) spark).sessionState().conf();
        return new ArrowSettings(conf.arrowMaxRecordsPerBatch(), conf.sessionLocalTimeZone(), conf.arrowUseLargeVarTypes(),
                python.isBlank() ? null : python);
    }
}
