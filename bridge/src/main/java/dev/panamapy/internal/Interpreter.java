package dev.panamapy.internal;

import dev.panamapy.PythonException;
import dev.panamapy.PythonStartupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;

import static dev.panamapy.bindings.Python_h.*;

/**
 * The one embedded CPython of this process: starts it, hands out the GIL, and finalizes it.
 *
 * <p>CPython is initialized and finalized on a dedicated platform thread ("panamapy-main"),
 * so that {@code start} and {@code close} may be called from any Java thread: CPython wants
 * {@code Py_FinalizeEx} on the thread that ran {@code Py_InitializeEx}. Right after start
 * that thread releases the GIL ({@code PyEval_SaveThread}); from then on every call takes it
 * with {@code PyGILState_Ensure} on the calling thread, through {@link #enter()}.
 *
 * <p>{@link #enter()} also counts calls in flight, so {@link #close()} waits for them to
 * leave before it finalizes: no thread can be inside CPython while it goes away. Closing has
 * three steps: <i>closing</i> (new outermost calls are refused, calls in flight and everything
 * they call finish; an interrupt or a timeout undoes it), <i>finalizing</i> ({@code Py_FinalizeEx}
 * on the main thread: Python joins its non-daemon threads and runs atexit callbacks, Java
 * functions still work) and, from the last atexit callback on, <i>tearing down</i> (Java
 * functions are refused, after those still running on Python threads returned).
 */
public final class Interpreter {

    private static final Logger LOG = LoggerFactory.getLogger(Interpreter.class);

    private static final Object LOCK = new Object();
    private static volatile Interpreter running; // written under LOCK
    private static String finalizedBy;           // guarded by LOCK: set once CPython was finalized in this process

    private final PythonInstallation installation;
    private final AtomicInteger inFlight = new AtomicInteger();
    /** close() began: new outermost calls are refused. Undone when every close() waiting was interrupted or timed out. */
    private volatile boolean closing;
    private int closers;                  // guarded by LOCK: close() calls waiting for calls in flight
    /** Finalization began (irreversible): nothing enters any more, cleaners included. */
    private volatile boolean closed;
    /** CPython tears down (after the last atexit callback): Java functions are refused. */
    private volatile boolean upcallsClosed;
    /**
     * Threads Python made that called Java, with their {@link CallState}: an upcall's exit only
     * decrements its depth (no call, so it also works after a StackOverflowError), and
     * {@link #tearDown()} reads them all. Static: there is one interpreter per process.
     */
    private static final Map<Thread, CallState> FOREIGN_THREADS = new ConcurrentHashMap<>();
    private static volatile int foreignPurgeAt = 64;
    /** Python's non-daemon threads alive when finalization began, for the log if it takes long. */
    private volatile String joining = "";
    private final CountDownLatch finalizeRequested = new CountDownLatch(1);
    private final CompletableFuture<Void> finalized = new CompletableFuture<>();
    private final Thread mainThread;

    /** Borrowed or owned pointers cached at start; valid until close. */
    public final Constants c;

    private Interpreter(PythonInstallation installation) {
        this.installation = installation;
        CompletableFuture<Constants> started = new CompletableFuture<>();
        this.mainThread = Thread.ofPlatform().name("panamapy-main").daemon(true).unstarted(() -> run(started));
        mainThread.start();
        try {
            this.c = started.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException re) throw re;
            throw new PythonStartupException("CPython failed to start: " + cause, cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PythonStartupException("interrupted while CPython was starting", e);
        }
    }

    /**
     * Starts CPython from the given executable (or the discovered one).
     *
     * @throws PythonStartupException when it cannot (not found, too old, no shared libpython ...)
     * @throws IllegalStateException  when CPython already runs, or ran, in this process
     */
    public static Interpreter start(Path explicitExecutable) {
        synchronized (LOCK) {
            if (finalizedBy != null) {
                throw new IllegalStateException("CPython was already started and closed in this process (" + finalizedBy
                        + "); CPython cannot be restarted reliably after Py_FinalizeEx (extension modules such as numpy "
                        + "do not support it): start a new JVM");
            }
            if (running != null) {
                throw new IllegalStateException("CPython " + running.installation.version() + " from "
                        + running.installation.sysExecutable() + " is already running in this process; only one "
                        + "interpreter per process is supported: use CPython.running() to get it, or close it first");
            }
            Path exe = LibPython.findExecutable(explicitExecutable);
            PythonInstallation inst = PythonInstallation.probe(exe).requireEmbeddable();
            LOG.debug("embedding CPython {} from {} (libpython {})", inst.version(), inst.sysExecutable(), inst.libpython());
            LibPython.load(inst.libpython());
            running = new Interpreter(inst);
            LOG.info("CPython {} started ({})", inst.version(), inst.sysExecutable());
            return running;
        }
    }

    /** The running interpreter, or null. */
    public static Interpreter running() {
        return running;
    }

    public PythonInstallation installation() { return installation; }

    public boolean isClosed() { return closed; }

    // ---- the main thread ----------------------------------------------------------------------

    private void run(CompletableFuture<Constants> started) {
        MemorySegment tstate;
        Constants constants;
        try {
            if (Py_IsInitialized() != 0) {
                throw new PythonStartupException("CPython is already initialized in this process by someone else");
            }
            try (Arena arena = Arena.ofConfined()) {
                // the program name decides prefix and venv discovery; CPython keeps the pointer forever
                MemorySegment wname = Py_DecodeLocale(arena.allocateFrom(installation.sysExecutable()), MemorySegment.NULL);
                if (!wname.equals(MemorySegment.NULL)) Py_SetProgramName(wname);
            }
            Signals.Saved jvm = Signals.beforeInit();   // faulthandler must not be switched on by the environment
            try {
                Py_InitializeEx(0);      // 0: leave the JVM's signal handlers alone
            } finally {
                Signals.restoreEnvironment(jvm);
            }
            if (Py_IsInitialized() == 0) throw new PythonStartupException("Py_InitializeEx failed");
            constants = new Constants(Types.create(installation.minor()));
            Upcalls.install(constants);
            prepare(jvm);
            CallState.current().ownThreadState = true;   // this thread has its own thread state, for good
            tstate = PyEval_SaveThread();
        } catch (Throwable t) {
            started.completeExceptionally(t instanceof PythonException pe
                    ? new PythonStartupException("CPython started but could not be set up: " + pe.getMessage(), pe) : t);
            return;
        }
        started.complete(constants);
        try {
            finalizeRequested.await();
        } catch (InterruptedException e) {
            // a daemon thread: the JVM is going away; leave CPython as it is
            return;
        }
        try {
            awaitNoEntries();                  // cleaners admitted while closing leave quickly
            PyEval_RestoreThread(tstate);
            CallState me = CallState.current();
            me.depth++;
            try {
                Ownership.drain();             // references Java dropped since the last call
                joining = beforeFinalize();
            } finally {
                me.depth--;
            }
            int rc = Py_FinalizeEx();
            upcallsClosed = true;              // also if Python code removed the atexit callback
            if (rc != 0) LOG.warn("Py_FinalizeEx reported an error flushing buffered data (rc={})", rc);
            LOG.info("CPython {} finalized", installation.version());
            finalized.complete(null);
        } catch (Throwable t) {
            finalized.completeExceptionally(t);
        } finally {
            GilWatchdog.stop();
            synchronized (LOCK) {
                if (running == this) running = null;
            }
        }
    }

    /**
     * Start-up work on the main thread, under the GIL, before any other thread can call.
     *
     * <p>{@code threading} (3.9 to 3.12) makes the thread that imports it first its
     * {@code main_thread()}, whose lock is released when that thread's state is deleted; at
     * finalization {@code threading._shutdown()} releases it itself only when it runs on that
     * very thread, and otherwise waits for it with the non-daemon threads. Imported on a Java
     * thread, which keeps its thread state (see {@link #keepThreadState}), that wait never ends
     * and {@code close()} hangs. Imported here, the main thread is this one, which also runs
     * {@code Py_FinalizeEx}, as in a Python program. ({@link #beforeFinalize()} covers a
     * {@code threading} imported again later.)
     *
     * <p>Also keeps the JVM's signals ({@link Signals}) and guards processes forked by Python
     * code ({@link ForkGuard}).
     */
    private void prepare(Signals.Saved jvm) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment threading = PyImport_ImportModule(a.allocateFrom("threading"));
            if (threading.address() == 0) {
                LOG.warn("could not import threading on the main thread: {}", Errors.fetch(null).getMessage());
            } else {
                Py_DecRef(threading);
            }
        }
        Signals.afterInit(jvm);
        ForkGuard.install();
        registerAtexitHook();
    }

    /**
     * Runs on the main thread, under the GIL, right before {@code Py_FinalizeEx}. If
     * {@code threading.main_thread()} is still another thread (the module was imported again
     * by other code), does for it what {@code threading._shutdown()} does for the thread that
     * runs it: releases its lock and marks it stopped, so finalization does not wait for a Java
     * thread's kept state. Answers the names of Python's non-daemon threads that finalization
     * will join, for the log.
     */
    private static String beforeFinalize() {
        return Snippets.run("""
                import sys
                result = ''
                t = sys.modules.get('threading')
                if t is not None:
                    m = getattr(t, '_main_thread', None)
                    lock = getattr(m, '_tstate_lock', None)           # 3.9 to 3.12
                    if lock is not None and m.ident != t.get_ident() and lock.locked():
                        lock.release()
                        m._stop()
                    result = ', '.join(repr(x.name) for x in t.enumerate()
                                       if x is not m and not x.daemon and x.is_alive())
                """);
    }

    /**
     * Registers {@link #atexitHook} with {@code atexit} first, so that it runs last, when
     * {@code Py_FinalizeEx} has joined Python's threads and run every other atexit callback,
     * right before CPython starts tearing itself down.
     */
    private static void registerAtexitHook() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment def = dev.panamapy.bindings.PyMethodDef.allocate(Arena.global());
            dev.panamapy.bindings.PyMethodDef.ml_name(def, Arena.global().allocateFrom("_panamapy_finalizing"));
            dev.panamapy.bindings.PyMethodDef.ml_meth(def, ATEXIT_HOOK);
            dev.panamapy.bindings.PyMethodDef.ml_flags(def, METH_NOARGS());
            MemorySegment fn = PyCFunction_NewEx(def, MemorySegment.NULL, MemorySegment.NULL);
            MemorySegment atexit = PyImport_ImportModule(a.allocateFrom("atexit"));
            MemorySegment register = atexit.address() == 0 ? MemorySegment.NULL
                    : PyObject_GetAttrString(atexit, a.allocateFrom("register"));
            MemorySegment done = MemorySegment.NULL;
            if (fn.address() != 0 && register.address() != 0) {
                MemorySegment args = PyTuple_New(1);
                Py_IncRef(fn);
                PyTuple_SetItem(args, 0, fn);
                done = PyObject_CallObject(register, args);
                Py_DecRef(args);
            }
            if (done.address() == 0) {
                LOG.warn("could not register the bridge's atexit callback; Java functions stay callable while CPython "
                        + "tears down: {}", Errors.fetch(null).getMessage());
            } else {
                Py_DecRef(done);
            }
            if (register.address() != 0) Py_DecRef(register);
            if (atexit.address() != 0) Py_DecRef(atexit);
            if (fn.address() != 0) Py_DecRef(fn);
        }
    }

    private static final MemorySegment ATEXIT_HOOK;
    static {
        try {
            var fd = java.lang.foreign.FunctionDescriptor.of(java.lang.foreign.ValueLayout.JAVA_LONG,
                    java.lang.foreign.ValueLayout.JAVA_LONG, java.lang.foreign.ValueLayout.JAVA_LONG);
            var mh = java.lang.invoke.MethodHandles.lookup().findStatic(Interpreter.class, "atexitHook", fd.toMethodType());
            ATEXIT_HOOK = java.lang.foreign.Linker.nativeLinker().upcallStub(mh, fd, Arena.global());
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    // PyObject *hook(PyObject *self, PyObject *unused)  (METH_NOARGS), the last atexit callback
    private static long atexitHook(long self, long unused) {
        try {
            Interpreter in = running;
            if (in != null) in.tearDown();
        } catch (Throwable t) {
            UpcallBarrier.voidFailure("atexit", t);
        }
        long none = _Py_NoneStruct().address();
        Py_IncRef(Mem.ptr(none));
        return none;
    }

    /**
     * From here on CPython tears itself down: a thread Python made that takes the GIL after
     * that is ended by CPython ({@code pthread_exit}), Java frames and all. So Java functions are
     * refused from now on, and those still running on Python's (daemon) threads are waited for,
     * with the GIL let go so that they can finish. Only when {@code close()} finalizes, on the
     * main thread: Python code calling {@code atexit._run_exitfuncs()} changes nothing.
     */
    private void tearDown() {
        if (!closed || Thread.currentThread() != mainThread) return;
        upcallsClosed = true;
        if (foreignUpcallsRunning() == 0) return;
        MemorySegment ts = PyEval_SaveThread();
        try {
            long since = System.nanoTime();
            boolean logged = false;
            while (foreignUpcallsRunning() > 0) {
                java.util.concurrent.locks.LockSupport.parkNanos(1_000_000L);
                if (!logged && System.nanoTime() - since > LONG_WAIT_NANOS) {
                    logged = true;
                    LOG.warn("CPython's finalization waits for {} Java function(s) still running on Python threads: {}",
                            foreignUpcallsRunning(), GilWatchdog.describeThreads(FOREIGN_THREADS.keySet()));
                }
            }
        } finally {
            PyEval_RestoreThread(ts);
        }
    }

    /** When close() and finalization log that they still wait. */
    private static final long LONG_WAIT_NANOS = 10_000_000_000L;

    /** Whether Java functions are refused: CPython tears down (see {@link #tearDown()}). */
    public boolean refusesJavaFunctions() { return upcallsClosed; }

    /**
     * Whether user Java code called from Python (exporters, release listeners) must not run: the
     * running interpreter tears down (see {@link #tearDown()}). Read under the GIL, which orders
     * it with tearDown's wait for upcalls in flight.
     */
    static boolean refusesUserCode() {
        Interpreter i = running;
        return i != null && i.upcallsClosed;
    }

    // ---- the GIL --------------------------------------------------------------------------------

    /**
     * Takes the GIL on this thread (re-entrantly) and counts the call in flight. Every
     * {@code enter} must be paired with {@link #exit(int)} on the same thread. CPython's
     * recursion budget is fitted to the stack this thread has left ({@link StackGuard}).
     *
     * @throws IllegalStateException after {@link #close()}
     * @throws PythonException       RecursionError when this thread's stack is nearly used up
     *                               (nothing is left taken)
     * @throws StackOverflowError    when even less is left, before anything is taken
     */
    public int enter() {
        if (closing) {
            CallState s = CallState.current();
            if (s.depth == 0 && s.suspensions == 0) throw refused();
        }
        int g = tryEnter();
        if (g == -1) throw refused();
        if (StackGuard.exhausted()) throw refuse(g);
        return g;
    }

    private IllegalStateException refused() {
        if (closed) return new IllegalStateException("CPython is closed: no calls can be made after close()");
        return new IllegalStateException("CPython is closing: close() was called and waits for the calls in flight to "
                + "finish; new calls are refused (if that close() is interrupted or times out, CPython keeps running "
                + "and accepts calls again)");
    }

    /** Too little stack left on this thread to run Python: RecursionError, and the entry undone. */
    private PythonException refuse(int g) {
        try {
            return StackGuard.refusal(c);
        } finally {
            exit(g);
        }
    }

    /**
     * Like {@link #enter()} but answers -1 instead of throwing once CPython finalizes (for
     * cleaners and counters). Unlike {@code enter()} it is admitted while {@code close()} waits
     * for calls in flight: dropping a reference must not be lost if that close is interrupted.
     */
    public int tryEnter() {
        StackGuard.measure();                    // first: with no stack left it throws, and nothing is taken yet
        CallState s = CallState.current();
        if (s.depth > 0) {                       // nested: this thread holds the GIL already
            StackGuard.enterNested();            // CPython's recursion budget fitted to the stack left
            s.depth++;
            return PyGILState_Ensure();
        }
        if (!s.ownThreadState && Thread.currentThread().isVirtual()) throw virtualThread();
        inFlight.incrementAndGet();
        if (closed) {
            inFlight.decrementAndGet();
            return -1;
        }
        if (s.suspensions > 0) {                 // inside withoutGil: Python frames run below this call
            s.depth++;
            int g = PyGILState_Ensure();
            StackGuard.enterNested();            // so the budget is lowered relative to them, as nested
            return g;
        }
        if (!s.ownThreadState) keepThreadState(s);
        s.depth++;
        int g = PyGILState_Ensure();
        if (s.ownThreadState) StackGuard.fitOutermost();
        if (Ownership.hasPending()) Ownership.drain();
        return g;
    }

    /**
     * CPython ties the GIL and the current thread state to the OS thread. A virtual thread that
     * blocked while holding the GIL (on a contended lock, say) would unmount and resume on
     * another carrier that does not hold it, and CPython would abort. So virtual threads are
     * refused, clearly, rather than crash rarely.
     */
    private static UnsupportedOperationException virtualThread() {
        return new UnsupportedOperationException("CPython cannot be called from a virtual thread (" + Thread.currentThread()
                + "): the GIL belongs to an OS thread, and a virtual thread can move to another one while it holds it; "
                + "call from a platform thread, e.g. an executor of platform threads that your virtual threads submit to "
                + "(closing a PyObject, PyBufferView or JavaBuffer works on any thread); nothing was done");
    }

    /**
     * Gives this thread a Python thread state that outlives each call. Without it, every
     * outermost PyGILState_Ensure/Release pair creates and destroys a thread state (and in
     * 3.11+ its frame stack), which costs tens of microseconds; with it a call costs a GIL
     * hand-over. Ensure takes (or makes) the thread state with the GIL; SaveThread lets the GIL
     * go but leaves the Ensure counted, so the state is never deleted. Only on threads that do
     * not already hold the GIL (never inside an upcall: see {@link #upcallEnter()}).
     */
    private static void keepThreadState(CallState s) {
        if (s.foreign) return;                   // Python's thread: its state is Python's, nothing to keep
        if (PyGILState_GetThisThreadState().address() != 0) {
            // a thread state this thread did not get from us: a thread Python made (reaching Java
            // through a C callback that let the GIL go, e.g. pyarrow reading a Java stream) or C
            // code's. Not ours to keep or delete; watched as Python's, so that finalization waits
            // for the Java functions it runs (see tearDown)
            foreignThread(s);
            return;
        }
        int was = PyGILState_Ensure();
        if (was == PyGILState_LOCKED()) {
            // this thread runs Python already (Python called into Java and the upcall was not
            // marked): its thread state lives as long as that, and the GIL must stay held
            PyGILState_Release(was);
            return;
        }
        PyEval_SaveThread();
        s.ownThreadState = true;
    }

    /**
     * Frees the Python thread state this thread kept (see {@link #keepThreadState}); the next
     * call makes a new one. CPython can delete a thread state safely only on its own thread, so
     * a thread that ends without this leaves its state (from 3.11 with a 16 KiB frame stack)
     * behind until the interpreter is closed.
     *
     * @throws IllegalStateException inside a call (a gil() scope or a Java function)
     */
    public void detachThread() {
        CallState s = CallState.current();
        if (s.depth > 0 || s.suspensions > 0) {
            throw new IllegalStateException("detachThread() inside a call (a gil() scope, a Java function called "
                    + "from Python or withoutGil()): call it when this thread is done with Python");
        }
        if (!s.ownThreadState || closed) return;
        MemorySegment tstate = PyGILState_GetThisThreadState();
        if (tstate.address() == 0) { s.ownThreadState = false; return; }
        inFlight.incrementAndGet();
        try {
            if (closed) return;
            PyEval_RestoreThread(tstate);           // take the GIL back with the kept state
            PyGILState_Release(PyGILState_UNLOCKED()); // undo keepThreadState's Ensure: the count reaches 0,
                                                       // CPython clears and deletes the state, the GIL goes
            s.ownThreadState = false;
        } finally {
            leave();
        }
    }

    /**
     * Releases what {@link #enter()} took. In a process forked by Python code, the outermost
     * exit ends the process ({@link ForkGuard}: the JVM cannot run there).
     */
    public void exit(int gilState) {
        CallState s = CallState.current();
        if (s.depth > 1 || s.suspensions > 0) StackGuard.leaveNested();
        PyGILState_Release(gilState);
        if (--s.depth == 0) {
            ForkGuard.check();                   // a child forked by Python code ends here
            leave();
        }
    }

    /**
     * Counts a bare taker of the GIL, which takes it with {@code PyGILState_Ensure} itself on any
     * thread (a DLPack deleter a consumer calls), as a call in flight, so that {@code close()}
     * waits for it: true, to be paired with {@link #leaveBare()}; false, nothing counted, once
     * CPython finalizes, when the caller must not touch Python. Count first, then check, as
     * {@link #tryEnter()} does: {@code closed} is set only with nothing counted, and what is
     * counted meanwhile the main thread waits for before it finalizes. Admitted while closing.
     */
    boolean enterBare() {
        inFlight.incrementAndGet();
        if (closed) {
            leave();
            return false;
        }
        return true;
    }

    /** Ends what {@link #enterBare()} counted. */
    void leaveBare() { leave(); }

    /** An outermost call left; wakes a waiting close() when it was the last. */
    private void leave() {
        if (inFlight.decrementAndGet() == 0 && closing) {
            synchronized (inFlight) {
                inFlight.notifyAll();
            }
        }
    }

    /**
     * Marks this thread as holding the GIL because Python called into Java (an upcall), so
     * that calls Java makes from there nest inside Python's hold. Ends with
     * {@code state.depth--} on the record returned: a field write, no call, so it also works
     * after a StackOverflowError (see {@link Upcalls}). Threads Python made are registered at
     * their first upcall, so that finalization can wait for their Java functions (see
     * {@link #tearDown()}).
     */
    static CallState upcallEnter() {
        CallState s = CallState.current();
        // calls first, the count last: a StackOverflowError in a call leaves nothing counted
        if (s.depth == 0 && !s.ownThreadState && !s.foreign) foreignThread(s);
        s.depth++;
        return s;
    }

    /** A thread Python made called Java for the first time: watched by {@link #tearDown()}. */
    private static void foreignThread(CallState s) {
        s.foreign = true;
        if (FOREIGN_THREADS.size() >= foreignPurgeAt) {
            FOREIGN_THREADS.keySet().removeIf(t -> !t.isAlive());
            foreignPurgeAt = Math.max(64, 2 * FOREIGN_THREADS.size());
        }
        FOREIGN_THREADS.put(s.thread, s);
    }

    /** Threads Python made (no thread state of ours) that are inside a Java function now. */
    private static int foreignUpcallsRunning() {
        int n = 0;
        for (CallState s : FOREIGN_THREADS.values()) {
            if ((s.depthOpaque() > 0 || s.suspensionsOpaque() > 0) && !s.ownThreadStateOpaque() && s.thread.isAlive()) n++;
        }
        return n;
    }

    // ---- letting the GIL go inside a call ----------------------------------------------------------

    /**
     * Runs the action with the GIL let go, when this thread holds it (inside a Java function
     * called from Python, a gil() scope, an exporter's upcall), and takes it back afterwards,
     * whatever the action did; elsewhere just runs it. Python's Py_BEGIN_ALLOW_THREADS for Java:
     * other threads run Python meanwhile, and the action may itself call Python (each call takes
     * the GIL again). py.gil() scopes the action opens and leaves open are closed when it ends,
     * and the block then throws IllegalStateException (see {@link #closeScopesFrom}).
     *
     * @throws StackOverflowError when too little stack is left to take the GIL back safely (nothing done)
     */
    public <T, X extends Exception> T withoutGil(Action<T, X> action) throws X {
        CallState s = CallState.current();
        int mark = openScopes(s);
        if (s.depth == 0) return closingScopes(s, mark, action, null);   // no GIL of ours to let go
        StackGuard.measure();                    // the way back needs stack: refuse here, having let nothing go
        // C code may have let the GIL go under a count of ours (a consumer calling a Java
        // callback, like pyarrow reading a stream): then there is nothing to let go
        boolean held = GilCheck.held();
        int depth = suspend(s);
        MemorySegment tstate;
        try {
            tstate = held ? PyEval_SaveThread() : MemorySegment.NULL;
        } catch (Throwable t) {
            resume(s, depth);
            throw t;
        }
        return closingScopes(s, mark, action, () -> {
            if (held) PyEval_RestoreThread(tstate);   // waits for the GIL, uninterruptibly; whatever closing threw
            resume(s, depth);
        });
    }

    /**
     * Counts a stretch without the GIL under a call of this thread's: suspended first, then
     * depth 0, so that close() and tearDown never see neither (and GilWatchdog sees no GIL held).
     * Returns the depth, for {@link #resume}.
     */
    private static int suspend(CallState s) {
        int depth = s.depth;
        s.suspensions++;
        java.lang.invoke.VarHandle.fullFence();  // counted before upcallsClosed is read, as tearDown writes it before it counts
        s.depth = 0;
        return depth;
    }

    /** Ends {@link #suspend}: the depth back first, then the suspension. */
    private static void resume(CallState s, int depth) {
        s.depth = depth;
        java.lang.invoke.VarHandle.storeStoreFence();
        s.suspensions--;
    }

    /**
     * Runs the action, then closes the py.gil() scopes it opened since {@code mark} and left
     * open, then runs {@code after} (whatever closing threw), then throws IllegalStateException
     * if there were any and the action itself did not throw.
     */
    private static <T, X extends Exception> T closingScopes(CallState s, int mark, Action<T, X> action, Runnable after) throws X {
        Throwable failed = null;
        int left = 0;
        try {
            return action.run();
        } catch (Throwable t) {
            failed = t;
            throw t;
        } finally {
            try {
                left = closeScopesFrom(s, mark, failed);
            } finally {
                if (after != null) after.run();
            }
            if (left > 0 && failed == null) {
                throw new IllegalStateException(left + " py.gil() scope(s) opened inside withoutGil() or a callback were "
                        + "still open when it ended; they were closed (close a scope where it was opened)");
            }
        }
    }

    /**
     * Runs Java code that C calls back (a callback of an Arrow stream we export, say), which may
     * come with or without the GIL whatever this thread's count says: a consumer can let the GIL
     * go (pyarrow reads streams without it) under a call of ours, or hold it on a thread Python
     * made that the bridge never counted (polars reads with it). The count is made to agree:
     * <ul>
     * <li>GIL held and counted: the code just runs;</li>
     * <li>GIL held but not counted: counted as an upcall, so that withoutGil in it lets the GIL
     *     go and finalization waits for it;</li>
     * <li>no GIL: as inside {@link #withoutGil} (its calls take the GIL, its reference drops are
     *     deferred), and a thread Python made is watched, so that finalization waits for it.</li>
     * </ul>
     * py.gil() scopes the code leaves open are closed, and it then throws IllegalStateException.
     */
    public static <T, X extends Exception> T calledBackFromC(Action<T, X> action) throws X {
        CallState s = CallState.current();
        int mark = openScopes(s);
        boolean held = GilCheck.held();
        if (held && s.depth > 0) return closingScopes(s, mark, action, null);   // the GIL and the count agree
        if (held) {                              // a thread holding the GIL the bridge never counted
            CallState d = upcallEnter();
            return closingScopes(s, mark, () -> {
                // under the GIL, as Functions.call: ordered with tearDown's wait for upcalls
                if (refusesUserCode()) throw new IllegalStateException("CPython is finalizing: Java code called back "
                        + "by C on a Python thread can no longer run");
                return action.run();
            }, () -> d.depth--);
        }
        boolean python = s.depth == 0 && !s.ownThreadState && !s.foreign && GilCheck.hasThreadState();
        if (python) foreignThread(s);
        boolean outermost = s.depth == 0 && s.foreign;
        int depth = suspend(s);
        return closingScopes(s, mark, () -> {
            if (outermost && refusesUserCode()) {
                throw new IllegalStateException("CPython is finalizing: Java code called back by C on a Python thread "
                        + "can no longer run");
            }
            return action.run();
        }, () -> resume(s, depth));
    }

    /**
     * Whether this thread really holds the GIL: its thread state is CPython's current one.
     * ({@code PyGILState_Check()} answers 1 everywhere once a subinterpreter was ever made.) The
     * current-state getter is not in the Stable ABI but exported by every libpython: 3.9-3.12
     * {@code _PyThreadState_UncheckedGet}, 3.13 {@code PyThreadState_GetUnchecked}.
     */
    private static final class GilCheck {
        private static final java.lang.invoke.MethodHandle CURRENT = current();

        private static java.lang.invoke.MethodHandle current() {
            java.lang.foreign.SymbolLookup py = java.lang.foreign.SymbolLookup.loaderLookup();
            java.util.Optional<MemorySegment> f = py.find("PyThreadState_GetUnchecked").or(() -> py.find("_PyThreadState_UncheckedGet"));
            if (f.isEmpty()) {
                LOG.warn("libpython exports no unchecked current-thread-state getter: whether a C callback holds the GIL "
                        + "is taken from the bridge's own count");
                return null;
            }
            return java.lang.foreign.Linker.nativeLinker().downcallHandle(f.get(),
                    java.lang.foreign.FunctionDescriptor.of(java.lang.foreign.ValueLayout.JAVA_LONG),
                    java.lang.foreign.Linker.Option.critical(false));
        }

        /** True when this thread holds the GIL (or, where that cannot be asked, when the count says so). */
        static boolean held() {
            if (CURRENT == null) return CallState.current().depth > 0;
            long cur;
            try {
                cur = (long) CURRENT.invokeExact();
            } catch (StackOverflowError e) {
                throw e;
            } catch (Throwable t) {
                return CallState.current().depth > 0;
            }
            return cur != 0 && cur == PyGILState_GetThisThreadState().address();
        }

        /** Whether this thread has a Python thread state (Python made it, or the bridge kept one). */
        static boolean hasThreadState() {
            return PyGILState_GetThisThreadState().address() != 0;
        }
    }

    /** What {@link #withoutGil} runs: a value, or X. */
    @FunctionalInterface
    public interface Action<T, X extends Exception> {
        T run() throws X;
    }

    /** How many withoutGil blocks this thread is inside. */
    public static int suspensions() { return CallState.current().suspensions; }

    /** A py.gil() scope was opened on this thread (after its enter()). */
    public static void scopeOpened(AutoCloseable scope) {
        CallState s = CallState.current();
        if (s.scopes == null) s.scopes = new java.util.ArrayList<>(4);
        s.scopes.add(scope);
    }

    /** That py.gil() scope was closed. */
    public static void scopeClosed(AutoCloseable scope) {
        java.util.ArrayList<AutoCloseable> l = CallState.current().scopes;
        if (l != null) l.remove(scope);
    }

    /** The number of py.gil() scopes open on this thread: the mark for {@link #closeScopesFrom}. */
    static int openScopes(CallState s) { return s.scopes == null ? 0 : s.scopes.size(); }

    /**
     * Closes the py.gil() scopes opened on this thread since {@code mark} and left open (a Java
     * function or a withoutGil block that ended with a scope open would leave its call counted
     * for good: the thread's outermost call would never end, and close() would wait forever),
     * innermost first. Returns how many it closed; a failure closing one is added to
     * {@code failed} when there is one, else thrown after the others are closed.
     */
    static int closeScopesFrom(CallState s, int mark, Throwable failed) {
        java.util.ArrayList<AutoCloseable> l = s.scopes;
        if (l == null || l.size() <= mark) return 0;
        int n = 0;
        RuntimeException first = null;
        while (l.size() > mark) {
            AutoCloseable scope = l.remove(l.size() - 1);
            n++;
            try {
                scope.close();
            } catch (Exception e) {
                if (failed != null) failed.addSuppressed(e);
                else if (first == null) first = e instanceof RuntimeException re ? re : new IllegalStateException(e);
            }
        }
        if (first != null) throw first;
        return n;
    }

    /** Whether this thread is inside {@link #enter()} or an upcall. */
    public boolean holdsGil() { return CallState.current().depth > 0; }

    /**
     * How deep this thread is in calls and upcalls (0 outside any): a {@code Gil} scope
     * remembers it to be closed only at the depth it was opened at.
     */
    public static int callDepth() { return CallState.current().depth; }

    // ---- close ----------------------------------------------------------------------------------

    /**
     * Finalizes CPython: refuses new calls, waits for calls in flight on other threads (with
     * everything they call), then runs {@code Py_FinalizeEx} on the main thread. Idempotent.
     *
     * @throws IllegalStateException when called from inside a call (a gil() scope or a callback);
     *                               when interrupted (the interrupt flag is kept): before
     *                               finalization began CPython keeps running, after it CPython is
     *                               closed and finishes finalizing in the background
     */
    public void close() {
        tryClose(Long.MAX_VALUE);
    }

    /**
     * Like {@link #close()}, but gives up after {@code timeoutNanos} of waiting for calls in
     * flight: then nothing was finalized, CPython keeps running and this answers false.
     */
    public boolean tryClose(long timeoutNanos) {
        CallState me = CallState.current();
        if (me.depth > 0 || me.suspensions > 0) {
            throw new IllegalStateException("close() called inside a call (a gil() scope, a Java function called from "
                    + "Python or withoutGil()): it would wait for that call forever; close CPython outside it");
        }
        long start = System.nanoTime();
        boolean wait;
        synchronized (LOCK) {
            wait = !closed;
            if (wait) {
                closers++;
                closing = true;
            }
        }
        if (wait) {
            boolean left;
            try {
                left = awaitCallsLeft(start, timeoutNanos);
            } catch (InterruptedException e) {
                int n = inFlight.get();
                giveUp();
                Thread.currentThread().interrupt();
                throw new IllegalStateException("close() was interrupted while " + n + " call(s) were in flight; CPython "
                        + "was not finalized and keeps running: call close() again to finalize it", e);
            }
            if (!left) {
                LOG.info("close() timed out with {} call(s) in flight; CPython was not finalized and keeps running",
                        inFlight.get());
                giveUp();
                return false;
            }
            synchronized (LOCK) {
                if (!closed) {
                    closed = true;
                    closers = 0;
                    finalizedBy = "closed by thread " + Thread.currentThread().getName();
                    finalizeRequested.countDown();
                }
            }
        }
        return awaitFinalized(start, timeoutNanos);
    }

    /** A waiting close() stops waiting; the last one to go lets calls in again. */
    private void giveUp() {
        synchronized (LOCK) {
            if (!closed && --closers == 0) closing = false;
        }
    }

    /** Waits until no call is in flight (true) or the time is up (false). */
    private boolean awaitCallsLeft(long start, long timeoutNanos) throws InterruptedException {
        boolean logged = false;
        synchronized (inFlight) {
            while (inFlight.get() > 0 && !closed) {
                long waited = System.nanoTime() - start;
                if (waited >= timeoutNanos) return false;
                if (!logged && waited >= LONG_WAIT_NANOS) {
                    logged = true;
                    LOG.warn("close() has waited {} s for {} call(s) in flight; it finalizes CPython only once they "
                            + "returned (interrupt it, or use tryClose(Duration), to give up)", waited / 1_000_000_000L, inFlight.get());
                }
                long nanos = Math.min(timeoutNanos - waited, logged ? Long.MAX_VALUE : LONG_WAIT_NANOS - waited);
                long millis = Math.max(1, Math.min(nanos / 1_000_000L, 60_000L));
                if (Thread.interrupted()) throw new InterruptedException();
                inFlight.wait(millis);
            }
        }
        return true;
    }

    /** The main thread waits for cleaners admitted while closing; they only drop references. */
    private void awaitNoEntries() {
        synchronized (inFlight) {
            while (inFlight.get() > 0) {
                try {
                    inFlight.wait(1);
                } catch (InterruptedException e) {
                    // nobody interrupts this thread but the JVM's end; keep waiting
                }
            }
        }
    }

    /** After finalization was requested: waits for it, within what is left of the time. */
    private boolean awaitFinalized(long start, long timeoutNanos) {
        boolean logged = false;
        while (true) {
            long waited = System.nanoTime() - start;
            long nanos = Math.min(timeoutNanos - waited, logged ? Long.MAX_VALUE : Math.max(0, LONG_WAIT_NANOS - waited));
            try {
                finalized.get(Math.max(0, nanos), java.util.concurrent.TimeUnit.NANOSECONDS);
                return true;
            } catch (java.util.concurrent.TimeoutException e) {
                if (System.nanoTime() - start >= timeoutNanos) {
                    LOG.warn("CPython is closed, but Py_FinalizeEx did not finish in time; it goes on in the background{}",
                            joiningNote());
                    return true;
                }
                if (!logged) {
                    logged = true;
                    LOG.warn("Py_FinalizeEx has run for 10 s{}", joiningNote());
                }
            } catch (ExecutionException e) {
                LOG.warn("Py_FinalizeEx failed", e.getCause());
                return true;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("close() was interrupted while CPython finalizes: CPython is closed (no "
                        + "calls are accepted) and Py_FinalizeEx goes on in the background" + joiningNote(), e);
            }
        }
    }

    private String joiningNote() {
        String names = joining;
        return names.isEmpty() ? "" : ": as at interpreter exit, it joins Python's non-daemon threads (" + names
                + "); end them, or make them daemon threads, before close()";
    }
}
