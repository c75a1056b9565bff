package dev.panamapy.spark.internal;

import org.apache.spark.api.java.function.Function2;
import org.apache.spark.rdd.RDD;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.AttributeSet;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.PythonUDF;
import org.apache.spark.sql.execution.SparkPlan;
import org.apache.spark.sql.execution.python.EvalPythonEvaluatorFactory;
import scala.collection.immutable.IndexedSeq;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;

import java.io.Serial;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * The physical node of an {@code ArrowEvalPython} whose UDFs are panamapy's: what Spark's
 * {@code ArrowEvalPythonExec} does, with the Python evaluation done in-process. The evaluation
 * itself is Spark's ({@code EvalPythonEvaluatorFactory}: it projects the UDF arguments, buffers
 * the input rows and joins each with its results); {@link ScalarEvaluator} runs the UDFs on Arrow
 * batches in the executor's CPython instead of streaming them to a Python worker process.
 * (Written against {@code SparkPlan} directly: javac cannot subclass the Scala case class.)
 */
public final class ScalarEvalExec extends SparkPlan {

    @Serial
    private static final long serialVersionUID = 1L;

    private final Seq<PythonUDF> udfs;
    private final Seq<Attribute> resultAttrs;
    private final SparkPlan child;
    private final int evalType;

    /** Spark's tree copies (makeCopy) call this with the node's four fields, in this order. */
    public ScalarEvalExec(Seq<PythonUDF> udfs, Seq<Attribute> resultAttrs, SparkPlan child, int evalType) {
        this.udfs = udfs;
        this.resultAttrs = resultAttrs;
        this.child = child;
        this.evalType = evalType;
    }

    /** The UDFs, as the {@code ArrowEvalPython} node had them. */
    public Seq<PythonUDF> udfs() { return udfs; }

    /** The attributes of their results. */
    public Seq<Attribute> resultAttrs() { return resultAttrs; }

    /** The input plan. */
    public SparkPlan child() { return child; }

    @Override
    public RDD<InternalRow> doExecute() {
        EvalPythonEvaluatorFactory factory = new ScalarEvaluator(child.output(), udfs, output(), ArrowSettings.of(conf()));
        Function2<Integer, Iterator<InternalRow>, Iterator<InternalRow>> evaluate = (partition, rows) ->
                CollectionConverters.asJava(factory.createEvaluator().eval(partition,
                        CollectionConverters.asScala(List.of(CollectionConverters.asScala(rows))).toList()));
        return child.execute().toJavaRDD().map(InternalRow::copy).mapPartitionsWithIndex(evaluate, true).rdd();
    }

    @Override
    public Seq<Attribute> output() {
        List<Attribute> all = new ArrayList<>(CollectionConverters.asJava(child.output()));
        all.addAll(CollectionConverters.asJava(resultAttrs));
        return CollectionConverters.asScala(all).toList();
    }

    @Override
    public AttributeSet producedAttributes() {
        List<Expression> produced = new ArrayList<>(CollectionConverters.asJava(resultAttrs));
        return AttributeSet.apply(CollectionConverters.asScala(produced));
    }

    @Override
    public Seq<SparkPlan> children() {
        return CollectionConverters.asScala(List.of(child)).toList();
    }

    @Override
    public SparkPlan withNewChildrenInternal(IndexedSeq<SparkPlan> newChildren) {
        return new ScalarEvalExec(udfs, resultAttrs, newChildren.apply(0), evalType);
    }

    @Override
    public String nodeName() { return "PanamapyArrowEvalPython"; }

    @Override
    public String simpleStringWithNodeId() { return nodeName() + " " + udfs.mkString("[", ", ", "]"); }

    @Override
    public String verboseString(int maxFields) { return simpleString(maxFields); }

    @Override
    public int productArity() { return 4; }

    @Override
    public Object productElement(int n) {
        return switch (n) {
            case 0 -> udfs;
            case 1 -> resultAttrs;
            case 2 -> child;
            case 3 -> evalType;
            default -> throw new IndexOutOfBoundsException(n);
        };
    }

    @Override
    public boolean canEqual(Object that) { return that instanceof ScalarEvalExec; }

    @Override
    public boolean equals(Object o) {
        return o instanceof ScalarEvalExec e && e.udfs.equals(udfs) && e.resultAttrs.equals(resultAttrs) && e.child.equals(child)
                && e.evalType == evalType;
    }

    @Override
    public int hashCode() { return udfs.hashCode() * 31 + child.hashCode(); }
}
