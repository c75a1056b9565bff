package dev.panamapy.arrow.internal;

import dev.panamapy.internal.Handoff;
import dev.panamapy.internal.Interpreter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A C struct Java moved out of a producer's capsule (an ArrowArray, or an ArrowArrayStream) and
 * owns: reference counted by the Java buffers over its memory; the last one calls the
 * producer's {@code release} exactly once, holding the GIL (taken by the releasing thread, or
 * for a virtual thread by the bridge's hand-off thread while it waits; if CPython is closed the
 * release is skipped: the producer's memory went with it), then frees the moved struct.
 */
public final class Imported {
    private static final Logger LOG = LoggerFactory.getLogger(Imported.class);
    private static final AtomicInteger LIVE = new AtomicInteger();

    private final long struct;
    private final long releaseOffset;
    private final AtomicInteger refs = new AtomicInteger(1);

    /**
     * Moves the struct at {@code source} into new C memory (the source's {@code release} becomes
     * NULL, so its capsule's destructor leaves it alone). The caller holds the one reference.
     */
    public static Imported move(long source, long size, long releaseOffset) {
        long p = CData.calloc(size);
        CData.copy(source, p, size);
        CData.putLong(source + releaseOffset, 0);
        LIVE.incrementAndGet();
        return new Imported(p, releaseOffset);
    }

    private Imported(long struct, long releaseOffset) {
        this.struct = struct;
        this.releaseOffset = releaseOffset;
    }

    /** Moved structs not released yet, for leak checks. */
    public static int live() { return LIVE.get(); }

    /** The moved struct's address. */
    public long address() { return struct; }

    /** One more Java buffer over this struct's memory. */
    public void ref() {
        int n;
        do {
            n = refs.get();
            // never from 0 up again: a failed ref() must not revive a released (freed) struct
            if (n <= 0) throw new IllegalStateException("an imported Arrow struct was already released");
        } while (!refs.compareAndSet(n, n + 1));
    }

    /**
     * One fewer; the last releases. Any thread, virtual ones included (which may not take the
     * GIL: the release is handed to the bridge's platform thread and waited for); never throws.
     */
    public void unref() {
        if (refs.decrementAndGet() != 0) return;
        try {
            Handoff.run(this::releaseWithGil);
        } catch (Throwable t) {
            LOG.error("releasing an imported Arrow struct failed; its producer's memory may leak", t);
        } finally {
            CData.free(struct);
            LIVE.decrementAndGet();
        }
    }

    /** Calls the producer's release holding the GIL; on a platform thread. */
    private void releaseWithGil() {
        long fn = CData.getLong(struct + releaseOffset);
        if (fn == 0) return;
        Interpreter in = Interpreter.running();
        int g = in == null ? -1 : in.tryEnter();
        if (g == -1) {
            LOG.debug("CPython is closed: the producer's release of an imported Arrow struct is skipped");
            return;
        }
        try {
            Exports.callRelease(fn, struct);
        } finally {
            in.exit(g);
        }
    }
}
