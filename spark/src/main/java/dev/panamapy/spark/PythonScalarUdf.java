package dev.panamapy.spark;

import org.apache.spark.sql.Column;
import org.apache.spark.sql.execution.python.UserDefinedPythonFunction;
import scala.jdk.javaapi.CollectionConverters;

import java.util.Arrays;

/**
 * A scalar vectorized Python UDF registered with {@link PythonUdfs#register}: callable by its name
 * in Spark SQL, or applied to columns here.
 */
public final class PythonScalarUdf {

    private final UserDefinedPythonFunction udf;

    PythonScalarUdf(UserDefinedPythonFunction udf) {
        this.udf = udf;
    }

    /** The name it is registered under. */
    public String name() { return udf.name(); }

    /**
     * The UDF applied to {@code columns} (one per argument of the Python function).
     *
     * @param columns the arguments
     * @return the result column
     */
    public Column apply(Column... columns) {
        return udf.apply(CollectionConverters.asScala(Arrays.asList(columns)).toSeq());
    }

    @Override
    public String toString() { return "PythonScalarUdf[" + udf.name() + "]"; }
}
