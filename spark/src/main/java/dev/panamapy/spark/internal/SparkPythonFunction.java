package dev.panamapy.spark.internal;

import dev.panamapy.spark.PythonFunction;
import org.apache.spark.api.python.PythonBroadcast;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.CollectionAccumulator;
import scala.collection.immutable.Seq;

import java.io.Serial;
import java.io.Serializable;
import java.util.List;
import java.util.Map;

/**
 * A panamapy function as Spark's {@code PythonFunction}, so Spark's analyzer and optimizer treat
 * a registered scalar UDF as the Arrow UDF it is (a {@code PythonUDF} expression, extracted into
 * an {@code ArrowEvalPython} node); the planner strategy then runs it in-process. It carries
 * nothing for a Python worker process: none is started.
 */
public record SparkPythonFunction(PythonFunction function) implements org.apache.spark.api.python.PythonFunction, Serializable {

    @Serial
    private static final long serialVersionUID = 1L;

    /** What would start a Python worker process; panamapy starts none. */
    static final String NO_WORKER = "panamapy-in-process";

    @Override
    public Seq<Object> command() { return scala.jdk.javaapi.CollectionConverters.asScala(List.<Object>of()).toList(); }

    @Override
    public Map<String, String> envVars() { return Map.of(); }

    @Override
    public List<String> pythonIncludes() { return List.of(); }

    @Override
    public String pythonExec() { return NO_WORKER; }

    @Override
    public String pythonVer() { return "3"; }

    @Override
    public List<Broadcast<PythonBroadcast>> broadcastVars() { return List.of(); }

    @Override
    public CollectionAccumulator<byte[]> accumulator() { return null; }
}
