package dev.panamapy.internal;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * One thread's calls into CPython: how deep it is in calls that hold the GIL, whether it keeps
 * a Python thread state of its own, whether it is a thread Python made, and how many Java
 * functions run on it. {@link Interpreter} keeps it up to date; {@link GilWatchdog} and
 * {@link Interpreter}'s finalization read other threads' records (opaque reads, so a stale value
 * only delays them by a poll); {@link Errors} asks whether a Java function is running.
 *
 * <p>Every field is written by its own thread only. An upcall ends with a plain
 * {@code state.depth--}, not a method call: it must work after a StackOverflowError, when even a
 * call may overflow again (see {@link StackGuard} and {@link UpcallBarrier}).
 */
final class CallState {

    /** The thread this record belongs to. */
    final Thread thread;
    /**
     * How deep this thread is in calls that hold the GIL: ours ({@link Interpreter#enter()}), or
     * Python's own when Python called into Java ({@link Interpreter#upcallEnter()}). 0 outside any.
     */
    int depth;
    /** This thread has its own long-lived Python thread state (see {@code Interpreter.keepThreadState}). */
    boolean ownThreadState;
    /** This thread, one Python made, is registered for finalization to wait for its Java functions. */
    boolean foreign;
    /** How many Java functions called from Python run on this thread right now (see {@link Functions}). */
    int javaFunctions;
    /**
     * How many {@code withoutGil} blocks this thread is inside ({@link Interpreter#withoutGil}):
     * while one runs, {@link #depth} is 0 (the GIL is let go) but a call is still open below it,
     * so entries fit CPython's budget as nested ones and nothing may detach or close.
     */
    int suspensions;
    /** The py.gil() scopes open on this thread, oldest first; null until the first. */
    java.util.ArrayList<AutoCloseable> scopes;

    private static final VarHandle DEPTH, OWN_THREAD_STATE, SUSPENSIONS;
    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            DEPTH = l.findVarHandle(CallState.class, "depth", int.class);
            OWN_THREAD_STATE = l.findVarHandle(CallState.class, "ownThreadState", boolean.class);
            SUSPENSIONS = l.findVarHandle(CallState.class, "suspensions", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private CallState(Thread thread) {
        this.thread = thread;
    }

    /** {@link #depth}, as another thread sees it. */
    int depthOpaque() { return (int) DEPTH.getOpaque(this); }

    /** {@link #suspensions}, as another thread sees it. */
    int suspensionsOpaque() { return (int) SUSPENSIONS.getOpaque(this); }

    /** {@link #ownThreadState}, as another thread sees it. */
    boolean ownThreadStateOpaque() { return (boolean) OWN_THREAD_STATE.getOpaque(this); }

    private static final ThreadLocal<CallState> STATES = ThreadLocal.withInitial(() -> {
        CallState s = new CallState(Thread.currentThread());
        GilWatchdog.watch(s);
        return s;
    });
    /** The last thread to look its record up: most calls come from the thread before. */
    private static volatile CallState last;

    /** This thread's record, without a ThreadLocal lookup when it is the same thread as last time. */
    static CallState current() {
        CallState l = last;
        if (l != null && l.thread == Thread.currentThread()) return l;
        l = STATES.get();
        last = l;
        return l;
    }
}
