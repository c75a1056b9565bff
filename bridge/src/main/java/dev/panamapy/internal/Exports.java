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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
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
    private static int next = 1;                   // guarded by Exports.class; handle 0 is never used, so an
                                                   // object Python made without Java (3.9 only, see Types) has no state
    private static final AtomicLong LIVE_EXPORTERS = new AtomicLong();
    // changed only under the GIL (so no atomics on the hot path); read them under the GIL too
    private static long liveViews;
    private static long totalExports;

    public static long liveExporters() { return LIVE_EXPORTERS.get(); }
    /** Live tracked views. Read under the GIL for an exact figure. */
    public static long liveViews() { return liveViews; }
    /** Views handed out since start. Read under the GIL for an exact figure. */
    public static long totalExports() { return totalExports; }

    /** A new arena that defers freeing until no export pins it; see {@link MemoryOwner}. */
    public static Arena newSharingArena() {
        return MemoryOwner.newSharingArena();
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
            return c.types.newJavaBuffer(c, h, state.isTracked());
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

    // ---- the native form of a view ------------------------------------------------------------

    /** Format, shape, strides and suboffsets as C arrays, made once per spec; 0 for NULL. */
    /**
     * Format, shape, strides and suboffsets as C arrays, made once per spec (per view for a
     * dynamic exporter) in one PyMem block; 0 for NULL. Allocated and freed under the GIL:
     * {@link #free()} when the object (or, dynamic, the view) is gone.
     */
    record NativeInfo(long memory, long format, long shape, long strides, long suboffsets) {
        // sizes cannot overflow: n is an int (array lengths), so 3 * 8 * n + format + 1 < 2^37
        static NativeInfo of(BufferSpec spec) {
            String f = spec.format();
            byte[] fmt = f == null ? new byte[0] : f.getBytes(StandardCharsets.US_ASCII);
            int ndim = spec.ndim();
            long[] shape = spec.shape(), strides = spec.strides(), sub = spec.suboffsets();
            int n = Math.max(ndim, Math.max(strides.length, sub == null ? 0 : sub.length));
            long arrays = 8L * n;
            long size = arrays * 3 + fmt.length + 1;
            long base = PyMem_Malloc(size).address();
            if (base == 0) throw new OutOfMemoryError("PyMem_Malloc(" + size + ") failed");
            MemorySegment m = MemorySegment.ofAddress(base).reinterpret(size);
            m.fill((byte) 0);
            for (int i = 0; i < shape.length; i++) m.setAtIndex(ValueLayout.JAVA_LONG, i, shape[i]);
            for (int i = 0; i < strides.length; i++) m.set(ValueLayout.JAVA_LONG, arrays + 8L * i, strides[i]);
            if (sub != null) for (int i = 0; i < sub.length; i++) m.set(ValueLayout.JAVA_LONG, 2 * arrays + 8L * i, sub[i]);
            MemorySegment.copy(fmt, 0, m, ValueLayout.JAVA_BYTE, 3 * arrays, fmt.length);
            boolean scalar = ndim == 0;
            return new NativeInfo(base, f == null ? 0 : base + 3 * arrays,
                    scalar ? 0 : base, scalar ? 0 : base + arrays, sub == null ? 0 : base + 2 * arrays);
        }

        void free() {
            PyMem_Free(Mem.ptr(memory));
        }
    }

    /**
     * The live views of one tracked export, for counting them and for naming them when close()
     * must refuse: parallel arrays indexed by slot, slots reused, so taking a view allocates
     * nothing. {@code Py_buffer.internal} holds slot + 1 (0: untracked).
     */
    static final class Views {
        private int[] flags = new int[4];
        private long[] threadIds = new long[4];             // 0: free slot (thread ids start at 1)
        private BufferSpec[] specs;                         // dynamic exports only
        private NativeInfo[] infos;                         // dynamic exports only: freed at release
        private int[] free = {3, 2, 1, 0};
        private int freeTop = 4;
        private int live;

        int add(int f, BufferSpec spec, NativeInfo info) {
            if (freeTop == 0) grow();
            int slot = free[--freeTop];
            flags[slot] = f;
            threadIds[slot] = Thread.currentThread().threadId();
            if (spec != null) {                             // primitives only on the static path: no GC barriers
                if (specs == null) {
                    specs = new BufferSpec[flags.length];
                    infos = new NativeInfo[flags.length];
                }
                specs[slot] = spec;
                infos[slot] = info;
            }
            live++;
            return slot;
        }

        /** Removes a slot; returns its spec (dynamic exports), or null. False slot: throws. */
        BufferSpec remove(int slot) {
            if (slot < 0 || slot >= flags.length || threadIds[slot] == 0) {
                throw new IllegalStateException("release of an unknown view (slot " + slot + "): released twice?");
            }
            BufferSpec spec = null;
            if (specs != null && specs[slot] != null) {
                spec = specs[slot];
                infos[slot].free();
                specs[slot] = null;
                infos[slot] = null;
            }
            threadIds[slot] = 0;
            free[freeTop++] = slot;
            live--;
            return spec;
        }

        /** The live views (of a dynamic export: those whose spec matches), for messages. */
        List<String> describe(Predicate<BufferSpec> which) {
            java.util.Map<Long, String> names = new java.util.HashMap<>();
            for (Thread t : Thread.getAllStackTraces().keySet()) names.put(t.threadId(), t.getName());
            List<String> out = new ArrayList<>();
            for (int i = 0; i < threadIds.length; i++) {
                if (threadIds[i] != 0 && (specs == null || specs[i] == null || which.test(specs[i]))) {
                    out.add("view #" + (i + 1) + " (" + BufferRequest.describe(flags[i]) + ", taken on thread '"
                            + names.getOrDefault(threadIds[i], "#" + threadIds[i]) + "')");
                }
            }
            return out;
        }

        private void grow() {
            int n = flags.length;
            flags = Arrays.copyOf(flags, 2 * n);
            threadIds = Arrays.copyOf(threadIds, 2 * n);
            if (specs != null) {
                specs = Arrays.copyOf(specs, 2 * n);
                infos = Arrays.copyOf(infos, 2 * n);
            }
            free = Arrays.copyOf(free, 2 * n);
            for (int i = 2 * n - 1; i >= n; i--) free[freeTop++] = i;
        }
    }

    private static final String FREED = "the memory behind this JavaBuffer was freed (its arena is closed)";

    /** Longest a waiter sleeps before it looks at the count again. */
    private static final long WAIT_SLICE_MS = 5;

    /**
     * The Java side of one {@code panamapy.JavaBuffer}.
     *
     * <p><b>Memory.</b> Every memory owner ({@link MemoryOwner}) this object handed out a view of
     * is retained until the object is deallocated, not only until that view is released: a
     * consumer may keep the object and a raw pointer after releasing its view (numpy before
     * 1.22.4 did so in {@code frombuffer}). A static export retains its spec's owner from its
     * creation; a dynamic one each owner at its first view of it.
     */
    public static final class State {
        private final BufferSpec spec;            // static exports
        private final BufferExporter exporter;    // dynamic exports
        private final NativeInfo info;            // static exports
        private final boolean cContiguous, fContiguous;
        private final MemoryOwner owner;          // static exports: retained from creation to deallocation
        private final MemorySegment.Scope callerScope;   // static exports over the caller's memory, else null
        // dynamic exports, under the GIL: each owner retained at its first view, released at deallocation
        private Map<MemorySegment.Scope, MemoryOwner> retained;
        private MemoryOwner lastRetained;
        private int pruneAt = 16;
        private final Views views = new Views();
        private int exports;                      // under the GIL (exportCount() takes it to read)
        private long totalExports;                // under the GIL
        private volatile boolean closed;
        private volatile boolean deallocated;
        private volatile IntConsumer releaseListener;
        private volatile int waiters;             // written under this

        private final boolean tracked;
        // static exports: every request the spec accepts, and what such a view says, worked out
        // once (the spec never changes), so that getbuffer only copies them
        private final long[] accepted = new long[8];     // a bit per request flags value 0..511
        private long vBuf, vLen, vItemsize, vShape, vStrides;
        private int vReadonly, vNdim;

        /**
         * @param tracked whether Python reports each release (a type with bf_releasebuffer):
         *                required for dynamic exporters and for memory the caller frees ({@link MemoryOwner})
         */
        public State(BufferSpec spec, BufferExporter exporter, boolean tracked) {
            this.spec = spec;
            this.exporter = exporter;
            this.tracked = tracked;
            if (spec != null) {
                // first: an unchecked spec whose size overflows a long throws before anything is pinned or allocated
                this.vLen = spec.byteLength();
                this.cContiguous = spec.isCContiguous();
                this.fContiguous = spec.isFContiguous();
                MemoryOwner o = MemoryOwner.of(spec.segment());
                if (!tracked && !o.bridgeFrees()) {
                    throw new IllegalArgumentException("an untracked export needs memory the bridge frees: allocate it "
                            + "from CPython.arena(). The bridge cannot tell who frees this segment's memory (memory of "
                            + "a confined or shared arena, Arena.ofAuto(), Arena.global(), a ByteBuffer or "
                            + "MemorySegment.ofAddress(..).reinterpret(..) all look alike to it), so without counting "
                            + "views it cannot keep it valid; or use CPython.export(spec), which counts them and "
                            + "refuses close() while they live");
                }
                o.retain();                         // throws if the memory is gone already
                NativeInfo ni;
                try {
                    ni = NativeInfo.of(spec);       // freed in deallocated()
                } catch (RuntimeException | Error e) {
                    o.release();
                    throw e;
                }
                this.owner = o;
                this.callerScope = o.bridgeFrees() ? null : o.scope();
                this.info = ni;
                precompute(spec, info);
            } else {
                if (!tracked) throw new IllegalArgumentException("a dynamic BufferExporter is always tracked");
                this.info = null;
                this.cContiguous = this.fContiguous = false;
                this.owner = null;
                this.callerScope = null;
            }
        }

        private void precompute(BufferSpec s, NativeInfo ni) {
            int refused = s.refusedFlags();
            for (int f = 0; f < 512; f++) {
                boolean harnessRefuses = refused != 0 && (f & refused) == refused;
                if (!harnessRefuses && BufferRules.refusal(f, s.isReadOnly(), cContiguous, fContiguous,
                        ni.suboffsets() != 0) == null) {
                    accepted[f >>> 6] |= 1L << f;
                }
            }
            vBuf = s.segment().address() + s.offset();
            vItemsize = s.itemsize();
            vReadonly = s.isReadOnly() ? 1 : 0;
            vNdim = s.ndim();
            vShape = s.hasNullShape() ? 0 : ni.shape();
            vStrides = s.hasNullStrides() ? 0 : ni.strides();
        }

        public BufferSpec spec() { return spec; }
        public boolean isTracked() { return tracked; }
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
            if (exports == 0 || (exporter == null && callerScope == null)) return null;
            List<String> names = views.describe(s -> !bridgeFrees(s.segment().scope()));
            if (names.isEmpty()) return null;       // dynamic: every live view is of CPython.arena() memory
            return names.size() + " live view(s) of memory that the caller frees (not from CPython.arena()): "
                    + String.join("; ", names);
        }

        /** Whether this dynamic export retained the scope as memory the bridge frees. Requires the GIL. */
        private boolean bridgeFrees(MemorySegment.Scope scope) {
            MemoryOwner o = retained == null ? null : retained.get(scope);
            return o != null && o.bridgeFrees();
        }

        /**
         * Retains the owner of a dynamic view's memory until deallocation, once per owner; the
         * caller's scopes that are closed by now are dropped now and then. Requires the GIL.
         *
         * @throws IllegalStateException if the memory is freed already
         */
        private MemoryOwner retain(MemorySegment segment) {
            MemorySegment.Scope scope = segment.scope();
            MemoryOwner o = lastRetained;
            if (o != null && o.scope() == scope) return o;
            if (retained == null) retained = new HashMap<>();
            o = retained.get(scope);
            if (o == null) {
                o = MemoryOwner.of(segment);
                o.retain();
                if (retained.size() >= pruneAt) {
                    retained.values().removeIf(r -> !r.bridgeFrees() && !r.scope().isAlive());
                    pruneAt = Math.max(16, 2 * retained.size());
                }
                retained.put(scope, o);
            }
            lastRetained = o;
            return o;
        }

        /**
         * {@code bf_getbuffer}: fills the view or sets a BufferError. Requires the GIL.
         *
         * @return 0, or -1 with a Python exception set
         */
        int getBuffer(Constants c, long self, long view, int flags) {
            if (exporter == null && (flags >>> 9) == 0 && (accepted[flags >>> 6] & (1L << flags)) != 0 && !closed
                    && (callerScope == null || callerScope.isAlive())) {
                // the common case: a static spec and a request it accepts
                boolean shape = BufferRules.giveShape(flags);
                Mem.putLong(view + PyBufferLayout.BUF, vBuf);
                Refcount.incref(self);
                Mem.putLong(view + PyBufferLayout.OBJ, self);
                Mem.putLong(view + PyBufferLayout.LEN, vLen);
                Mem.putLong(view + PyBufferLayout.ITEMSIZE, vItemsize);
                Mem.putInt(view + PyBufferLayout.READONLY, vReadonly);
                Mem.putInt(view + PyBufferLayout.NDIM, shape ? vNdim : 1);
                Mem.putLong(view + PyBufferLayout.FORMAT, BufferRules.giveFormat(flags) ? info.format() : 0);
                Mem.putLong(view + PyBufferLayout.SHAPE, shape ? vShape : 0);
                Mem.putLong(view + PyBufferLayout.STRIDES, BufferRules.giveStrides(flags) ? vStrides : 0);
                Mem.putLong(view + PyBufferLayout.SUBOFFSETS, info.suboffsets());
                counted(view, flags, null, null);
                return 0;
            }
            if (closed) return bufferError(c, view, "JavaBuffer is closed: Java called close(), no new views can be taken");
            BufferSpec s;
            NativeInfo ni;
            boolean cc, fc;
            if (exporter != null) {
                CallState d = Interpreter.upcallEnter();    // user code: its calls nest inside Python's hold
                try {
                    s = exporter.getBuffer(new BufferRequest(flags));
                } finally {
                    d.depth--;                          // no call: safe even on a stack overflow
                }
                if (s == null) return bufferError(c, view, "the Java BufferExporter returned no view");
                s.requireInBounds();                // thrown: a BufferError naming the element
                ni = null;                          // made once the request is accepted
                cc = s.isCContiguous();
                fc = s.isFContiguous();
            } else {
                s = spec;
                ni = info;
                cc = cContiguous;
                fc = fContiguous;
            }
            if (exporter == null && callerScope != null && !callerScope.isAlive()) {
                return bufferError(c, view, FREED);
            }
            int refused = s.refusedFlags();
            if (refused != 0 && (flags & refused) == refused) return bufferError(c, view, s.refusalMessage());
            boolean hasSuboffsets = ni != null ? ni.suboffsets() != 0 : s.suboffsets() != null;
            String refusal = BufferRules.refusal(flags, s.isReadOnly(), cc, fc, hasSuboffsets);
            if (refusal != null) return bufferError(c, view, refusal);
            long len = s.byteLength();              // throws (unchecked overflow) before anything is taken
            if (exporter != null) {
                // kept until this object is deallocated; a sharing arena stays pinned, so it stays alive
                MemoryOwner o;
                try {
                    o = retain(s.segment());
                } catch (IllegalStateException e) {
                    return bufferError(c, view, FREED);
                }
                if (!o.bridgeFrees() && !o.scope().isAlive()) return bufferError(c, view, FREED);
                ni = NativeInfo.of(s);              // a dynamic view's arrays, freed at its release
            }

            Mem.putLong(view + PyBufferLayout.BUF, s.segment().address() + s.offset());
            Refcount.incref(self);
            Mem.putLong(view + PyBufferLayout.OBJ, self);
            Mem.putLong(view + PyBufferLayout.LEN, len);
            Mem.putLong(view + PyBufferLayout.ITEMSIZE, s.itemsize());
            Mem.putInt(view + PyBufferLayout.READONLY, s.isReadOnly() ? 1 : 0);
            boolean shape = BufferRules.giveShape(flags);
            Mem.putInt(view + PyBufferLayout.NDIM, shape ? s.ndim() : 1);
            Mem.putLong(view + PyBufferLayout.FORMAT, BufferRules.giveFormat(flags) ? ni.format() : 0);
            Mem.putLong(view + PyBufferLayout.SHAPE, shape && !s.hasNullShape() ? ni.shape() : 0);
            Mem.putLong(view + PyBufferLayout.STRIDES,
                    BufferRules.giveStrides(flags) && !s.hasNullStrides() ? ni.strides() : 0);
            Mem.putLong(view + PyBufferLayout.SUBOFFSETS, ni.suboffsets());
            counted(view, flags, exporter != null ? s : null, exporter != null ? ni : null);
            return 0;
        }

        /** Counts a view handed out and, if tracked, records it (its slot goes in Py_buffer.internal). */
        private void counted(long view, int flags, BufferSpec dynamicSpec, NativeInfo dynamicInfo) {
            totalExports++;
            Exports.totalExports++;
            if (tracked) {
                int slot = views.add(flags, dynamicSpec, dynamicInfo);
                Mem.putLong(view + PyBufferLayout.INTERNAL, slot + 1);
                exports++;
                liveViews++;
            } else {
                Mem.putLong(view + PyBufferLayout.INTERNAL, 0);
            }
        }

        /** {@code bf_releasebuffer}. Requires the GIL; never throws. */
        void release(long view) {
            int slot = (int) Mem.getLong(view + PyBufferLayout.INTERNAL) - 1;
            BufferSpec given = views.remove(slot);
            int left = --exports;
            liveViews--;
            IntConsumer l = releaseListener;
            if (exporter != null || l != null) {
                CallState d = Interpreter.upcallEnter();    // user code: its calls nest inside Python's hold
                try {
                    if (exporter != null) {
                        try {
                            exporter.releaseBuffer(given);
                        } catch (Throwable t) {
                            LOG.warn("BufferExporter.releaseBuffer threw; ignored", t);
                        }
                    }
                    if (l != null) {
                        try {
                            l.accept(left);
                        } catch (Throwable t) {
                            LOG.warn("JavaBuffer release listener threw; ignored", t);
                        }
                    }
                } finally {
                    d.depth--;                          // no call: safe even on a stack overflow
                }
            }
            if (left == 0) wake();
        }

        /**
         * The Python object is being deallocated: every view is gone, and with it the last way
         * Python could reach the memory. Releases every owner it retained. Requires the GIL.
         */
        void deallocated() {
            if (deallocated) return;
            deallocated = true;
            closed = true;
            if (info != null) info.free();
            if (owner != null) owner.release();
            if (retained != null) {
                for (MemoryOwner o : retained.values()) o.release();
                retained = null;
            }
            lastRetained = null;
            wake();
        }

        private void wake() {
            // a waiter registers (waiters, volatile) before it reads exports; should this read
            // still miss it, the waiter rechecks within WAIT_SLICE_MS on its own
            if (waiters > 0) {
                synchronized (this) {
                    notifyAll();
                }
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
                        wait(Math.max(1, Math.min(WAIT_SLICE_MS, left / 1_000_000)));
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
                    + (s.isReadOnly() ? "True" : "False") + " exports=" + (tracked ? String.valueOf(exports) : "untracked");
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
