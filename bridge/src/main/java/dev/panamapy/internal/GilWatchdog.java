package dev.panamapy.internal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;

/**
 * Notices the GIL misuse that cannot be refused up front, and says so in the log, once per case:
 * <ul>
 * <li>a thread that ended with a {@code py.gil()} scope open: it holds the GIL forever, so every
 *     other call into Python waits forever (logged as an error, with the threads waiting, as soon
 *     as one waits, or after the threshold);</li>
 * <li>a thread that holds the GIL (in a {@code gil()} scope or a Java function called from
 *     Python) and has been blocked in Java for longer than the threshold while other threads wait
 *     for the GIL: if what it waits for needs one of them, that is a deadlock (logged as a
 *     warning with the stacks of the holder and the waiters).</li>
 * </ul>
 * A daemon thread looks at the threads that ever called Python, a few times per threshold; it
 * costs the calls nothing. The threshold is {@code -Dpanamapy.gilWatchdogMillis} (default 10000;
 * 0 switches the watchdog off).
 */
public final class GilWatchdog {
    private GilWatchdog() { }

    private static final Logger LOG = LoggerFactory.getLogger(GilWatchdog.class);
    private static final long THRESHOLD_NANOS = Math.max(0, Long.getLong("panamapy.gilWatchdogMillis", 10_000L)) * 1_000_000L;

    /** Threads that called Python or were called by it, with their {@link CallState}. */
    private static final Map<Thread, CallState> THREADS = new ConcurrentHashMap<>();
    /** Open gil() scopes: their owner thread, and whether a dead owner was reported. */
    private static final Map<Object, Scope> SCOPES = new ConcurrentHashMap<>();
    /** Threads seen holding the GIL while blocked in Java: since when, and whether reported. */
    private static final Map<Thread, Blocked> BLOCKED = new ConcurrentHashMap<>();

    private static final class Scope {
        final Thread owner;
        final long openedAt = System.nanoTime();
        long deadSince;
        boolean reported;
        Scope(Thread owner) { this.owner = owner; }
    }

    private static final class Blocked {
        final long since = System.nanoTime();
        boolean reported;
    }

    private static volatile boolean stopped;
    private static volatile Thread thread;

    /** A thread's new {@link CallState}, to watch (on that thread, when it first calls or is called). */
    static void watch(CallState s) {
        if (THRESHOLD_NANOS > 0 && !stopped) {
            THREADS.put(s.thread, s);
            if (thread == null) start();
        }
    }

    private static synchronized void start() {
        if (thread != null || stopped) return;
        thread = Thread.ofPlatform().daemon(true).name("panamapy-gil-watchdog").start(GilWatchdog::run);
    }

    /** A gil() scope was opened on this thread. */
    public static void opened(Object scope) {
        if (THRESHOLD_NANOS > 0) SCOPES.put(scope, new Scope(Thread.currentThread()));
    }

    /** That gil() scope was closed. */
    public static void closed(Object scope) {
        if (THRESHOLD_NANOS > 0) SCOPES.remove(scope);
    }

    /** CPython is finalized: nothing more to watch. */
    static void stop() {
        stopped = true;
        Thread t = thread;
        if (t != null) LockSupport.unpark(t);
    }

    private static void run() {
        long tick = Math.max(10_000_000L, THRESHOLD_NANOS / 4);
        while (!stopped) {
            LockSupport.parkNanos(tick);
            try {
                check();
            } catch (Throwable t) {
                LOG.debug("GIL watchdog check failed", t);
            }
        }
    }

    private static void check() {
        THREADS.keySet().removeIf(t -> !t.isAlive());
        BLOCKED.keySet().removeIf(t -> !t.isAlive());
        for (Scope s : SCOPES.values()) {
            if (s.reported || s.owner.isAlive()) continue;
            // reported once some thread waits for the GIL, or once it has been dead for the threshold
            if (s.deadSince == 0) s.deadSince = System.nanoTime();
            List<Thread> waiters = waiters();
            if (waiters.isEmpty() && System.nanoTime() - s.deadSince < THRESHOLD_NANOS) continue;
            s.reported = true;
            LOG.error("thread '{}' ended with a py.gil() scope open (opened {} s earlier): it holds the GIL for good, so "
                    + "every call into Python from now on waits forever and close() cannot finish. Close gil() scopes on "
                    + "the thread that opened them, with try-with-resources.{}", s.owner.getName(),
                    (System.nanoTime() - s.openedAt) / 1_000_000_000L, describe(waiters));
        }
        long now = System.nanoTime();
        for (Map.Entry<Thread, CallState> e : THREADS.entrySet()) {
            Thread t = e.getKey();
            boolean holds = e.getValue().depthOpaque() > 0;
            Thread.State state = t.getState();
            boolean blocked = state == Thread.State.BLOCKED || state == Thread.State.WAITING
                    || state == Thread.State.TIMED_WAITING;
            if (!holds || !blocked) {
                BLOCKED.remove(t);
                continue;
            }
            Blocked b = BLOCKED.computeIfAbsent(t, k -> new Blocked());
            if (b.reported || now - b.since < THRESHOLD_NANOS) continue;
            List<Thread> waiters = waiters();
            if (waiters.isEmpty()) continue;
            b.reported = true;
            LOG.warn("thread '{}' holds the GIL (in a py.gil() scope or a Java function called from Python) and has been "
                    + "blocked in Java ({}) for {} ms while {} thread(s) wait for the GIL. If it waits for something one of "
                    + "them must do in Python, this is a deadlock: wrap the wait in py.withoutGil(...), which lets the GIL go "
                    + "for it (or close the gil() scope first). Its stack:{}{}", t.getName(), state, (now - b.since) / 1_000_000L,
                    waiters.size(), stack(t), describe(waiters));
        }
    }

    /** Watched threads that wait for the GIL right now (in a downcall taking it). */
    private static List<Thread> waiters() {
        List<Thread> waiting = new ArrayList<>();
        for (Thread t : THREADS.keySet()) {
            if (t.getState() != Thread.State.RUNNABLE) continue;
            StackTraceElement[] st = t.getStackTrace();
            for (int i = 0; i < Math.min(st.length, 8); i++) {
                String m = st[i].getMethodName();
                if (st[i].getClassName().endsWith("Python_h") && (m.equals("PyGILState_Ensure") || m.equals("PyEval_RestoreThread"))) {
                    waiting.add(t);
                    break;
                }
            }
        }
        return waiting;
    }

    /** The given threads with their stacks, for a log line. */
    static String describeThreads(Iterable<Thread> threads) {
        StringBuilder sb = new StringBuilder();
        for (Thread t : threads) sb.append("\n  thread '").append(t.getName()).append("':").append(stack(t));
        return sb.toString();
    }

    private static String describe(List<Thread> waiters) {
        if (waiters.isEmpty()) return "";
        StringBuilder sb = new StringBuilder("\nThreads waiting for the GIL:");
        for (Thread w : waiters) sb.append("\n  thread '").append(w.getName()).append("':").append(stack(w));
        return sb.toString();
    }

    private static String stack(Thread t) {
        StringBuilder sb = new StringBuilder();
        for (StackTraceElement e : t.getStackTrace()) sb.append("\n\tat ").append(e);
        return sb.toString();
    }
}
