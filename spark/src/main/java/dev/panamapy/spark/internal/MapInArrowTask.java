package dev.panamapy.spark.internal;

import dev.panamapy.PyObject;
import dev.panamapy.PythonException;
import dev.panamapy.spark.PythonFunction;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.StructType;

import java.io.Serial;
import java.util.Arrays;
import java.util.Iterator;

/**
 * The per-partition function of mapInArrow and applyInArrow, shipped to the executors: rows of
 * {@code inSchema} in, rows of {@code outSchema} out, through the Python function.
 *
 * @param keys the grouping columns' ordinals for applyInArrow, null for mapInArrow
 */
public record MapInArrowTask(PythonFunction fn, StructType inSchema, StructType outSchema, int[] keys, ArrowSettings settings)
        implements FlatMapFunction<Iterator<InternalRow>, InternalRow> {

    @Serial
    private static final long serialVersionUID = 1L;

    @Override
    public Iterator<InternalRow> call(Iterator<InternalRow> rows) {
        String what = (keys == null ? "mapInArrow" : "applyInArrow") + " function '" + fn.name() + "'";
        PythonTaskScope scope = PythonTaskScope.open(settings, what);
        try {
            PyObject f = scope.load(fn);
            RowBatches input;
            if (keys == null) {
                input = RowBatches.bySize(rows, inSchema, settings, scope.allocator);
            } else {
                String[] names = Arrays.stream(keys).mapToObj(k -> inSchema.fields()[k].name()).toArray(String[]::new);
                try (PyObject grouped = scope.worker.getAttr("grouped")) {
                    f = scope.own(grouped.call(f, scope.list(Arrays.asList(names))));
                } catch (PythonException e) {
                    throw scope.failure(e, null);
                }
                input = RowBatches.byGroup(rows, inSchema, keys, settings, scope.allocator);
            }
            try (PyObject expected = scope.export(RowBatches.empty(outSchema, settings, scope.allocator))) {
                return new MapInArrowIterator(scope, input, f, expected, what);
            }
        } catch (RuntimeException | Error e) {
            if (scope.task == null) scope.close();
            throw e;
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MapInArrowTask t && t.fn.equals(fn) && t.inSchema.equals(inSchema) && t.outSchema.equals(outSchema)
                && Arrays.equals(t.keys, keys) && t.settings.equals(settings);
    }

    @Override
    public int hashCode() { return fn.hashCode() * 31 + Arrays.hashCode(keys); }

    @Override
    public String toString() { return "MapInArrowTask[" + fn + ", keys=" + Arrays.toString(keys) + "]"; }
}
