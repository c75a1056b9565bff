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

    /** Strong references held by Java right now. */
    public static long liveReferences() { return LIVE.sum(); }

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
            LIVE.decrement();
            if (!explicit && site != null) {
                LOG.warn("a PyObject was never closed; dropped by the cleaner", site);
            }
            int g = interp.tryEnter();
            if (g == -1) return;       // interpreter finalized: the object is gone already
            try {
                Py_DecRef(Mem.ptr(a));
            } finally {
                interp.exit(g);
            }
        }
    }
}
