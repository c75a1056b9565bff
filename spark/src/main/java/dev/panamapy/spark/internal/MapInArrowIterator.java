package dev.panamapy.spark.internal;

import dev.panamapy.PyObject;
import dev.panamapy.PythonException;
import org.apache.arrow.vector.VectorSchemaRoot;

import java.util.ArrayList;
import java.util.List;

/**
 * One task of mapInArrow (or applyInArrow, whose input batches are the groups): input batches
 * are exported to the Python function as it asks for them, and each batch it yields is imported
 * (over Python's memory) and read as rows, then released before the next one is asked for.
 *
 * <p>The next input batch is built and exported before Python is asked for output, so Spark's
 * upstream work (reading, shuffling, Arrow writing) runs without the GIL, in parallel with other
 * tasks' Python; a function that takes more batches than it yields makes Python pull the rest
 * itself, and the pull lets the GIL go while Spark's upstream makes the batch.
 *
 * <p>Pulling runs Spark's upstream iterator, which is not thread-safe and whose rows point into
 * memory the task frees when it ends. So the feed may be iterated (and {@code pull} called) only
 * on the thread running a step of the function, during that step: a Python thread the function
 * started, or a feed kept past its task, gets {@link #REFUSED} as a RuntimeError and nothing is
 * touched. When the task ends the feed's unread batches are dropped.
 */
public final class MapInArrowIterator extends BatchRows {

    /** What Python gets when it iterates a task's batches off the task's thread or after the task. */
    static final String REFUSED = "the batches of a Spark task can only be iterated on the task's own thread while the task runs; "
            + "iterate them in the mapInArrow function itself (not in a thread it starts), and do not keep the iterator "
            + "for later: keep the batches (or tables made of them) you need instead";

    private final PythonTaskScope scope;
    private final RowBatches input;
    private final PyObject results;
    private final PyObject hungry;
    private final PyObject put;
    private final PyObject step;
    private volatile Thread stepping;                          // the thread running a step of the function, null between steps
    private boolean pulling;                                   // pull() is running Spark's iterator (read by the stepping thread only)
    private final List<PyObject> pulled = new ArrayList<>();   // exports returned to Python by pull(), closed after each step
    private RuntimeException pullFailure;                      // what went wrong in pull(), rethrown instead of Python's report of it

    /**
     * @param fn the Python callable taking an iterator of batches (the user's function, or the
     *           worker's per-group adapter around it), owned by the scope
     * @param expected the output schema as an exported empty batch
     */
    public MapInArrowIterator(PythonTaskScope scope, RowBatches input, PyObject fn, PyObject expected, String what) {
        super(true);
        this.scope = scope;
        this.input = input;
        try (PyObject feedType = scope.worker.getAttr("Feed");
             PyObject pull = scope.py.function("pull", args -> pull());
             PyObject feed = feedType.call(pull, REFUSED);
             PyObject schemaOf = scope.worker.getAttr("schema_of");
             PyObject schema = schemaOf.call(expected);
             PyObject map = scope.worker.getAttr("map_batches")) {
            this.results = scope.own(map.call(fn, feed, schema, what));
            this.hungry = scope.own(feed.getAttr("hungry"));
            this.put = scope.own(feed.getAttr("put"));
            this.step = scope.own(feed.getAttr("step"));
            PyObject close = scope.own(feed.getAttr("close"));
            scope.own(() -> close.call().close());
        } catch (PythonException e) {
            throw scope.failure(e, null);
        }
        scope.own(this::release);
    }

    @Override
    protected VectorSchemaRoot nextBatch() {
        scope.checkKilled();
        try {
            if (hungry.callAs(Boolean.class)) {
                VectorSchemaRoot batch = input.next();
                if (batch == null) {
                    put.call((Object) null).close();
                } else {
                    try (PyObject obj = scope.export(batch)) {
                        put.call(obj).close();
                    }
                }
            }
            stepping = Thread.currentThread();
            try (PyObject out = step.call(results)) {
                return out.isNone() ? null : scope.importBatch(out);
            }
        } catch (PythonException e) {
            throw scope.failure(e, pullFailure);
        } finally {
            stepping = null;
            for (PyObject p : pulled) p.close();
            pulled.clear();
        }
    }

    /**
     * Called by Python (with the GIL) when the function wants a batch it was not given. Refused
     * (nothing touched) off the stepping thread, between steps, after the task, and from inside
     * a pull (Spark's upstream calling this feed again).
     */
    private Object pull() {
        if (Thread.currentThread() != stepping || pulling) throw new IllegalStateException(REFUSED);
        pulling = true;
        try {
            scope.checkKilled();
            // Spark's upstream runs with the GIL let go: other tasks run Python meanwhile, and an
            // upstream that waits for another thread's Python (a UDF, a source) is no deadlock
            VectorSchemaRoot batch = scope.py.withoutGil(input::next);
            if (batch == null) return null;
            PyObject obj = scope.export(batch);
            pulled.add(obj);
            return obj;
        } catch (RuntimeException e) {
            pullFailure = e;
            throw e;
        } finally {
            pulling = false;
        }
    }
}
