package dev.panamapy.internal;

import dev.panamapy.BufferExporter;
import dev.panamapy.BufferRequest;
import dev.panamapy.BufferSpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntConsumer;

import static dev.panamapy.bindings.Python_h.*;

/**
 * Exports of Java memory to Python: the table from a {@code panamapy.JavaBuffer}'s handle to
 * its {@link State}, and what each state does on {@code getbuffer}, release and deallocation.
 *
 * <p>The path of {@code memoryview(obj)}: {@link Upcalls#getbuffer} (the error barrier) calls
 * {@link State#getBuffer}, which asks {@link BufferRules} whether the request can be met and
 * fills the {@code Py_buffer}; {@code PyBuffer_Release} comes back through
 * {@link Upcalls#releasebuffer} to {@link State#release}.
 *
 * <p>Table and states change only under the GIL; readers in upcalls hold it too.
 */
public final class Exports {
    private Exports() { }

    private static final Logger LOG = LoggerFactory.getLogger(Exports.class);

    private static volatile State[] table = new State[64];
    private static int[] free = new int[64];       // guarded by Exports.class
    private static int freeTop;                    // guarded by Exports.class
    private static int next;                       // guarded by Exports.class
    private static final AtomicLong LIVE_EXPORTERS = new AtomicLong();
    private static final AtomicLong LIVE_VIEWS = new AtomicLong();
    private static final AtomicLong TOTAL_EXPORTS = new AtomicLong();
    private static final Map<MemorySegment.Scope, SharingArena> SHARING = new WeakHashMap<>();

    public static long liveExporters() { return LIVE_EXPORTERS.get(); }
    public static long liveViews() { return LIVE_VIEWS.get(); }
    public static long totalExports() { return TOTAL_EXPORTS.get(); }

    /** A new arena that defers freeing until no export pins it. */
    public static Arena newSharingArena() {
        SharingArena a = new SharingArena();
        synchronized (SHARING) { SHARING.put(a.scope(), a); }
        return a;
    }

    static void sharingArenaFreed(SharingArena a) {
        synchronized (SHARING) { SHARING.remove(a.scope()); }
    }

    static synchronized long register(State s) {
        int h;
        if (freeTop > 0) {
            h = free[--freeTop];
        } else {
            h = next++;
            if (h >= table.length) table = Arrays.copyOf(table, table.length * 2);
        }
        table[h] = s;
        LIVE_EXPORTERS.incrementAndGet();
        return h;
    }

    static synchronized void unregister(long handle) {
        table[(int) handle] = null;
        if (freeTop == free.length) free = Arrays.copyOf(free, free.length * 2);
        free[freeTop++] = (int) handle;
        LIVE_EXPORTERS.decrementAndGet();
    }

    /**
     * Registers a state and makes its Python object; a new reference. Requires the GIL.
     * On failure nothing stays registered or pinned.
     */
    public static long newObject(Constants c, State state) {
        long h = register(state);
        try {
            return c.types.newJavaBuffer(c, h);
        } catch (RuntimeException e) {
            unregister(h);
            state.deallocated();
            throw e;
        }
    }

    static State get(long handle) {
        State[] t = table;
        return handle >= 0 && handle < t.length ? t[(int) handle] : null;
    }

    /** How the memory behind a segment is owned, which decides what close() may do. */
    enum Ownership {
        /** a {@link SharingArena}: freed after the last export. */
        SHARING,
        /** collected or never freed (auto arena, global, a direct ByteBuffer): kept reachable by the export. */
        COLLECTED,
        /** someone's confined or shared arena, closed when they say. */
        CLOSEABLE
    }

    static Ownership ownershipOf(MemorySegment segment) {
        synchronized (SHARING) {
            if (SHARING.containsKey(segment.scope())) return Ownership.SHARING;
        }
        String kind = segment.scope().getClass().getSimpleName();
        // the JDK's session classes: GlobalSession, ImplicitSession (auto), ConfinedSession, SharedSession
        if (kind.contains("Global") || kind.contains("Implicit") || kind.contains("Heap")) return Ownership.COLLECTED;
        return Ownership.CLOSEABLE;
    }

    // ---- the native form of a view ------------------------------------------------------------

    /** Format, shape, strides and suboffsets as C arrays, made once per spec; 0 for NULL. */
    record NativeInfo(MemorySegment memory, long format, long shape, long strides, long suboffsets) {
        static NativeInfo of(BufferSpec spec) {
            byte[] fmt = spec.format().getBytes(StandardCharsets.US_ASCII);
            int ndim = spec.ndim();
            long[] shape = spec.shape(), strides = spec.strides(), sub = spec.suboffsets();
            int n = Math.max(ndim, Math.max(strides.length, sub == null ? 0 : sub.length));
            long arrays = 8L * n;
            long size = arrays * 3 + fmt.length + 1;
            MemorySegment m = Arena.ofAuto().allocate(size, 8);   // freed by the GC once the state is gone
            long base = m.address();
            for (int i = 0; i < shape.length; i++) m.setAtIndex(ValueLayout.JAVA_LONG, i, shape[i]);
            for (int i = 0; i < strides.length; i++) m.set(ValueLayout.JAVA_LONG, arrays + 8L * i, strides[i]);
            if (sub != null) for (int i = 0; i < sub.length; i++) m.set(ValueLayout.JAVA_LONG, 2 * arrays + 8L * i, sub[i]);
            MemorySegment.copy(fmt, 0, m, ValueLayout.JAVA_BYTE, 3 * arrays, fmt.length);
            m.set(ValueLayout.JAVA_BYTE, 3 * arrays + fmt.length, (byte) 0);
            boolean scalar = ndim == 0;
            return new NativeInfo(m, base + 3 * arrays,
                    scalar ? 0 : base, scalar ? 0 : base + arrays, sub == null ? 0 : base + 2 * arrays);
        }
    }

    /** One live view handed to Python, for counting and for naming it when close() must refuse. */
    record View(long id, int flags, String thread, long sinceNanos, BufferSpec spec, NativeInfo info) {
        String describe() {
            return "view #" + id + " (" + BufferRequest.describe(flags) + ", taken on thread '" + thread + "' "
                    + (System.nanoTime() - sinceNanos) / 1_000_000 + " ms ago)";
        }
    }

    /** The Java side of one {@code panamapy.JavaBuffer}. */
    public static final class State {
        private final BufferSpec spec;            // static exports
        private final BufferExporter exporter;    // dynamic exports
        private final NativeInfo info;            // static exports
        private final boolean cContiguous, fContiguous;
        private final Ownership ownership;
        private final SharingArena pinned;
        private final Map<Long, View> views = new LinkedHashMap<>();
        private long nextViewId = 1;
        private volatile int exports;
        private volatile long totalExports;
        private volatile boolean closed;
        private volatile boolean deallocated;
        private volatile IntConsumer releaseListener;
        private int waiters;                      // guarded by this

        public State(BufferSpec spec, BufferExporter exporter) {
            this.spec = spec;
            this.exporter = exporter;
            if (spec != null) {
                this.info = NativeInfo.of(spec);
                this.cContiguous = spec.isCContiguous();
                this.fContiguous = spec.isFContiguous();
                this.ownership = ownershipOf(spec.segment());
                SharingArena a = null;
                if (ownership == Ownership.SHARING) {
                    synchronized (SHARING) { a = SHARING.get(spec.segment().scope()); }
                    if (a != null) a.pin();
                }
                this.pinned = a;
            } else {
                this.info = null;
                this.cContiguous = this.fContiguous = false;
                this.ownership = Ownership.CLOSEABLE;
                this.pinned = null;
            }
        }

        public BufferSpec spec() { return spec; }
        public int exports() { return exports; }
        public long totalExports() { return totalExports; }
        public boolean isClosed() { return closed; }
        public boolean isDeallocated() { return deallocated; }
        public void onRelease(IntConsumer listener) { this.releaseListener = listener; }

        /** No new exports from now on. Requires the GIL. */
        public void close() { closed = true; }

        /**
         * Whether close() must refuse: live views over memory someone else will free.
         * Returns a description of the live views, or null. Requires the GIL.
         */
        public String liveViewsBlockingClose() {
            if (exports == 0 || ownership != Ownership.CLOSEABLE) return null;
            List<String> names = new ArrayList<>();
            for (View v : views.values()) names.add(v.describe());
            return names.size() + " live view(s) of memory owned by an arena that Java will close: "
                    + String.join("; ", names);
        }

        /**
         * {@code bf_getbuffer}: fills the view or sets a BufferError. Requires the GIL.
         *
         * @return 0, or -1 with a Python exception set
         */
        int getBuffer(Constants c, long self, long view, int flags) {
            if (closed) return bufferError(c, view, "JavaBuffer is closed: Java called close(), no new views can be taken");
            BufferSpec s;
            NativeInfo ni;
            boolean cc, fc;
            if (exporter != null) {
                s = exporter.getBuffer(new BufferRequest(flags));
                if (s == null) return bufferError(c, view, "the Java BufferExporter returned no view");
                s.requireInBounds();
                ni = NativeInfo.of(s);
                cc = s.isCContiguous();
                fc = s.isFContiguous();
            } else {
                s = spec;
                ni = info;
                cc = cContiguous;
                fc = fContiguous;
            }
            if (!s.segment().scope().isAlive()) {
                return bufferError(c, view, "the memory behind this JavaBuffer was freed (its arena is closed)");
            }
            String refusal = BufferRules.refusal(flags, s.isReadOnly(), cc, fc, ni.suboffsets() != 0);
            if (refusal != null) return bufferError(c, view, refusal);

            long id = nextViewId++;
            Mem.putLong(view + PyBufferLayout.BUF, s.segment().address() + s.offset());
            Py_IncRef(Mem.ptr(self));
            Mem.putLong(view + PyBufferLayout.OBJ, self);
            Mem.putLong(view + PyBufferLayout.LEN, s.byteLength());
            Mem.putLong(view + PyBufferLayout.ITEMSIZE, s.itemsize());
            Mem.putInt(view + PyBufferLayout.READONLY, s.isReadOnly() ? 1 : 0);
            boolean shape = BufferRules.giveShape(flags);
            Mem.putInt(view + PyBufferLayout.NDIM, shape ? s.ndim() : 1);
            Mem.putLong(view + PyBufferLayout.FORMAT, BufferRules.giveFormat(flags) ? ni.format() : 0);
            Mem.putLong(view + PyBufferLayout.SHAPE, shape ? ni.shape() : 0);
            Mem.putLong(view + PyBufferLayout.STRIDES, BufferRules.giveStrides(flags) ? ni.strides() : 0);
            Mem.putLong(view + PyBufferLayout.SUBOFFSETS, ni.suboffsets());
            Mem.putLong(view + PyBufferLayout.INTERNAL, id);
            views.put(id, new View(id, flags, Thread.currentThread().getName(), System.nanoTime(),
                    exporter != null ? s : null, exporter != null ? ni : null));
            exports++;
            totalExports++;
            LIVE_VIEWS.incrementAndGet();
            TOTAL_EXPORTS.incrementAndGet();
            return 0;
        }

        /** {@code bf_releasebuffer}. Requires the GIL; never throws. */
        void release(long view) {
            long id = Mem.getLong(view + PyBufferLayout.INTERNAL);
            View v = views.remove(id);
            if (v == null) {
                LOG.error("release of an unknown view #{} (already released?); ignored", id);
                return;
            }
            int left = --exports;
            LIVE_VIEWS.decrementAndGet();
            if (exporter != null) {
                try {
                    exporter.releaseBuffer(v.spec());
                } catch (Throwable t) {
                    LOG.warn("BufferExporter.releaseBuffer threw; ignored", t);
                }
            }
            IntConsumer l = releaseListener;
            if (l != null) {
                try {
                    l.accept(left);
                } catch (Throwable t) {
                    LOG.warn("JavaBuffer release listener threw; ignored", t);
                }
            }
            if (left == 0) wake();
        }

        /** The Python object is being deallocated: every view is gone. Requires the GIL. */
        void deallocated() {
            deallocated = true;
            closed = true;
            if (pinned != null) pinned.unpin();
            wake();
        }

        private void wake() {
            synchronized (this) {
                if (waiters > 0) notifyAll();
            }
        }

        /** Waits (without the GIL) until no view is live. */
        public boolean awaitReleased(long timeoutNanos) throws InterruptedException {
            long deadline = System.nanoTime() + timeoutNanos;
            synchronized (this) {
                waiters++;
                try {
                    while (exports > 0 && !deallocated) {
                        long left = deadline - System.nanoTime();
                        if (left <= 0) return false;
                        wait(Math.max(1, left / 1_000_000));
                    }
                    return true;
                } finally {
                    waiters--;
                }
            }
        }

        String describe() {
            BufferSpec s = spec;
            if (s == null) return "dynamic exporter " + exporter.getClass().getName() + ", exports=" + exports;
            return "format='" + s.format() + "' shape=" + shapeTuple(s.shape()) + " readonly="
                    + (s.isReadOnly() ? "True" : "False") + " exports=" + exports;
        }
    }

    static String shapeTuple(long[] shape) {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) sb.append(", ");
            sb.append(shape[i]);
        }
        if (shape.length == 1) sb.append(',');
        return sb.append(')').toString();
    }

    private static int bufferError(Constants c, long view, String message) {
        Mem.putLong(view + PyBufferLayout.OBJ, 0);
        try (Arena a = Arena.ofConfined()) {
            PyErr_SetString(Mem.ptr(c.excBufferError), a.allocateFrom(message));
        }
        return -1;
    }
}
