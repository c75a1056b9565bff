package dev.panamapy;

import dev.panamapy.internal.Convert;
import dev.panamapy.internal.Errors;
import dev.panamapy.internal.Exports;
import dev.panamapy.internal.Interpreter;
import dev.panamapy.internal.Mem;
import dev.panamapy.internal.Ownership;
import dev.panamapy.internal.PythonInstallation;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Optional;

import static dev.panamapy.bindings.Python_h.*;

/**
 * The CPython interpreter embedded in this JVM. One per process:
 *
 * <pre>{@code
 * try (CPython py = CPython.start()) {
 *     py.exec("import numpy as np");
 *     long three = py.eval("1 + 2").asLong();
 * }
 * }</pre>
 *
 * <p><b>Which Python.</b> {@link Builder#python(Path)}, else the system property
 * {@code panamapy.python}, else the environment variable {@code PANAMAPY_PYTHON}, else
 * {@code python3} on PATH. The executable is asked once for its shared libpython and its
 * {@code sys.path}; the embedded interpreter sees the same {@code sys.path} (a venv's
 * site-packages included). CPython 3.9 or newer with a shared libpython is required.
 *
 * <p><b>Threads and the GIL.</b> Any Java platform thread may call at any time: every call
 * takes the GIL for its duration, and no Java thread holds it between calls, so Python threads
 * keep running. Virtual threads are refused ({@link UnsupportedOperationException}): the GIL
 * belongs to an OS thread, and a virtual thread may move to another while it holds it. {@link #gil()} holds it across a batch of calls. CPython's signal handlers are not
 * installed ({@code Py_InitializeEx(0)}): the JVM keeps its own.
 *
 * <p><b>Stack depth.</b> Java and CPython share the calling thread's stack. Each call into
 * Python fits CPython's recursion budget to the stack the thread has left (CPython itself
 * assumes 8 MiB; a Java thread has 1 MiB unless made with more), so deep recursion in Python,
 * and Java calling Python calling Java again and again, end in Python's {@code RecursionError}
 * (a {@link PythonException} in Java) rather than a crash. On a thread with less than 8 MiB,
 * deep Python code therefore stops earlier than in standalone Python: run it on a thread with a
 * big stack, {@code new Thread(null, task, "python", 16L << 20)}.
 *
 * <p><b>Lifetime.</b> {@link #close()} finalizes the interpreter; every call after it throws
 * {@link IllegalStateException}. CPython cannot be restarted in the same process.
 *
 * <p>Native access must be enabled for the bridge and the bindings:
 * {@code --enable-native-access=dev.panamapy.bridge,dev.panamapy.bindings} on the module path,
 * {@code --enable-native-access=ALL-UNNAMED} on the class path.
 */
public final class CPython implements AutoCloseable {

    private static volatile CPython current;

    static {
        dev.panamapy.internal.Functions.wrapper = PyObject::new;
    }

    final Interpreter interp;

    private CPython(Interpreter interp) {
        this.interp = interp;
    }

    /**
     * Starts CPython from the discovered Python.
     *
     * @throws PythonStartupException if no usable Python is found (the message says what to do)
     * @throws IllegalStateException  if CPython already runs, or ran, in this process
     */
    public static CPython start() {
        return builder().start();
    }

    /** A builder to choose the Python executable. */
    public static Builder builder() {
        return new Builder();
    }

    /** The running interpreter, if one was started and not closed. */
    public static Optional<CPython> running() {
        CPython c = current;
        return c != null && !c.interp.isClosed() ? Optional.of(c) : Optional.empty();
    }

    /** Chooses the Python to embed. */
    public static final class Builder {
        private Path python;

        private Builder() { }

        /** The Python executable (a venv's {@code bin/python} works: its site-packages are seen). */
        public Builder python(Path executable) {
            this.python = Objects.requireNonNull(executable, "executable");
            return this;
        }

        /** Starts CPython. See {@link CPython#start()}. */
        public CPython start() {
            synchronized (CPython.class) {
                CPython c = new CPython(Interpreter.start(python));
                current = c;
                return c;
            }
        }
    }

    // ---- running code -----------------------------------------------------------------------

    /**
     * Runs statements in {@code __main__}, like a script.
     *
     * @throws PythonException on a syntax error or an exception raised by the code
     */
    public void exec(String code) {
        run(code, Py_file_input()).close();
    }

    /**
     * Evaluates an expression in {@code __main__}.
     *
     * @return the value, a new object the caller owns
     * @throws PythonException on a syntax error or an exception raised by the expression
     */
    public PyObject eval(String expression) {
        return run(expression, Py_eval_input());
    }

    private PyObject run(String code, int mode) {
        Objects.requireNonNull(code, "code");
        int g = interp.enter();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment compiled = Py_CompileString(a.allocateFrom(code), a.allocateFrom("<panamapy>"), mode);
            Errors.check(interp.c, compiled);
            try {
                MemorySegment globals = Mem.ptr(interp.c.mainDict);
                return PyObject.own(interp, PyEval_EvalCode(compiled, globals, globals));
            } finally {
                Py_DecRef(compiled);
            }
        } finally {
            interp.exit(g);
        }
    }

    /**
     * Imports a module ({@code import name}; dotted names give the submodule).
     *
     * @throws PythonException (ModuleNotFoundError ...) if it cannot be imported
     */
    public PyObject importModule(String name) {
        Objects.requireNonNull(name, "name");
        int g = interp.enter();
        try (Arena a = Arena.ofConfined()) {
            return PyObject.own(interp, PyImport_ImportModule(a.allocateFrom(name)));   // the leaf module for dotted names
        } finally {
            interp.exit(g);
        }
    }

    /** Binds a name in {@code __main__} to a Java value, converted as by {@link PyObject#call}. */
    public void setGlobal(String name, Object value) {
        Objects.requireNonNull(name, "name");
        int g = interp.enter();
        try (Arena a = Arena.ofConfined()) {
            long v = Convert.toPython(interp.c, value);
            int rc = PyDict_SetItemString(Mem.ptr(interp.c.mainDict), a.allocateFrom(name), Mem.ptr(v));
            Py_DecRef(Mem.ptr(v));
            Errors.checkInt(interp.c, rc);
        } finally {
            interp.exit(g);
        }
    }

    /**
     * The value bound to a name in {@code __main__}, a new object the caller owns.
     *
     * @throws NoSuchElementException if the name is not bound
     */
    public PyObject getGlobal(String name) {
        Objects.requireNonNull(name, "name");
        int g = interp.enter();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = PyDict_GetItemString(Mem.ptr(interp.c.mainDict), a.allocateFrom(name));   // borrowed
            if (v.address() == 0) throw new NoSuchElementException("no global '" + name + "' in __main__");
            Py_IncRef(v);
            return new PyObject(interp, v.address());
        } finally {
            interp.exit(g);
        }
    }

    /**
     * Frees the Python thread state this thread keeps between calls. Each Java platform thread
     * that calls Python keeps one (a few hundred bytes, plus a 16 KiB frame stack from 3.11 on)
     * so that a call costs a GIL hand-over instead of tens of microseconds; a short-lived thread
     * should call this before it ends, or its state stays until {@link #close()}. Thread pools
     * need not. The next call on this thread simply makes a new one.
     *
     * @throws IllegalStateException inside a {@link #gil()} scope or a Java function called from Python
     */
    public void detachThread() {
        interp.detachThread();
    }

    /**
     * Holds the GIL on this thread until the returned scope is closed, for a batch of calls.
     * Close it on the same thread; never hold it while waiting for another thread that calls Python.
     */
    public Gil gil() {
        return new Gil(interp);
    }

    // ---- sharing memory -------------------------------------------------------------------

    /**
     * Exports Java memory to Python as a {@code panamapy.JavaBuffer}: {@code memoryview(buf)},
     * {@code numpy.asarray(buf)} and every other PEP 3118 consumer read and write the spec's
     * segment in place. The caller owns the returned handle; see {@link JavaBuffer} for the
     * lifetime rules.
     *
     * @throws IllegalArgumentException if an element of the spec lies outside its segment (named)
     * @throws IllegalStateException    if the segment's arena is already closed, or CPython is
     */
    public JavaBuffer export(BufferSpec spec) {
        Objects.requireNonNull(spec, "spec");
        return JavaBuffer.create(this, spec, null, true);
    }

    /**
     * Exports like {@link #export(BufferSpec)}, but Python does not report releases to Java:
     * the object's type has no {@code bf_releasebuffer}, which saves one upcall per view. Each
     * view still holds the Python object and the object the memory, so the memory stays valid;
     * in exchange the count of live views is unknown ({@link JavaBuffer#exportCount()},
     * {@code onRelease} and {@code awaitReleased} are unsupported) and the memory must be
     * memory the bridge can keep alive: from {@link #arena()}, an auto arena, or the global one.
     *
     * @throws IllegalArgumentException for memory in a confined or shared arena of the caller's
     */
    public JavaBuffer exportUntracked(BufferSpec spec) {
        Objects.requireNonNull(spec, "spec");
        return JavaBuffer.create(this, spec, null, false);
    }

    /**
     * Exports a dynamic exporter: it is asked for a view on each {@code getbuffer} and told of
     * each release.
     */
    public JavaBuffer export(BufferExporter exporter) {
        Objects.requireNonNull(exporter, "exporter");
        return JavaBuffer.create(this, null, exporter, true);
    }

    /**
     * A new arena whose memory Python may keep using after Java is done with it: closing the
     * arena frees its memory only once no {@link JavaBuffer} over it is alive in Python any more
     * (the last numpy array over it was collected). Until then {@code close()} only marks it.
     * Allocate from it what you export when you cannot know when Python lets go.
     */
    public Arena arena() {
        return Exports.newSharingArena();
    }

    /**
     * Exposes a Java function to Python as a callable bound to {@code name} in {@code __main__}
     * (and returns it, owned by the caller, to pass as an argument elsewhere). Python arguments
     * arrive as Java values (None to null, bool to Boolean, int to Long, float to Double, str
     * to String, bytes to byte[], anything else as a {@link PyObject} valid during the call);
     * the result is converted as by {@link PyObject#call}. A Java exception becomes a Python
     * {@code panamapy.JavaException} with the Java class and message; if it travels back out to
     * Java, the {@link PythonException} has it as its cause.
     */
    public PyObject defineFunction(String name, JavaFunction fn) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(fn, "fn");
        PyObject f = function(name, fn);
        setGlobal(name, f);
        return f;
    }

    /** A Python callable backed by a Java function, not bound to any name. See {@link #defineFunction}. */
    public PyObject function(String name, JavaFunction fn) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(fn, "fn");
        int g = interp.enter();
        try {
            return new PyObject(interp, dev.panamapy.internal.Functions.create(interp, name, fn));
        } finally {
            interp.exit(g);
        }
    }

    // ---- facts ------------------------------------------------------------------------------

    /** The embedded Python's version, e.g. "3.11.7". */
    public String version() { return interp.installation().version(); }

    /** The embedded Python's minor version number (11 for 3.11). */
    public int minorVersion() { return interp.installation().minor(); }

    /** The executable the interpreter was configured from. */
    public Path executable() { return Path.of(interp.installation().sysExecutable()); }

    /** The shared libpython loaded into this process. */
    public Path libpython() { return interp.installation().libpython(); }

    /**
     * Counts for leak checks: strong references Java holds, live exported objects, live views.
     * Takes the GIL (so references dropped without it are counted out first); works after close.
     */
    public Diagnostics diagnostics() {
        int g = interp.tryEnter();              // the counters change under the GIL; -1 once closed
        try {
            return new Diagnostics(Ownership.liveReferences(), Exports.liveExporters(), Exports.liveViews(),
                    Exports.totalExports());
        } finally {
            if (g != -1) interp.exit(g);
        }
    }

    /**
     * @param liveReferences strong Python references held by Java objects (PyObject, JavaBuffer ...)
     * @param liveExporters  {@code panamapy.JavaBuffer} objects alive in Python
     * @param liveViews      buffer views of Java memory not yet released by Python
     * @param totalExports   views handed out since start
     */
    public record Diagnostics(long liveReferences, long liveExporters, long liveViews, long totalExports) { }

    /** Whether {@link #close()} was called. */
    public boolean isClosed() { return interp.isClosed(); }

    /**
     * Finalizes CPython ({@code Py_FinalizeEx}) after calls in flight on other threads returned.
     * Idempotent. Python's non-daemon threads are joined first, as at interpreter exit.
     *
     * @throws IllegalStateException if called while this thread holds the GIL
     */
    @Override
    public void close() {
        interp.close();
    }

    @Override
    public String toString() {
        PythonInstallation i = interp.installation();
        return "CPython[" + i.version() + ", " + i.sysExecutable() + (interp.isClosed() ? ", closed" : "") + "]";
    }
}
