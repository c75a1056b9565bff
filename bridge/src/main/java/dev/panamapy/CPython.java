package dev.panamapy;

import dev.panamapy.internal.ExportState;
import dev.panamapy.internal.ExportTable;
import dev.panamapy.internal.Functions;
import dev.panamapy.internal.Interpreter;
import dev.panamapy.internal.MainModule;
import dev.panamapy.internal.MemoryOwner;
import dev.panamapy.internal.Ownership;
import dev.panamapy.internal.PythonInstallation;
import dev.panamapy.internal.Text;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.time.Duration;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Optional;

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
 * {@code python3} on PATH. The executable is asked once for its version and shared libpython
 * and becomes the embedded interpreter's program name, so the embedded {@code sys.path} is the
 * one it sees (a venv's site-packages included). CPython 3.9 or newer with a shared libpython,
 * not a free-threaded build, is required, on Java 25 or newer; anything else is refused with a
 * {@link PythonStartupException} that says why.
 *
 * <p><b>Threads and the GIL.</b> Any Java platform thread may call at any time: every call
 * takes the GIL for its duration, and no Java thread holds it between calls, so Python threads
 * keep running. Virtual threads are refused ({@link UnsupportedOperationException}, before
 * anything is done): the GIL belongs to an OS thread, and a virtual thread may move to another
 * while it holds it. Closing works on virtual threads too ({@link PyObject#close()},
 * {@link PyBufferView#close()}, {@link JavaBuffer#close()}), so a {@code finally} there is safe.
 * {@link #gil()} holds it across a batch of calls.
 *
 * <p><b>GIL misuse.</b> Refused with {@link IllegalStateException}, nothing changed: closing a
 * {@link Gil} on another thread or out of order, {@link #close()} or {@link #detachThread()}
 * inside a call. Not detectable before it happens, so only logged (slf4j) when noticed: a thread
 * that ends with its {@code gil()} scope open (every other caller then waits forever), and a
 * thread that holds the GIL (in a scope, or in a Java function called from Python) while it
 * waits for another Java thread that calls Python (a deadlock). See {@link Gil}.
 *
 * <p><b>Signals.</b> The JVM keeps its signal handlers; it relies on SIGSEGV for null checks
 * and safepoints. CPython's are not installed ({@code Py_InitializeEx(0)}), and
 * {@code faulthandler}, which would take SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT (and crash
 * the JVM at its next null check), is kept off: {@code PYTHONFAULTHANDLER} and
 * {@code PYTHONDEVMODE} are ignored at start (they stay in {@code os.environ} for
 * subprocesses), {@code faulthandler.enable()} and {@code faulthandler.register()} only issue a
 * RuntimeWarning, and the JVM's handlers are put back if start-up code replaced them.
 * {@code faulthandler.dump_traceback()} works. {@code signal.signal()} raises ValueError, as
 * CPython allows it only on its own main thread, which runs no user code.
 *
 * <p><b>Fork.</b> A process forked by Python code ({@code os.fork()}) has only the thread that
 * forked: the JVM's own threads (garbage collection, compilers, safepoints) do not exist in it,
 * so Java code there would hang at its first safepoint or collection. Python code in the child
 * is fine. A forked child that returns into Java (the outermost call from Java returns; in a
 * {@link #gil()} scope, when the scope closes) therefore ends at once: it writes a message
 * saying so to file descriptor 2 and exits with status 70, without running Java code,
 * finalizers or shutdown hooks. The parent is unaffected ({@code os.waitpid} reports the
 * child's status 70). Java code the child runs before that check (the rest of the call that
 * returned) can still hang on a JVM lock held at fork time, so never let a forked child return
 * into Java. In a forked child, call only {@code os.exec*()} or {@code os._exit()};
 * for {@code multiprocessing} use the {@code 'spawn'} or {@code 'forkserver'} context (its
 * {@code 'fork'} workers, which run Python only and end with {@code os._exit}, work, but a
 * Java function they call runs Java in the child, at the same risk; and a {@code 'fork'}
 * {@code Pool} can deadlock, as in any multithreaded process, which a JVM always is: its
 * workers can inherit a lock a pool thread held). {@code subprocess} is unaffected: it execs in
 * the child.
 *
 * <p><b>Stack depth.</b> Java and CPython share the calling thread's stack. Each call into
 * Python fits CPython's recursion budget to the stack the thread has left (CPython itself
 * assumes 8 MiB; a Java thread has 1 MiB unless made with more), so deep recursion in Python,
 * and Java calling Python calling Java again and again, end in Python's {@code RecursionError}
 * (a {@link PythonException} in Java) rather than a crash; a call made from Java code that has
 * itself used up all but the last 128 KiB of its stack throws {@link StackOverflowError} before
 * doing anything. On a thread with less than 8 MiB,
 * deep Python code therefore stops earlier than in standalone Python: run it on a thread with a
 * big stack, {@code new Thread(null, task, "python", 16L << 20)}.
 *
 * <p><b>Lifetime.</b> {@link #close()} finalizes the interpreter; every call after it throws
 * {@link IllegalStateException}. It never finalizes under a running call: it waits for calls
 * in flight (and everything they call) to return. CPython cannot be restarted in the same
 * process.
 *
 * <p>Native access must be enabled for the bridge and the bindings:
 * {@code --enable-native-access=dev.panamapy.bridge,dev.panamapy.bindings} on the module path,
 * {@code --enable-native-access=ALL-UNNAMED} on the class path.
 */
public final class CPython implements AutoCloseable {

    private static volatile CPython current;

    final Interpreter interp;

    private CPython(Interpreter interp) {
        this.interp = interp;
    }

    /**
     * Starts CPython from the discovered Python, on a thread of its own ("panamapy-main") that
     * also finalizes it at {@link #close()}; that thread imports {@code threading} first, so
     * {@code threading.main_thread()} is it, as in a Python program. {@code faulthandler} stays
     * off whatever the environment says (see the class comment, <i>Signals</i>).
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
     * Runs statements in {@code __main__}, like a script. Takes the GIL for the call.
     *
     * @throws PythonException          on a syntax error or an exception raised by the code
     * @throws IllegalArgumentException if the code contains NUL or a lone surrogate, which C and
     *                                  Python's UTF-8 compiler cannot take (the index is named;
     *                                  nothing is run): pass such text as a value with {@link #setGlobal}
     * @throws IllegalStateException    after {@link #close()}
     */
    public void exec(String code) {
        Text.requireCode("code", code);
        int g = interp.enter();
        try {
            MainModule.exec(interp.c, code);
        } finally {
            interp.exit(g);
        }
    }

    /**
     * Evaluates an expression in {@code __main__}. Takes the GIL for the call.
     *
     * @return the value, a new object the caller owns
     * @throws PythonException          on a syntax error or an exception raised by the expression
     * @throws IllegalArgumentException if the expression contains NUL or a lone surrogate (see {@link #exec})
     * @throws IllegalStateException    after {@link #close()}
     */
    public PyObject eval(String expression) {
        Text.requireCode("code", expression);
        int g = interp.enter();
        try {
            return new PyObject(interp, MainModule.eval(interp.c, expression));
        } finally {
            interp.exit(g);
        }
    }

    /**
     * Imports a module ({@code import name}; dotted names give the submodule), a new object the
     * caller owns. Takes the GIL for the call.
     *
     * @throws PythonException          (ModuleNotFoundError ...) if it cannot be imported
     * @throws IllegalArgumentException if the name contains NUL (nothing is imported)
     * @throws IllegalStateException    after {@link #close()}
     */
    public PyObject importModule(String name) {
        Text.requireName("module name", name);
        int g = interp.enter();
        try {
            return new PyObject(interp, MainModule.importModule(interp.c, name));
        } finally {
            interp.exit(g);
        }
    }

    /**
     * Binds a name in {@code __main__} to a Java value, converted as by {@link PyObject#call}.
     * Takes the GIL for the call. On any failure nothing is bound and no reference is kept.
     *
     * @throws IllegalArgumentException if the name contains NUL or the value cannot be converted
     * @throws IllegalStateException    if a PyObject value, or CPython, is closed
     * @throws PythonException          if Python cannot store it (MemoryError)
     */
    public void setGlobal(String name, Object value) {
        Text.requireName("global name", name);
        int g = interp.enter();
        try {
            MainModule.setGlobal(interp.c, name, value);
        } finally {
            interp.exit(g);
        }
    }

    /**
     * The value bound to a name in {@code __main__}, a new object the caller owns. Takes the GIL.
     *
     * @throws NoSuchElementException   if the name is not bound
     * @throws IllegalArgumentException if the name contains NUL
     * @throws IllegalStateException    after {@link #close()}
     */
    public PyObject getGlobal(String name) {
        Text.requireName("global name", name);
        int g = interp.enter();
        try {
            long v = MainModule.getGlobal(interp.c, name);
            if (v == 0) throw new NoSuchElementException("no global '" + name + "' in __main__");
            return new PyObject(interp, v);
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
     * Close it on the same thread, innermost scope first, before the thread ends; never hold it
     * while waiting for another thread that calls Python. See {@link Gil} for what is checked.
     *
     * @throws IllegalStateException once {@link #close()} began
     * @throws UnsupportedOperationException on a virtual thread
     */
    public Gil gil() {
        return new Gil(interp);
    }

    /**
     * Runs {@code action} with the GIL let go, then takes it back: Python's
     * {@code Py_BEGIN_ALLOW_THREADS} for Java code. Inside a Java function called from Python (or
     * a {@link #gil()} scope, or an exporter's upcall) the GIL is held, so a wait there for another
     * thread that calls Python is a deadlock; wrapped in {@code withoutGil}, other threads run
     * Python during the wait, and the action may call Python itself (each call takes the GIL
     * again, as on any thread). Where this thread holds no GIL it just runs the action.
     * <pre>{@code
     * py.defineFunction("next_row", args -> py.withoutGil(() -> queue.take()));   // a producer thread calls Python too
     * }</pre>
     * While the action runs, other threads may use anything the GIL guarded (a {@link JavaBuffer}
     * being exported may be closed meanwhile, and the view is then refused). A {@link #gil()} scope
     * opened in the action must be closed in it (one left open is closed when the action ends,
     * which then throws {@link IllegalStateException}); one opened outside cannot be closed inside.
     * Release callbacks of closes made on virtual threads run one at a time on one bridge thread:
     * a callback must not wait there for another virtual thread's close.
     *
     * @param <X> what the action may throw (checked exceptions such as InterruptedException pass through)
     * @return what the action returned; what it throws is thrown on, after the GIL is taken back
     * @throws StackOverflowError when this thread's stack is too nearly used up to take the GIL back
     *                            safely afterwards (then the action does not run)
     */
    public <T, X extends Exception> T withoutGil(Action<T, X> action) throws X {
        Objects.requireNonNull(action, "action");
        return interp.withoutGil(action::run);
    }

    /** {@link #withoutGil(Action)} for an action that returns nothing. */
    public <X extends Exception> void withoutGil(VoidAction<X> action) throws X {
        Objects.requireNonNull(action, "action");
        interp.<Void, X>withoutGil(() -> {
            action.run();
            return null;
        });
    }

    /** Code run by {@link #withoutGil(Action)}: returns a value, may throw X. */
    @FunctionalInterface
    public interface Action<T, X extends Exception> {
        T run() throws X;
    }

    /** Code run by {@link #withoutGil(VoidAction)}: returns nothing, may throw X. */
    @FunctionalInterface
    public interface VoidAction<X extends Exception> {
        void run() throws X;
    }

    // ---- sharing memory -------------------------------------------------------------------

    /**
     * Exports Java memory to Python as a {@code panamapy.JavaBuffer}: {@code memoryview(buf)},
     * {@code numpy.asarray(buf)} and every other PEP 3118 consumer read and write the spec's
     * segment in place. The caller owns the returned handle; see {@link JavaBuffer} for the
     * lifetime rules. A {@link BufferSpec} is checked first; a test harness's {@link HarnessSpec}
     * is exported as it is (dangerous by design: Python may read or write outside the segment).
     *
     * @throws IllegalArgumentException if an element of a BufferSpec lies outside its segment
     *         (named), or a HarnessSpec's size does not fit in a {@code long}
     * @throws IllegalStateException    if the segment's arena is already closed, or CPython is
     */
    public JavaBuffer export(BufferLayout spec) {
        Objects.requireNonNull(spec, "spec");
        return JavaBuffer.create(this, spec, null, true);
    }

    /**
     * Exports like {@link #export(BufferLayout)}, but Python does not report releases to Java:
     * the object's type has no {@code bf_releasebuffer}, which saves one upcall per view. Each
     * view still holds the Python object and the object the memory, so the memory stays valid;
     * in exchange the count of live views is unknown ({@link JavaBuffer#exportCount()},
     * {@code onRelease} and {@code awaitReleased} are unsupported) and the memory must be
     * memory the bridge frees: from {@link #arena()}.
     *
     * @throws IllegalArgumentException for any other memory (an arena of the caller's,
     *         {@code Arena.ofAuto()}, {@code Arena.global()}, a ByteBuffer, a raw address: the
     *         bridge cannot prove that anything keeps it; see {@link JavaBuffer}), or if an
     *         element of the spec lies outside its segment
     * @throws IllegalStateException    if the segment's arena is already closed, or CPython is
     */
    public JavaBuffer exportUntracked(BufferSpec spec) {
        Objects.requireNonNull(spec, "spec");
        return JavaBuffer.create(this, spec, null, false);
    }

    /**
     * Exports a dynamic exporter: it is asked for a view on each {@code getbuffer} and told of
     * each release. The memory of every view it hands out is kept for as long as the Python
     * object lives (see {@link JavaBuffer}): {@link #arena()} memory stays allocated until then
     * even if the arena is closed, so an exporter that hands out views of ever new memory keeps
     * all of it until Python lets go of the object. {@link JavaBuffer#close()} refuses while
     * views of memory other than {@link #arena()}'s are live.
     *
     * @throws IllegalStateException if CPython is closed
     */
    public JavaBuffer export(BufferExporter exporter) {
        Objects.requireNonNull(exporter, "exporter");
        return JavaBuffer.create(this, null, exporter, true);
    }

    /**
     * A Python class over a Java exporter, for Python code to subclass: a subclass of
     * {@code panamapy.Buffer} named {@code name} whose {@code __buffer__(self, flags)} returns
     * {@code memoryview} of a {@link JavaBuffer} exporting through {@code exporter} (PEP 688
     * delegation, on every CPython from 3.9 on). A Python subclass adds its own logic and calls up
     * to Java with {@code super().__buffer__(flags)} (slicing or casting the memoryview it gets),
     * and may define {@code __release_buffer__(self, view)}. Every instance of the class and its
     * subclasses shares the one export: each consumer view is one {@code getBuffer} request
     * ({@link BufferRequest#FULL_RO}, what {@code memoryview} asks; the consumer's own flags are
     * then applied to that memoryview by CPython) and one {@code releaseBuffer}, on the thread
     * that takes or releases it, with the GIL held. The export lives while the class does.
     * Takes the GIL.
     *
     * <pre>{@code
     * PyObject base = py.exporterClass("Frame", exporter);
     * py.setGlobal("Frame", base);
     * py.exec("""
     *     class Header(Frame):
     *         def __buffer__(self, flags):
     *             return super().__buffer__(flags)[:16]      # the first 16 bytes of Java's view
     *     """);
     * }</pre>
     *
     * @param name     the class's name (its {@code __name__})
     * @param exporter asked for a view on each {@code __buffer__} call of any instance, told of its release
     * @return a new reference to the class, owned by the caller
     * @throws IllegalArgumentException if the name is not a Python identifier
     * @throws PythonException          if Python refuses to make the class
     * @throws IllegalStateException    if CPython is closed
     */
    public PyObject exporterClass(String name, BufferExporter exporter) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(exporter, "exporter");
        if (!name.matches("[A-Za-z_][A-Za-z0-9_]*")) {
            throw new IllegalArgumentException("exporterClass name must be a Python identifier (ASCII letters, digits "
                    + "and _, not starting with a digit): '" + name + "'; nothing was made");
        }
        // no JavaBuffer handle: the class alone keeps the Python object (and with it the exporter)
        PyObject java;
        int g = interp.enter();
        try {
            java = new PyObject(interp, ExportTable.newObject(interp.c, new ExportState(null, exporter, true)));
        } finally {
            interp.exit(g);
        }
        try (java;
             PyObject module = importModule("panamapy");
             PyObject factory = module.getAttr("_exporter_class")) {
            return factory.call(name, java);
        }
    }

    /**
     * A new arena whose memory Python may keep using after Java is done with it: closing the
     * arena frees its memory only once no {@link JavaBuffer} that exported it (statically, or
     * through a {@link BufferExporter} view) is alive in Python any more (the last numpy array
     * over it was collected). Until then {@code close()} only marks it; the memory is freed
     * exactly once. The only memory {@link #exportUntracked} accepts, and the only memory whose
     * {@link JavaBuffer} may be closed while views live. Allocate from it what you export when
     * you cannot know when Python lets go. Thread-safe, like a shared arena.
     */
    public Arena arena() {
        return MemoryOwner.newSharingArena();
    }

    /**
     * Exposes a Java function to Python as a callable bound to {@code name} in {@code __main__}
     * (and returns it, owned by the caller, to pass as an argument elsewhere). Python arguments
     * arrive as Java values (None to null, bool to Boolean, int to Long, float to Double, str
     * to String, bytes to byte[], anything else as a {@link PyObject} valid during the call);
     * the result is converted as by {@link PyObject#call}. A Java exception becomes a Python
     * {@code panamapy.JavaException} with the Java class and message; if it travels back out to
     * Java, the {@link PythonException} has it as its cause. Strings cross exactly both ways
     * (lone surrogates and NUL kept, see {@link PyObject#asString()}). Takes the GIL.
     *
     * @throws IllegalArgumentException if the name contains NUL or a lone surrogate (Python keeps
     *                                  a function's name as UTF-8); nothing is defined
     * @throws IllegalStateException    after {@link #close()}
     */
    public PyObject defineFunction(String name, JavaFunction fn) {
        Text.requireCName("function name", name);
        Objects.requireNonNull(fn, "fn");
        PyObject f = function(name, fn);
        try {
            setGlobal(name, f);
        } catch (RuntimeException e) {
            f.close();                          // nothing defined: the function goes again
            throw e;
        }
        return f;
    }

    /**
     * A Python callable backed by a Java function, not bound to any name, owned by the caller.
     * See {@link #defineFunction}.
     *
     * @throws IllegalArgumentException if the name contains NUL or a lone surrogate
     * @throws IllegalStateException    after {@link #close()}
     */
    public PyObject function(String name, JavaFunction fn) {
        Text.requireCName("function name", name);
        Objects.requireNonNull(fn, "fn");
        int g = interp.enter();
        try {
            return new PyObject(interp, Functions.create(interp, name, fn));
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
            return new Diagnostics(Ownership.liveReferences(), ExportTable.liveExporters(), ExportTable.liveViews(),
                    ExportTable.totalExports());
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
     * Finalizes CPython ({@code Py_FinalizeEx}) once the calls in flight on other threads
     * returned. Idempotent; several threads may call it.
     *
     * <ol>
     * <li>From the moment it is called, new calls on other threads are refused
     *     ({@link IllegalStateException}, "CPython is closing"); calls in flight go on, and so do
     *     the Java functions, exporters and nested calls they make, until they return. It waits
     *     for them as long as it takes (logging after 10 s): it never finalizes under a running
     *     call. {@link #tryClose(Duration)} bounds that wait.</li>
     * <li>Then {@code Py_FinalizeEx} runs, as at a Python program's exit: Python joins its
     *     non-daemon threads (a thread that never ends keeps {@code close()} waiting, as it would
     *     keep {@code python} from exiting; it is named in the log after 10 s; note that a thread
     *     started from a Java thread is a daemon thread unless started with {@code daemon=False},
     *     as it inherits the flag of Java threads, daemon threads to Python) and runs
     *     {@code atexit} callbacks; Java functions work meanwhile. After the last callback, Java
     *     functions are refused, and those still running on Python's daemon threads are waited
     *     for, since CPython ends any thread of its own that takes the GIL after that.</li>
     * </ol>
     * Which Java or Python threads imported which modules, and the thread states Java threads
     * keep (alive, ended, pooled), do not matter.
     *
     * @throws IllegalStateException if called while this thread holds the GIL (in a {@link #gil()}
     *         scope or a Java function called from Python): nothing happens. If the thread is
     *         interrupted (or has its interrupt flag set) while it must wait, with the flag kept:
     *         while waiting for calls in flight, CPython is left running and usable and
     *         {@code close()} can be called again; once {@code Py_FinalizeEx} runs, CPython is
     *         closed and finishes finalizing in the background.
     */
    @Override
    public void close() {
        interp.close();
    }

    /**
     * Like {@link #close()}, but waits at most {@code timeout} for the calls in flight (a
     * {@code tryLock} for closing). If they
     * have not all returned by then, nothing is finalized: CPython keeps running and accepts calls
     * again, and this returns false. If {@code Py_FinalizeEx} has begun, this returns true after
     * the timeout even if Python is still joining its threads (logged), and finalization goes on in
     * the background.
     *
     * @param timeout how long to wait; zero or negative: do not wait for calls in flight
     * @return true if CPython is closed, false if it was not finalized and keeps running
     * @throws IllegalStateException as {@link #close()}
     */
    public boolean tryClose(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        long nanos;
        try {
            nanos = Math.max(0, timeout.toNanos());
        } catch (ArithmeticException tooLong) {
            nanos = Long.MAX_VALUE;
        }
        return interp.tryClose(nanos);
    }

    @Override
    public String toString() {
        PythonInstallation i = interp.installation();
        return "CPython[" + i.version() + ", " + i.sysExecutable() + (interp.isClosed() ? ", closed" : "") + "]";
    }
}
