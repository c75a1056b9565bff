package dev.panamapy.internal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicLongFieldUpdater;
import java.util.concurrent.atomic.LongAdder;

import static dev.panamapy.bindings.Python_h.Py_DecRef;

/**
 * Who owns a Python reference held by Java: one {@link Ref} per strong reference, dropped
 * exactly once, either by an explicit close or, as a safety net, by a Cleaner once its Java
 * owner became unreachable. The Cleaner takes the GIL; it never runs in a finalizer, so it
 * cannot deadlock the collector. After the interpreter closed, dropping does nothing.
 */
public final class Ownership {
    private Ownership() { }

    private static final Logger LOG = LoggerFactory.getLogger(Ownership.class);
    private static final Cleaner CLEANER = Cleaner.create(
            Thread.ofPlatform().daemon(true).name("panamapy-cleaner").factory());
    /** -Dpanamapy.leakDetection=true records where each reference was taken and logs unclosed ones. */
    static final boolean LEAK_DETECTION = Boolean.getBoolean("panamapy.leakDetection");
    private static final LongAdder LIVE = new LongAdder();

    /** Strong references held by Java right now (including dropped ones waiting for the GIL). */
    public static long liveReferences() { return LIVE.sum(); }

    // References dropped by threads that did not hold the GIL: decremented by the next thread
    // that takes it (Interpreter.enter drains), so dropping never waits for the GIL and a
    // call-then-close costs one GIL hand-over, not two.
    private static final Object QUEUE_LOCK = new Object();
    private static long[] queue = new long[64];     // guarded by QUEUE_LOCK
    private static int queued;                      // guarded by QUEUE_LOCK
    private static volatile boolean pending;
    private static final int DRAIN_NOW = 4096;

    /** Whether dropped references wait for the GIL. */
    static boolean hasPending() { return pending; }

    /**
     * Drops a reference now if this thread holds the GIL, else as soon as any thread takes it.
     * Never refuses: a virtual thread (which may not take the GIL) only queues, and the drainer
     * thread drops what it queued.
     */
    static void drop(Interpreter interp, long address) {
        if (interp.holdsGil()) {
            Py_DecRef(Mem.ptr(address));
            LIVE.decrement();
            return;
        }
        boolean full, first;
        synchronized (QUEUE_LOCK) {
            if (queued == queue.length) queue = java.util.Arrays.copyOf(queue, queued * 2);
            first = queued == 0;
            queue[queued++] = address;
            full = queued >= DRAIN_NOW;
            pending = true;
        }
        if (full && !Thread.currentThread().isVirtual()) {
            int g = interp.tryEnter();          // drains on entry
            if (g != -1) interp.exit(g);
        } else if (first || full) {
            Drainer.INSTANCE.wake(interp);      // no call may come soon: drain after a short delay anyway
        }
    }

    /**
     * Makes sure dropped references do not wait for a call that may never come: woken when the
     * queue stops being empty, it waits {@link #DELAY_NANOS} (calls in that time drain the queue
     * for free) and then takes the GIL itself if anything is still waiting.
     */
    private static final class Drainer implements Runnable {
        static final Drainer INSTANCE = new Drainer();
        static final long DELAY_NANOS = 10_000_000L;
        private volatile Interpreter interp;
        /** True while the drainer sleeps waiting for work: only then does a wake cost an unpark. */
        private final java.util.concurrent.atomic.AtomicBoolean idle = new java.util.concurrent.atomic.AtomicBoolean(true);
        private final Thread thread = Thread.ofPlatform().daemon(true).name("panamapy-drain").unstarted(this);

        private Drainer() {
            thread.start();
        }

        /** At most one unpark per {@link #DELAY_NANOS}, however often the queue fills. */
        void wake(Interpreter interp) {
            if (idle.get() && idle.compareAndSet(true, false)) {
                this.interp = interp;
                java.util.concurrent.locks.LockSupport.unpark(thread);
            }
        }

        @Override
        public void run() {
            while (true) {
                while (idle.get()) java.util.concurrent.locks.LockSupport.park(this);
                java.util.concurrent.locks.LockSupport.parkNanos(this, DELAY_NANOS);
                Interpreter in = interp;
                if (in != null && pending) {
                    try {
                        int g = in.tryEnter();  // drains on entry
                        if (g != -1) in.exit(g);
                    } catch (Throwable t) {
                        LOG.warn("could not drop references", t);
                    }
                }
                idle.set(true);
                // a drop that came while we were busy saw us not idle and did not wake us
                if (pending) idle.compareAndSet(true, false);
            }
        }
    }

    /** Drops every waiting reference. Requires the GIL; called by the outermost enter. */
    static void drain() {
        long[] batch;
        int n;
        synchronized (QUEUE_LOCK) {
            batch = queue;
            n = queued;
            queue = new long[Math.max(64, Math.min(n, DRAIN_NOW))];
            queued = 0;
            pending = false;
        }
        for (int i = 0; i < n; i++) {
            Py_DecRef(Mem.ptr(batch[i]));
            LIVE.decrement();
        }
    }

    /** Registers a new reference owned by {@code owner}. */
    public static Ref own(Object owner, Interpreter interp, long address) {
        Ref r = new Ref(interp, address, LEAK_DETECTION ? new Throwable("PyObject created here") : null);
        LIVE.increment();
        r.cleanable = CLEANER.register(owner, r);
        return r;
    }

    /** Registers any cleanup action to run once when {@code owner} becomes unreachable (or explicitly). */
    public static Cleaner.Cleanable register(Object owner, Runnable action) {
        return CLEANER.register(owner, action);
    }

    /** One strong reference. Must not refer to its owner, or the owner would never become unreachable. */
    public static final class Ref implements Runnable {
        private static final AtomicLongFieldUpdater<Ref> ADDRESS =
                AtomicLongFieldUpdater.newUpdater(Ref.class, "address");
        private final Interpreter interp;
        private final Throwable site;
        private volatile long address;
        private Cleaner.Cleanable cleanable;
        private volatile boolean explicit;

        Ref(Interpreter interp, long address, Throwable site) {
            this.interp = interp;
            this.address = address;
            this.site = site;
        }

        /** The address, or 0 once dropped. */
        public long address() { return address; }

        /** Drops the reference now. Idempotent. */
        public void close() {
            explicit = true;
            cleanable.clean();
        }

        @Override
        public void run() {
            long a = ADDRESS.getAndSet(this, 0);
            if (a == 0) return;
            if (!explicit && site != null) {
                LOG.warn("a PyObject was never closed; dropped by the cleaner", site);
            }
            if (interp.isClosed()) {   // interpreter finalized: the object is gone already
                LIVE.decrement();
                return;
            }
            drop(interp, a);
        }
    }
}
