package dev.panamapy.spark.internal;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;
import dev.panamapy.arrow.ArrowExport;
import dev.panamapy.arrow.ArrowImport;
import dev.panamapy.spark.PythonFunction;
import dev.panamapy.spark.PythonUdfException;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.util.ArrowUtils;
import org.apache.spark.sql.vectorized.ArrowColumnVector;
import org.apache.spark.sql.vectorized.ColumnVector;
import org.apache.spark.sql.vectorized.ColumnarBatch;
import org.apache.spark.util.TaskCompletionListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;

/**
 * What one Spark task holds while it runs Python: the executor's interpreter and worker module,
 * an Arrow allocator of its own, the Python objects it made. Everything is released when the
 * task ends, whether it completed, failed or was killed (a task completion listener), so a
 * killed task leaves no batch behind: its imported results are released (Python's memory given
 * back) and its exported inputs are Python's alone to free.
 */
public final class PythonTaskScope implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PythonTaskScope.class);

    final CPython py;
    final PyObject worker;
    final BufferAllocator allocator;
    final TaskContext task;
    private final String what;
    private final Deque<AutoCloseable> owned = new ArrayDeque<>();
    private boolean closed;

    private PythonTaskScope(CPython py, PyObject worker, BufferAllocator allocator, TaskContext task, String what) {
        this.py = py;
        this.worker = worker;
        this.allocator = allocator;
        this.task = task;
        this.what = what;
    }

    /**
     * Opens the scope of the current task (or of the calling thread, outside a task): starts the
     * executor's CPython if this is the first task, loads the worker.
     *
     * @param what the function as messages name it, e.g. "mapInArrow function 'plus_one'"
     */
    public static PythonTaskScope open(ArrowSettings settings, String what) {
        CPython py = ExecutorPython.python(settings.python());
        PyObject worker;
        try {
            worker = ExecutorPython.worker(py);
        } catch (PythonException e) {
            if (e.is("ModuleNotFoundError") || e.is("ImportError")) {
                throw new IllegalStateException("the executor's Python " + py.version() + " (" + py.executable() + ") cannot run "
                        + what + ": " + e.pythonMessage() + ". Install pyarrow (and what the UDFs import) into it, or point "
                        + ExecutorPython.PYTHON_CONF + " at a Python that has them", e);
            }
            throw e;
        }
        TaskContext task = TaskContext.get();
        String name = "panamapy " + (task == null ? Thread.currentThread().getName() : "task " + task.taskAttemptId());
        BufferAllocator allocator = ArrowUtils.rootAllocator().newChildAllocator(name, 0, Long.MAX_VALUE);
        PythonTaskScope scope = new PythonTaskScope(py, worker, allocator, task, what);
        if (task != null) task.addTaskCompletionListener((TaskCompletionListener) ctx -> scope.close());
        return scope;
    }

    /** Keeps {@code resource} until the task ends; returns it. */
    public <T extends AutoCloseable> T own(T resource) {
        owned.push(resource);
        return resource;
    }

    /** The user's function, loaded into this interpreter once (owned by the scope). */
    public PyObject load(PythonFunction fn) {
        try (PyObject load = worker.getAttr("load")) {
            return own(load.call(fn.key(), fn.kind(), fn.text(), fn.name()));
        } catch (PythonException e) {
            throw failure(e, null);
        }
    }

    /** A worker function (owned by the scope). */
    public PyObject workerFunction(String name) {
        return own(worker.getAttr(name));
    }

    /** {@code root} handed to Python without copying; the root is closed here (Python keeps the memory alive). */
    public PyObject export(VectorSchemaRoot root) {
        try (root) {
            return ArrowExport.batch(py, root);
        }
    }

    /** A batch from Python as a root over Python's memory; closing it gives the memory back. */
    public VectorSchemaRoot importBatch(PyObject batch) {
        return ArrowImport.batch(py, batch, allocator);
    }

    /** A Python list of the given Java values (converted as {@link PyObject#call} converts arguments), owned by the scope. */
    public PyObject list(List<?> values) {
        PyObject list = own(py.eval("[]"));
        try (PyObject append = list.getAttr("append")) {
            for (Object v : values) append.call(v).close();
        }
        return list;
    }

    /** Fails the task for a Python exception: the Java exception that caused it if there is one, else the Python one with its traceback. */
    public RuntimeException failure(PythonException e, RuntimeException javaCause) {
        if (javaCause != null) {
            javaCause.addSuppressed(e);
            return javaCause;
        }
        return new PythonUdfException(what, e);
    }

    /** Spark's task killing: throws {@code TaskKilledException} if the task was killed. */
    public void checkKilled() {
        if (task != null) task.killTaskIfInterrupted();
    }

    /** Rows over an imported batch (valid until the root is closed). */
    public static Iterator<InternalRow> rows(VectorSchemaRoot root) {
        List<FieldVector> vectors = root.getFieldVectors();
        ColumnVector[] columns = new ColumnVector[vectors.size()];
        for (int i = 0; i < columns.length; i++) columns[i] = new ArrowColumnVector(vectors.get(i));
        return new ColumnarBatch(columns, root.getRowCount()).rowIterator();
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        while (!owned.isEmpty()) {
            try {
                owned.pop().close();
            } catch (Exception | Error e) {
                LOG.warn("{}: releasing a task resource failed", what, e);
            }
        }
        try {
            allocator.close();
        } catch (RuntimeException e) {
            LOG.warn("{}: Arrow memory still allocated at the end of the task: {}", what, e.getMessage());
        }
        if (task != null) {
            // executor threads come and go with the pool: free this thread's Python thread state
            // (the next task on it makes a new one, some 30 us) rather than leave it until exit
            try {
                py.detachThread();
            } catch (IllegalStateException e) {
                LOG.debug("{}: the thread state stays: {}", what, e.getMessage());
            }
        }
    }
}
