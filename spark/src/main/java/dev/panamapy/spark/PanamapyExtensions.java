package dev.panamapy.spark;

import dev.panamapy.spark.internal.ScalarUdfs;
import org.apache.spark.sql.SparkSessionExtensions;
import scala.Function1;
import scala.runtime.BoxedUnit;

/**
 * The Spark session extension that plans panamapy's scalar Python UDFs
 * ({@code spark.sql.extensions=dev.panamapy.spark.PanamapyExtensions}). Optional:
 * {@link PythonUdfs#register} installs the same planner strategy in its session; the extension
 * makes it part of every session from the start (e.g. for UDFs registered by other code).
 */
public final class PanamapyExtensions implements Function1<SparkSessionExtensions, BoxedUnit> {

    /** Made by Spark from the {@code spark.sql.extensions} setting. */
    public PanamapyExtensions() { }

    @Override
    public BoxedUnit apply(SparkSessionExtensions extensions) {
        extensions.injectPlannerStrategy(session -> ScalarUdfs.strategy());
        return BoxedUnit.UNIT;
    }
}
