package dev.panamapy.internal;

import dev.panamapy.BufferExporter;
import dev.panamapy.BufferLayout;
import dev.panamapy.BufferRequest;
import dev.panamapy.BufferSpec;
import dev.panamapy.HarnessSpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

import static dev.panamapy.bindings.Python_h.PyErr_SetString;

/**
 * The Java side of one {@code panamapy.JavaBuffer}, through its lifecycle: made with the
 * object ({@link ExportTable#newObject}), asked for views ({@link #getBuffer}: the request rules
 * of {@link BufferRules}, then {@link NativeView#fill}) and told of their releases
 * ({@link #release}, tracked exports, whose live views {@link ViewSlots} keeps), closed by Java
 * ({@link #close}: no new views) and deallocated by Python ({@link #deallocated}). A static
 * export works out everything about its spec once, here and in its {@link NativeView}; a
 * dynamic one asks its {@link BufferExporter} on every request. Used by {@link Upcalls} and
 * {@code JavaBuffer}; changed only under the GIL.
 *
 * <p><b>Memory.</b> Every memory owner ({@link MemoryOwner}) this object handed out a view of
 * is retained until the object is deallocated, not only until that view is released: a
 * consumer may keep the object and a raw pointer after releasing its view (numpy before
 * 1.22.4 did so in {@code frombuffer}). A static export retains its spec's owner from its
 * creation; a dynamic one each owner at its first view of it.
 */
public final class ExportState {
    private static final Logger LOG = LoggerFactory.getLogger(ExportState.class);

    private static final String FREED = "the memory behind this JavaBuffer was freed (its arena is closed)";

    /** Longest a waiter sleeps before it looks at the count again. */
    private static final long WAIT_SLICE_MS = 5;

    private final BufferLayout spec;            // static exports
    private final BufferExporter exporter;    // dynamic exports
    private final NativeView info;            // static exports
    private final boolean cContiguous, fContiguous;
    private final MemoryOwner owner;          // static exports: retained from creation to deallocation
    private final MemorySegment.Scope callerScope;   // static exports over the caller's memory, else null
    // dynamic exports, under the GIL: each owner retained at its first view, released at deallocation
    private Map<MemorySegment.Scope, MemoryOwner> retained;
    private MemoryOwner lastRetained;
    private int pruneAt = 16;
    private final ViewSlots<NativeView> views = new ViewSlots<>();
    private int exports;                      // under the GIL (exportCount() takes it to read)
    private long totalExports;                // under the GIL
    private volatile boolean closed;
    private volatile boolean deallocated;
    private volatile IntConsumer releaseListener;
    private volatile int waiters;             // written under this

    private final boolean tracked;
    // static exports: every request the spec accepts, worked out once (the spec never changes);
    // what such a view says is in info, so that getbuffer only copies it
    private final long[] accepted;

    /**
     * @param tracked whether Python reports each release (a type with bf_releasebuffer):
     *                required for dynamic exporters and for memory the caller frees ({@link MemoryOwner})
     */
    public ExportState(BufferLayout spec, BufferExporter exporter, boolean tracked) {
        this.spec = spec;
        this.exporter = exporter;
        this.tracked = tracked;
        if (spec != null) {
            // first: a harness spec whose size overflows a long throws before anything is pinned or allocated
            long len = spec.byteLength();
            this.cContiguous = spec.isCContiguous();
            this.fContiguous = spec.isFContiguous();
            // the memory Python reads: for an indirect view the data, not the pointer array (which
            // this object keeps reachable through `spec`)
            MemoryOwner o = MemoryOwner.of(spec.memory());
            if (!tracked && !o.bridgeFrees()) {
                throw new IllegalArgumentException("an untracked export needs memory the bridge frees: allocate it "
                        + "from CPython.arena(). The bridge cannot tell who frees this segment's memory (memory of "
                        + "a confined or shared arena, Arena.ofAuto(), Arena.global(), a ByteBuffer or "
                        + "MemorySegment.ofAddress(..).reinterpret(..) all look alike to it), so without counting "
                        + "views it cannot keep it valid; or use CPython.export(spec), which counts them and "
                        + "refuses close() while they live");
            }
            o.retain();                         // throws if the memory is gone already
            NativeView ni;
            try {
                ni = NativeView.of(spec, len);  // freed in deallocated()
            } catch (RuntimeException | Error e) {
                o.release();
                throw e;
            }
            this.owner = o;
            this.callerScope = o.bridgeFrees() ? null : o.scope();
            this.info = ni;
            this.accepted = BufferRules.acceptedRequests(spec.isReadOnly(), cContiguous, fContiguous,
                    info.hasSuboffsets(), spec instanceof HarnessSpec h ? h.refusedFlags() : 0);
        } else {
            if (!tracked) throw new IllegalArgumentException("a dynamic BufferExporter is always tracked");
            this.info = null;
            this.cContiguous = this.fContiguous = false;
            this.owner = null;
            this.callerScope = null;
            this.accepted = null;
        }
    }

    public BufferLayout spec() { return spec; }
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
        List<String> names = views.describe(v -> !bridgeFrees(v.source.memory().scope()));
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
        if (exporter == null && BufferRules.accepts(accepted, flags) && !closed
                && (callerScope == null || callerScope.isAlive())) {
            // the common case: a static spec and a request it accepts
            info.fill(view, self, flags, counted(flags, null));
            return 0;
        }
        if (closed) return bufferError(c, view, "JavaBuffer is closed: Java called close(), no new views can be taken");
        BufferLayout s;
        NativeView ni;
        boolean cc, fc;
        if (exporter != null) {
            CallState d = Interpreter.upcallEnter();    // user code: its calls nest inside Python's hold
            int scopes = Interpreter.openScopes(d);
            int left = 0;
            try {
                if (Interpreter.refusesUserCode()) {
                    return bufferError(c, view, "CPython is finalizing: the Java BufferExporter can no longer be asked "
                            + "for views");
                }
                s = exporter.getBuffer(new BufferRequest(flags));
            } finally {
                try {
                    left = Interpreter.closeScopesFrom(d, scopes, null);
                } finally {
                    d.depth--;                      // no call: safe even on a stack overflow
                }
            }
            if (left > 0) {
                return bufferError(c, view, "the Java BufferExporter left " + left + " py.gil() scope(s) open; they were "
                        + "closed and no view was made (close a scope before getBuffer returns)");
            }
            // the exporter's code may have let the GIL go (Python code, withoutGil), and another
            // thread closed this JavaBuffer meanwhile: close() found no view, so none may be made
            if (closed) return bufferError(c, view, "JavaBuffer was closed while its BufferExporter made the view; "
                    + "no new views can be taken");
            if (s == null) return bufferError(c, view, "the Java BufferExporter returned no view");
            if (s instanceof BufferSpec checked) checked.requireInBounds();  // thrown: a BufferError naming the element
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
        if (s instanceof HarnessSpec h && h.refuses(flags)) return bufferError(c, view, h.refusalMessage());
        boolean hasSuboffsets = ni != null ? ni.hasSuboffsets() : s.suboffsets() != null;
        String refusal = BufferRules.refusal(flags, s.isReadOnly(), cc, fc, hasSuboffsets);
        if (refusal != null) return bufferError(c, view, refusal);
        long len = s.byteLength();              // throws (harness overflow) before anything is taken
        if (exporter != null) {
            // kept until this object is deallocated; a sharing arena stays pinned, so it stays alive
            MemoryOwner o;
            try {
                o = retain(s.memory());             // an indirect view's pointer array: kept by its NativeView
            } catch (IllegalStateException e) {
                return bufferError(c, view, FREED);
            }
            if (!o.bridgeFrees() && !o.scope().isAlive()) return bufferError(c, view, FREED);
            ni = NativeView.of(s, len);         // a dynamic view's arrays, freed at its release
        }
        ni.fill(view, self, flags, counted(flags, exporter != null ? ni : null));
        return 0;
    }

    /**
     * Counts a view handed out and, if tracked, records it.
     *
     * @return {@code Py_buffer.internal}: the view's slot + 1, or 0 if untracked
     */
    private long counted(int flags, NativeView dynamicView) {
        totalExports++;
        ExportTable.totalExports++;
        if (!tracked) return 0;
        int slot = views.add(flags, dynamicView);
        exports++;
        ExportTable.liveViews++;
        return slot + 1;
    }

    /** {@code bf_releasebuffer}. Requires the GIL; never throws. */
    void release(long view) {
        int slot = (int) Mem.getLong(view + PyBufferLayout.INTERNAL) - 1;
        NativeView dynamicView = views.remove(slot);
        BufferLayout given = null;
        if (dynamicView != null) {
            given = dynamicView.source;
            dynamicView.free();
        }
        int left = --exports;
        ExportTable.liveViews--;
        IntConsumer l = releaseListener;
        if ((exporter != null || l != null) && !Interpreter.refusesUserCode()) {   // finalizing: no user code
            CallState d = Interpreter.upcallEnter();    // user code: its calls nest inside Python's hold
            int scopes = Interpreter.openScopes(d);
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
                try {
                    int open = Interpreter.closeScopesFrom(d, scopes, null);
                    if (open > 0) {
                        LOG.warn("a BufferExporter.releaseBuffer or JavaBuffer release listener left {} py.gil() scope(s) "
                                + "open; they were closed (close a scope before the callback returns)", open);
                    }
                } catch (Throwable t) {
                    LOG.warn("closing the py.gil() scopes a release callback left open failed", t);
                } finally {
                    d.depth--;                      // no call: safe even on a stack overflow
                }
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
        BufferLayout s = spec;
        if (s == null) return "dynamic exporter " + exporter.getClass().getName() + ", exports=" + exports;
        return "format='" + s.format() + "' shape=" + shapeTuple(s.shape()) + " readonly="
                + (s.isReadOnly() ? "True" : "False") + " exports=" + (tracked ? String.valueOf(exports) : "untracked");
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
