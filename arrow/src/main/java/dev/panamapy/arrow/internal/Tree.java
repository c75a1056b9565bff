package dev.panamapy.arrow.internal;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The C memory of one exported struct tree (a schema or an array with its children and
 * dictionary): every struct in it carries the tree's id as {@code private_data}, and the tree is
 * freed when the last of its structs is released. A consumer may move a child out and release
 * it apart from its parent (the spec allows it): each struct counts once, whichever way it goes.
 * Built on one thread; released from any.
 */
final class Tree {
    private static final ConcurrentHashMap<Long, Tree> LIVE = new ConcurrentHashMap<>();
    private static final AtomicLong NEXT = new AtomicLong(1);

    final long id = NEXT.getAndIncrement();
    private long[] allocations = new long[8];
    private int n;
    private final AtomicInteger structs = new AtomicInteger();
    private final Runnable onFreed;

    /** @param onFreed run once, after the tree's memory was freed (e.g. drops a reference on exported data) */
    Tree(Runnable onFreed) {
        this.onFreed = onFreed;
        LIVE.put(id, this);
    }

    /** Trees with structs not yet released, for leak checks. */
    static int live() { return LIVE.size(); }

    static Tree of(long privateData) { return LIVE.get(privateData); }

    /** Zeroed C memory freed with the tree. */
    long alloc(long bytes) {
        long p = CData.calloc(bytes);
        if (n == allocations.length) allocations = java.util.Arrays.copyOf(allocations, n * 2);
        allocations[n++] = p;
        return p;
    }

    /** A C string freed with the tree (0 for null). */
    long string(String s) {
        if (s == null) return 0;
        long p = CData.cString(s);
        if (n == allocations.length) allocations = java.util.Arrays.copyOf(allocations, n * 2);
        allocations[n++] = p;
        return p;
    }

    /** Counts one more struct of this tree (its release will come once). */
    void addStruct() { structs.incrementAndGet(); }

    /** One struct was released; the last one frees the tree. */
    void structReleased() {
        if (structs.decrementAndGet() == 0) free();
    }

    /** Frees the tree's memory now (also when building it failed). Once. */
    void free() {
        if (LIVE.remove(id) == null) return;
        for (int i = 0; i < n; i++) CData.free(allocations[i]);
        n = 0;
        if (onFreed != null) onFreed.run();
    }
}
