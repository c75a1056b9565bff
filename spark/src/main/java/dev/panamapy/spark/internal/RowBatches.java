package dev.panamapy.spark.internal;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.catalyst.expressions.BoundReference;
import org.apache.spark.sql.catalyst.expressions.Expression;
import org.apache.spark.sql.catalyst.expressions.UnsafeProjection;
import org.apache.spark.sql.catalyst.expressions.UnsafeRow;
import org.apache.spark.sql.execution.arrow.ArrowWriter;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.util.ArrowUtils;
import scala.jdk.javaapi.CollectionConverters;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Spark rows into Arrow batches with Spark's own Arrow writer ({@link ArrowWriter}, the one
 * PySpark's workers are fed by). Each batch is a new {@link VectorSchemaRoot}: an exported batch is
 * Python's to keep (a function may hold on to it), so a root is never refilled; the caller
 * closes it after exporting and its memory is freed when Python lets go.
 */
public abstract class RowBatches {

    final Iterator<InternalRow> rows;
    final Schema arrowSchema;
    final BufferAllocator allocator;

    RowBatches(Iterator<InternalRow> rows, StructType schema, ArrowSettings settings, BufferAllocator allocator) {
        this.rows = rows;
        this.arrowSchema = ArrowUtils.toArrowSchema(schema, settings.timeZone(), true, settings.largeVarTypes());
        this.allocator = allocator;
    }

    /** The Arrow schema of the batches. */
    public Schema arrowSchema() { return arrowSchema; }

    /** The next batch (the caller closes it), or null when the rows are used up. */
    public abstract VectorSchemaRoot next();

    /** Batches of at most {@code maxRecordsPerBatch} rows (unlimited if it is not positive). */
    public static RowBatches bySize(Iterator<InternalRow> rows, StructType schema, ArrowSettings settings, BufferAllocator allocator) {
        return new BySize(rows, schema, settings, allocator);
    }

    /**
     * One batch per group of consecutive rows with equal values in the {@code keys} columns
     * (the rows come clustered and sorted by them).
     */
    public static RowBatches byGroup(Iterator<InternalRow> rows, StructType schema, int[] keys, ArrowSettings settings,
                                     BufferAllocator allocator) {
        return new ByGroup(rows, schema, keys, settings, allocator);
    }

    /** An empty root of {@code schema} (how Java tells Python the schema it expects back). */
    public static VectorSchemaRoot empty(StructType schema, ArrowSettings settings, BufferAllocator allocator) {
        VectorSchemaRoot root = VectorSchemaRoot.create(
                ArrowUtils.toArrowSchema(schema, settings.timeZone(), true, settings.largeVarTypes()), allocator);
        root.allocateNew();
        root.setRowCount(0);
        return root;
    }

    private static final class BySize extends RowBatches {
        private final int max;

        BySize(Iterator<InternalRow> rows, StructType schema, ArrowSettings settings, BufferAllocator allocator) {
            super(rows, schema, settings, allocator);
            this.max = settings.maxRecordsPerBatch() > 0 ? settings.maxRecordsPerBatch() : Integer.MAX_VALUE;
        }

        @Override
        public VectorSchemaRoot next() {
            if (!rows.hasNext()) return null;
            VectorSchemaRoot root = VectorSchemaRoot.create(arrowSchema, allocator);
            try {
                ArrowWriter writer = ArrowWriter.create(root);
                int n = 0;
                while (n < max && rows.hasNext()) {
                    writer.write(rows.next());
                    n++;
                }
                writer.finish();
                return root;
            } catch (RuntimeException | Error e) {
                root.close();
                throw e;
            }
        }
    }

    private static final class ByGroup extends RowBatches {
        private final UnsafeProjection keyOf;
        private InternalRow pending;   // the first row of the next group, copied
        private UnsafeRow pendingKey;

        ByGroup(Iterator<InternalRow> rows, StructType schema, int[] keys, ArrowSettings settings, BufferAllocator allocator) {
            super(rows, schema, settings, allocator);
            List<Expression> refs = new ArrayList<>();
            for (int k : keys) {
                StructField f = schema.fields()[k];
                refs.add(new BoundReference(k, f.dataType(), f.nullable()));
            }
            this.keyOf = UnsafeProjection.create(CollectionConverters.asScala(refs).toSeq());
        }

        @Override
        public VectorSchemaRoot next() {
            if (pending == null && !rows.hasNext()) return null;
            VectorSchemaRoot root = VectorSchemaRoot.create(arrowSchema, allocator);
            try {
                ArrowWriter writer = ArrowWriter.create(root);
                UnsafeRow key;
                if (pending != null) {
                    writer.write(pending);
                    key = pendingKey;
                    pending = null;
                    pendingKey = null;
                } else {
                    InternalRow first = rows.next();
                    key = keyOf.apply(first).copy();
                    writer.write(first);
                }
                while (rows.hasNext()) {
                    InternalRow row = rows.next();
                    UnsafeRow k = keyOf.apply(row);
                    if (!k.equals(key)) {
                        pending = row.copy();
                        pendingKey = k.copy();
                        break;
                    }
                    writer.write(row);
                }
                writer.finish();
                return root;
            } catch (RuntimeException | Error e) {
                root.close();
                throw e;
            }
        }
    }
}
