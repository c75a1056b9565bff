package dev.panamapy.spark.internal;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The embedded CPython of this executor JVM: one per JVM, started by the first task that needs
 * it and shared by every task thread after (each call takes the GIL). It is never closed: CPython
 * cannot be restarted in a process, and the JVM's exit reclaims it. If something else in the JVM
 * already started one (a driver in local mode, a test), that one is used.
 */
public final class ExecutorPython {

    /** The Spark conf naming the Python executable on the workers (default: the bridge's discovery). */
    public static final String PYTHON_CONF = "spark.panamapy.python";

    private static final Logger LOG = LoggerFactory.getLogger(ExecutorPython.class);
    private static final String WORKER = "dev/panamapy/spark/worker.py";

    private static CPython python;   // guarded by ExecutorPython.class
    private static PyObject worker;  // guarded by ExecutorPython.class; the _panamapy_spark module, never closed

    private ExecutorPython() { }

    /**
     * The running interpreter, started now if there is none.
     *
     * @param executable the Python to start ({@value #PYTHON_CONF}), or null for discovery
     *                   ({@code panamapy.python}, {@code PANAMAPY_PYTHON}, {@code python3})
     */
    public static synchronized CPython python(String executable) {
        if (python != null && !python.isClosed()) return python;
        python = CPython.running().orElseGet(() -> {
            LOG.info("starting the executor's embedded CPython ({})", executable == null ? "discovered" : executable);
            return executable == null || executable.isBlank() ? CPython.start()
                    : CPython.builder().python(Path.of(executable)).start();
        });
        worker = null;
        return python;
    }

    /**
     * The worker module ({@code worker.py} as {@code _panamapy_spark}), loaded once per interpreter.
     * Shared: callers must not close it.
     *
     * @throws dev.panamapy.PythonException if it cannot be loaded (pyarrow missing: the message says so)
     */
    public static synchronized PyObject worker(CPython py) {
        if (worker != null) return worker;
        String source;
        try (InputStream in = ExecutorPython.class.getClassLoader().getResourceAsStream(WORKER)) {
            if (in == null) throw new IllegalStateException(WORKER + " is missing from the panamapy-spark jar");
            source = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + WORKER, e);
        }
        try (PyObject types = py.importModule("types");
             PyObject module = types.getAttr("ModuleType").call("_panamapy_spark");
             PyObject compile = py.eval("compile");
             PyObject code = compile.call(source, "panamapy-spark/worker.py", "exec");
             PyObject exec = py.eval("exec");
             PyObject namespace = module.getAttr("__dict__");
             PyObject sys = py.importModule("sys");
             PyObject modules = sys.getAttr("modules")) {
            exec.call(code, namespace).close();
            modules.setItem("_panamapy_spark", module);
            worker = modules.getItem("_panamapy_spark");
        }
        return worker;
    }
}
