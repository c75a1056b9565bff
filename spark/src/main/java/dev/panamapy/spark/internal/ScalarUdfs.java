package dev.panamapy.spark.internal;

import dev.panamapy.spark.PythonFunction;
import org.apache.spark.api.python.PythonEvalType;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.PythonUDF;
import org.apache.spark.sql.catalyst.plans.logical.ArrowEvalPython;
import org.apache.spark.sql.catalyst.plans.logical.LogicalPlan;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.execution.SparkStrategy;
import org.apache.spark.sql.execution.python.UserDefinedPythonFunction;
import org.apache.spark.sql.types.DataType;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;

import java.util.ArrayList;
import java.util.List;

/**
 * Scalar vectorized UDFs the way Spark plans PySpark's: a registered {@link UserDefinedPythonFunction}
 * (eval type SQL_SCALAR_PANDAS_UDF) whose function is a {@link SparkPythonFunction}. Spark's own
 * rules extract such calls from projections and filters into {@code ArrowEvalPython} nodes; the
 * strategy here plans those nodes as {@link ScalarEvalExec} (in-process) instead of Spark's
 * {@code ArrowEvalPythonExec} (a Python worker process).
 */
public final class ScalarUdfs {

    private static final Strategy STRATEGY = new Strategy();

    private ScalarUdfs() { }

    /** The planner strategy (one instance, stateless). */
    public static SparkStrategy strategy() { return STRATEGY; }

    /** Registers the UDF in {@code spark}'s function registry and the strategy in its planner. */
    public static UserDefinedPythonFunction register(SparkSession spark, String name, PythonFunction fn, DataType returnType) {
        org.apache.spark.sql.classic.SparkSession session = (org.apache.spark.sql.classic.SparkSession) spark;
        synchronized (session.experimental()) {
            Seq<SparkStrategy> strategies = session.experimental().extraStrategies();
            boolean present = CollectionConverters.asJava(strategies).stream().anyMatch(s -> s instanceof Strategy);
            if (!present) {
                List<SparkStrategy> all = new ArrayList<>(CollectionConverters.asJava(strategies));
                all.add(STRATEGY);
                session.experimental().extraStrategies_$eq(CollectionConverters.asScala(all).toSeq());
            }
        }
        UserDefinedPythonFunction udf = new UserDefinedPythonFunction(name, new SparkPythonFunction(fn), returnType,
                PythonEvalType.SQL_SCALAR_PANDAS_UDF(), true);
        session.udf().registerPython(name, udf);
        return udf;
    }

    /** Whether the expression tree of {@code udf} (chained UDFs included) is all panamapy's. */
    static boolean ours(PythonUDF udf) {
        if (!(udf.func() instanceof SparkPythonFunction)) return false;
        for (Expression child : CollectionConverters.asJava(udf.children())) {
            if (child instanceof PythonUDF inner && !ours(inner)) return false;
        }
        return true;
    }

    private static final class Strategy extends SparkStrategy {
        @Override
        public Seq<SparkPlan> apply(LogicalPlan plan) {
            if (!(plan instanceof ArrowEvalPython node)) return CollectionConverters.asScala(List.<SparkPlan>of()).toList();
            List<PythonUDF> udfs = CollectionConverters.asJava(node.udfs());
            long ours = udfs.stream().filter(ScalarUdfs::ours).count();
            if (ours == 0) return CollectionConverters.asScala(List.<SparkPlan>of()).toList();
            if (ours != udfs.size()) {
                throw new IllegalArgumentException("panamapy's Python UDFs and PySpark's pandas UDFs cannot be evaluated in the "
                        + "same projection (" + udfs + "): compute one kind in a separate select");
            }
            SparkPlan exec = new ScalarEvalExec(node.udfs(), node.resultAttrs(), planLater(node.child()), node.evalType());
            return CollectionConverters.asScala(List.of(exec)).toList();
        }
    }
}
