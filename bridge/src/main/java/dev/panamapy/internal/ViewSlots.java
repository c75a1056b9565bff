package dev.panamapy.internal;

import dev.panamapy.BufferRequest;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The live views of one tracked export ({@link ExportState}), for counting them and for naming
 * them when close() must refuse: parallel arrays indexed by slot, slots reused, so taking a view
 * allocates nothing. {@code Py_buffer.internal} holds slot + 1 (0: untracked). A dynamic export
 * also keeps each view's own object ({@code T}) in its slot until the release.
 *
 * <p>Not thread-safe: its export changes it only under the GIL.
 *
 * @param <T> what a dynamic view keeps until its release
 */
final class ViewSlots<T> {
    private int[] flags = new int[4];
    private long[] threadIds = new long[4];             // 0: free slot (thread ids start at 1)
    private Object[] dynamic;                           // dynamic exports only: the T of each slot
    private int[] free = {3, 2, 1, 0};
    private int freeTop = 4;
    private int live;

    /**
     * Takes a free slot for a view requested with these flags on the current thread.
     *
     * @param view what the slot keeps until {@link #remove} (dynamic exports), or null
     * @return the slot, {@code >= 0}
     */
    int add(int f, T view) {
        if (freeTop == 0) grow();
        int slot = free[--freeTop];
        flags[slot] = f;
        threadIds[slot] = Thread.currentThread().threadId();
        if (view != null) {                             // primitives only on the static path: no GC barriers
            if (dynamic == null) dynamic = new Object[flags.length];
            dynamic[slot] = view;
        }
        live++;
        return slot;
    }

    /**
     * Frees a slot; returns what it kept (dynamic exports), or null.
     *
     * @throws IllegalStateException for a slot that is not live (a view released twice, or a
     *         {@code Py_buffer.internal} that is not ours)
     */
    @SuppressWarnings("unchecked")
    T remove(int slot) {
        if (slot < 0 || slot >= flags.length || threadIds[slot] == 0) {
            throw new IllegalStateException("release of an unknown view (slot " + slot + "): released twice?");
        }
        T view = null;
        if (dynamic != null && dynamic[slot] != null) {
            view = (T) dynamic[slot];
            dynamic[slot] = null;
        }
        threadIds[slot] = 0;
        free[freeTop++] = slot;
        live--;
        return view;
    }

    /** Views added and not removed. */
    int live() { return live; }

    /** The live views (of a dynamic export: those whose kept object matches), for messages. */
    @SuppressWarnings("unchecked")
    List<String> describe(Predicate<T> which) {
        Map<Long, String> names = new HashMap<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) names.put(t.threadId(), t.getName());
        List<String> out = new ArrayList<>();
        for (int i = 0; i < threadIds.length; i++) {
            if (threadIds[i] != 0 && (dynamic == null || dynamic[i] == null || which.test((T) dynamic[i]))) {
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
        if (dynamic != null) dynamic = Arrays.copyOf(dynamic, 2 * n);
        free = Arrays.copyOf(free, 2 * n);
        for (int i = 2 * n - 1; i >= n; i--) free[freeTop++] = i;
    }
}
