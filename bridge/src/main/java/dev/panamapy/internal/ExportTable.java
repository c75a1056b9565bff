package dev.panamapy.internal;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The table of live exports: a {@code panamapy.JavaBuffer} object holds a handle (an index
 * here, see {@link Types}), and each upcall turns it into the object's {@link ExportState} with
 * one array read. Also the process-wide export counters of {@code CPython.diagnostics()}.
 *
 * <p>The path of {@code memoryview(obj)}: {@link Upcalls#getbuffer} (the error barrier) looks
 * the state up here and calls {@link ExportState#getBuffer}, which asks {@link BufferRules}
 * whether the request can be met and has the view's {@link NativeView} fill the
 * {@code Py_buffer}; {@code PyBuffer_Release} comes back through {@link Upcalls#releasebuffer}
 * to {@link ExportState#release}; {@link Upcalls#dealloc} unregisters the handle.
 *
 * <p>Registering takes this class's lock; lookups read the volatile table without one, under
 * the GIL, as the upcalls do.
 */
public final class ExportTable {
    private ExportTable() { }

    private static volatile ExportState[] table = new ExportState[64];
    private static int[] free = new int[64];       // guarded by ExportTable.class
    private static int freeTop;                    // guarded by ExportTable.class
    private static int next = 1;                   // guarded by ExportTable.class; handle 0 is never used, so an
                                                   // object Python made without Java (3.9 only, see Types) has no state
    private static final AtomicLong LIVE_EXPORTERS = new AtomicLong();
    // changed only under the GIL (so no atomics on the hot path); read them under the GIL too
    static long liveViews;                         // ExportState counts
    static long totalExports;                      // ExportState counts

    public static long liveExporters() { return LIVE_EXPORTERS.get(); }
    /** Live tracked views. Read under the GIL for an exact figure. */
    public static long liveViews() { return liveViews; }
    /** Views handed out since start. Read under the GIL for an exact figure. */
    public static long totalExports() { return totalExports; }

    static synchronized long register(ExportState s) {
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
    public static long newObject(Constants c, ExportState state) {
        long h = register(state);
        try {
            return c.types.newJavaBuffer(c, h, state.isTracked());
        } catch (RuntimeException e) {
            unregister(h);
            state.deallocated();
            throw e;
        }
    }

    static ExportState get(long handle) {
        ExportState[] t = table;
        return handle >= 0 && handle < t.length ? t[(int) handle] : null;
    }
}
