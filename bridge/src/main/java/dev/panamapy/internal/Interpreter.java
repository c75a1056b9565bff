package dev.panamapy.internal;

import dev.panamapy.PythonException;
import dev.panamapy.PythonStartupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
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
 * leave before it finalizes: no thread can be inside CPython while it goes away.
 */
public final class Interpreter {

    private static final Logger LOG = LoggerFactory.getLogger(Interpreter.class);

    private static final Object LOCK = new Object();
    private static volatile Interpreter running; // written under LOCK
    private static String finalizedBy;           // guarded by LOCK: set once CPython was finalized in this process

    private final PythonInstallation installation;
    private final AtomicInteger inFlight = new AtomicInteger();
    /**
     * Per thread: [0] how deep this thread is in calls that hold the GIL (ours, or Python's own
     * when Python called into Java); [1] 1 once this thread has its own long-lived Python thread
     * state. Static: there is one interpreter per process.
     */
    private static final ThreadLocal<int[]> DEPTH = ThreadLocal.withInitial(() -> new int[2]);

    /** The last thread to look its state up, and that state: most calls come from the thread before. */
    private record LastDepth(Thread thread, int[] depth) { }
    private static volatile LastDepth last;

    /** This thread's {@link #DEPTH}, without a ThreadLocal lookup when it is the same thread as last time. */
    private static int[] depth() {
        Thread t = Thread.currentThread();
        LastDepth l = last;
        if (l != null && l.thread == t) return l.depth;
        int[] d = DEPTH.get();
        last = new LastDepth(t, d);
        return d;
    }
    private volatile boolean closed;
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
            if (running != null) {
                throw new IllegalStateException("CPython " + running.installation.version() + " from "
                        + running.installation.sysExecutable() + " is already running in this process; only one "
                        + "interpreter per process is supported: use CPython.running() to get it, or close it first");
            }
            if (finalizedBy != null) {
                throw new IllegalStateException("CPython was already started and closed in this process (" + finalizedBy
                        + "); CPython cannot be restarted reliably after Py_FinalizeEx (extension modules such as numpy "
                        + "do not support it): start a new JVM");
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
            Py_InitializeEx(0);          // 0: leave the JVM's signal handlers alone
            if (Py_IsInitialized() == 0) throw new PythonStartupException("Py_InitializeEx failed");
            constants = Constants.load(this);
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
            PyEval_RestoreThread(tstate);
            depth()[0]++;
            Ownership.drain();                 // references Java dropped since the last call
            depth()[0]--;
            int rc = Py_FinalizeEx();
            if (rc != 0) LOG.warn("Py_FinalizeEx reported an error flushing buffered data (rc={})", rc);
            finalized.complete(null);
        } catch (Throwable t) {
            finalized.completeExceptionally(t);
        }
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
     */
    public int enter() {
        int g = tryEnter();
        if (g == -1) throw new IllegalStateException("CPython is closed: no calls can be made after close()");
        if (StackGuard.exhausted()) throw refuse(g);
        return g;
    }

    /** Too little stack left on this thread to run Python: RecursionError, and the entry undone. */
    private PythonException refuse(int g) {
        try {
            return StackGuard.refusal(c);
        } finally {
            exit(g);
        }
    }

    /** Like {@link #enter()} but answers -1 instead of throwing when closed (for cleaners). */
    public int tryEnter() {
        int[] d = depth();
        if (d[0] > 0) {                          // nested: this thread holds the GIL already
            StackGuard.enterNested();            // CPython's recursion budget fitted to the stack left
            d[0]++;
            return PyGILState_Ensure();
        }
        if (d[1] == 0 && Thread.currentThread().isVirtual()) throw virtualThread();
        inFlight.incrementAndGet();
        if (closed) {
            inFlight.decrementAndGet();
            return -1;
        }
        if (d[1] == 0) keepThreadState(d);
        d[0]++;
        int g = PyGILState_Ensure();
        if (d[1] == 1) StackGuard.fitOutermost();
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
                + "call from a platform thread, e.g. an executor of platform threads that your virtual threads submit to");
    }

    /**
     * Gives this thread a Python thread state that outlives each call. Without it, every
     * outermost PyGILState_Ensure/Release pair creates and destroys a thread state (and in
     * 3.11+ its frame stack), which costs tens of microseconds; with it a call costs a GIL
     * hand-over. Ensure takes (or makes) the thread state with the GIL; SaveThread lets the GIL
     * go but leaves the Ensure counted, so the state is never deleted. Only on threads that do
     * not already hold the GIL (never inside an upcall: see {@link #upcallEnter()}).
     */
    private static void keepThreadState(int[] d) {
        int was = PyGILState_Ensure();
        if (was == PyGILState_LOCKED()) {
            // this thread runs Python already (Python called into Java and the upcall was not
            // marked): its thread state lives as long as that, and the GIL must stay held
            PyGILState_Release(was);
            return;
        }
        PyEval_SaveThread();
        d[1] = 1;
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
        int[] d = depth();
        if (d[0] > 0) {
            throw new IllegalStateException("detachThread() inside a call (a gil() scope or a Java function called "
                    + "from Python): call it when this thread is done with Python");
        }
        if (d[1] == 0 || closed) return;
        MemorySegment tstate = PyGILState_GetThisThreadState();
        if (tstate.address() == 0) { d[1] = 0; return; }
        inFlight.incrementAndGet();
        try {
            if (closed) return;
            PyEval_RestoreThread(tstate);           // take the GIL back with the kept state
            PyGILState_Release(PyGILState_UNLOCKED()); // undo keepThreadState's Ensure: the count reaches 0,
                                                       // CPython clears and deletes the state, the GIL goes
            d[1] = 0;
        } finally {
            inFlight.decrementAndGet();
        }
    }

    /** Releases what {@link #enter()} took. */
    public void exit(int gilState) {
        int[] d = depth();
        if (d[0] > 1) StackGuard.leaveNested();
        PyGILState_Release(gilState);
        if (--d[0] == 0) inFlight.decrementAndGet();
    }

    /**
     * Marks this thread as holding the GIL because Python called into Java (an upcall), so
     * that calls Java makes from there nest inside Python's hold. Pair with {@link #upcallExit()}
     * (or decrement the returned counter, which needs no call: see {@link Upcalls}).
     */
    public static int[] upcallEnter() {
        int[] d = depth();
        d[0]++;
        return d;
    }

    /** Ends {@link #upcallEnter()}. */
    public static void upcallExit() { depth()[0]--; }

    /** Whether this thread is inside {@link #enter()} or an upcall. */
    public boolean holdsGil() { return depth()[0] > 0; }

    // ---- close ----------------------------------------------------------------------------------

    /**
     * Finalizes CPython: waits for calls in flight on other threads, then runs
     * {@code Py_FinalizeEx} on the main thread. Idempotent.
     *
     * @throws IllegalStateException when called from inside a call (a gil() scope or a callback)
     */
    public void close() {
        if (holdsGil()) {
            throw new IllegalStateException("close() called while this thread holds the GIL (inside a gil() scope or a "
                    + "Java function called from Python); close the scope first");
        }
        synchronized (LOCK) {
            if (closed) return;
            closed = true;
            finalizedBy = "closed by thread " + Thread.currentThread().getName();
        }
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (inFlight.get() > 0) {
            if (System.nanoTime() > deadline) {
                LOG.warn("{} call(s) still inside CPython after 30 s; finalizing anyway", inFlight.get());
                break;
            }
            Thread.onSpinWait();
            try { Thread.sleep(1); } catch (InterruptedException e) { Thread.currentThread().interrupt(); break; }
        }
        finalizeRequested.countDown();
        try {
            finalized.get();
        } catch (ExecutionException e) {
            LOG.warn("Py_FinalizeEx failed", e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            synchronized (LOCK) { running = null; }
        }
        LOG.info("CPython {} finalized", installation.version());
    }
}
