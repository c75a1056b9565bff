package dev.panamapy.spark.internal;

import dev.panamapy.PyObject;
import dev.panamapy.PythonException;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.spark.TaskContext;
import org.apache.spark.api.python.ChainedPythonFunctions;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.Attribute;
import org.apache.spark.sql.catalyst.expressions.PythonUDF;
import org.apache.spark.sql.execution.python.EvalPythonEvaluatorFactory;
import org.apache.spark.sql.execution.python.EvalPythonExec;
import org.apache.spark.sql.types.StructType;
import scala.Tuple2;
import scala.collection.Iterator;
import scala.collection.immutable.Seq;
import scala.jdk.javaapi.CollectionConverters;

import java.io.Serial;
import java.util.ArrayList;
import java.util.List;

/**
 * Evaluates scalar UDFs for one task: the argument rows Spark hands over are written into Arrow
 * batches ({@code maxRecordsPerBatch} rows), each batch is exported to Python once for all the
 * UDFs of the node, and their results come back as one batch, read in place as rows (one column
 * per UDF), in input order.
 */
final class ScalarEvaluator extends EvalPythonEvaluatorFactory {

    @Serial
    private static final long serialVersionUID = 1L;

    private final ArrowSettings settings;
    private final StructType resultSchema;
    private final List<String> names;

    ScalarEvaluator(Seq<Attribute> childOutput, Seq<PythonUDF> udfs, Seq<Attribute> output, ArrowSettings settings) {
        super(childOutput, udfs, output);
        this.settings = settings;
        StructType schema = new StructType();
        List<String> udfNames = new ArrayList<>();
        int i = 0;
        for (PythonUDF udf : CollectionConverters.asJava(udfs)) {
            schema = schema.add("_" + i++, udf.dataType(), true);
            udfNames.add(udf.name());
        }
        this.resultSchema = schema;
        this.names = udfNames;
    }

    @Override
    public Iterator<InternalRow> evaluate(Seq<Tuple2<ChainedPythonFunctions, Object>> funcs, EvalPythonExec.ArgumentMetadata[][] argMetas,
                                          Iterator<InternalRow> iter, StructType schema, TaskContext context) {
        String what = "scalar UDF" + (names.size() == 1 ? " '" + names.get(0) + "'" : "s " + names);
        PythonTaskScope scope = PythonTaskScope.open(settings, what);
        List<Object> chains = new ArrayList<>();
        for (Tuple2<ChainedPythonFunctions, Object> f : CollectionConverters.asJava(funcs)) {
            List<Object> chain = new ArrayList<>();
            for (org.apache.spark.api.python.PythonFunction pf : CollectionConverters.asJava(f._1().funcs())) {
                chain.add(scope.load(((SparkPythonFunction) pf).function()));
            }
            chains.add(scope.list(chain));
        }
        List<Object> offsets = new ArrayList<>();
        for (EvalPythonExec.ArgumentMetadata[] args : argMetas) {
            List<Object> o = new ArrayList<>();
            for (EvalPythonExec.ArgumentMetadata a : args) o.add((long) a.offset());
            offsets.add(scope.list(o));
        }
        PyObject expected;
        try (PyObject empty = scope.export(RowBatches.empty(resultSchema, settings, scope.allocator));
             PyObject schemaOf = scope.worker.getAttr("schema_of")) {
            expected = scope.own(schemaOf.call(empty));
        } catch (PythonException e) {
            throw scope.failure(e, null);
        }
        RowBatches input = RowBatches.bySize(CollectionConverters.asJava(iter), schema, settings, scope.allocator);
        return CollectionConverters.asScala(new Results(scope, input, scope.list(chains), scope.list(offsets), expected,
                scope.list(names)));
    }

    /** The result rows, batch by batch; a batch's memory is given back to Python when the next is read. */
    private static final class Results extends BatchRows {
        private final PythonTaskScope scope;
        private final RowBatches input;
        private final PyObject scalar;
        private final PyObject chains;
        private final PyObject offsets;
        private final PyObject expected;
        private final PyObject names;

        Results(PythonTaskScope scope, RowBatches input, PyObject chains, PyObject offsets, PyObject expected, PyObject names) {
            super(true);
            this.scope = scope;
            this.input = input;
            this.scalar = scope.workerFunction("scalar");
            this.chains = chains;
            this.offsets = offsets;
            this.expected = expected;
            this.names = names;
            scope.own(this::release);
        }

        @Override
        protected VectorSchemaRoot nextBatch() {
            scope.checkKilled();
            VectorSchemaRoot batch = input.next();
            if (batch == null) return null;
            try (PyObject in = scope.export(batch);
                 PyObject out = scalar.call(chains, in, offsets, expected, names)) {
                return scope.importBatch(out);
            } catch (PythonException e) {
                throw scope.failure(e, null);
            }
        }
    }
}
