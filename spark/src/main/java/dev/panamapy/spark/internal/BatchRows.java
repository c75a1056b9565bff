package dev.panamapy.spark.internal;

import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.spark.sql.catalyst.InternalRow;

import java.util.Collections;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * Rows read in place from a sequence of Arrow batches, one batch at a time: a batch is released
 * (closed, if this iterator owns it) before the next one is asked for, so at most one result
 * batch per task is alive on the Java side.
 */
public abstract class BatchRows implements Iterator<InternalRow> {

    private final boolean ownsBatches;
    private VectorSchemaRoot current;
    private Iterator<InternalRow> rows = Collections.emptyIterator();
    private boolean done;

    /** @param ownsBatches whether each batch {@link #nextBatch()} returns is closed once read */
    protected BatchRows(boolean ownsBatches) {
        this.ownsBatches = ownsBatches;
    }

    /** The next batch to read, or null at the end (called after the previous one was released). */
    protected abstract VectorSchemaRoot nextBatch();

    @Override
    public final boolean hasNext() {
        while (!rows.hasNext()) {
            if (done) return false;
            release();
            VectorSchemaRoot next;
            try {
                next = nextBatch();
            } catch (RuntimeException | Error e) {
                done = true;
                throw e;
            }
            if (next == null) {
                done = true;
                return false;
            }
            current = next;
            rows = PythonTaskScope.rows(next);
        }
        return true;
    }

    @Override
    public final InternalRow next() {
        if (!hasNext()) throw new NoSuchElementException();
        return rows.next();
    }

    /** Releases the batch being read (the task's end calls this too). */
    public final void release() {
        rows = Collections.emptyIterator();
        if (current != null) {
            VectorSchemaRoot root = current;
            current = null;
            if (ownsBatches) root.close();
        }
    }
}
