package dev.panamapy.internal;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static dev.panamapy.BufferRequest.PyBUF_FORMAT;
import static dev.panamapy.BufferRequest.PyBUF_STRIDES;
import static dev.panamapy.BufferRequest.PyBUF_WRITABLE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The slot allocator of tracked views, without a Python: a slot is handed out to one view at a
 * time, freed slots are reused, what a dynamic view keeps comes back at its release, and a slot
 * released twice is refused. Its export changes it only under the GIL; the threads here take a
 * lock that stands in for it.
 */
class ViewSlotsTest {

    @Test
    void everySlotIsHandedOutToOneViewAtATimeAcrossManyThreads() throws Exception {
        ViewSlots<Integer> slots = new ViewSlots<>();
        Object gil = new Object();
        int threads = 8, rounds = 20_000;
        ConcurrentHashMap<Integer, Integer> owner = new ConcurrentHashMap<>();  // live slot -> view id
        AtomicInteger handedOut = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch start = new CountDownLatch(1), done = new CountDownLatch(threads);
        for (int t = 0; t < threads; t++) {
            int id = t;
            Thread.ofPlatform().start(() -> {
                try {
                    start.await();
                    List<int[]> mine = new ArrayList<>();      // {slot, view id}
                    for (int r = 0; r < rounds; r++) {
                        int view = id * rounds + r;
                        boolean add = mine.isEmpty() || (r % 3 != 0 && mine.size() < 40);
                        synchronized (gil) {
                            if (add) {
                                int slot = slots.add(PyBUF_STRIDES, (r & 1) == 0 ? view : null);
                                Integer before = owner.putIfAbsent(slot, view);
                                if (before != null) throw new AssertionError("slot " + slot + " handed out twice");
                                mine.add(new int[]{slot, view});
                                handedOut.incrementAndGet();
                            } else {
                                int[] v = mine.remove(mine.size() - 1 - (r % mine.size()));
                                Integer kept = slots.remove(v[0]);
                                if (!owner.remove(v[0], v[1])) throw new AssertionError("slot " + v[0] + " lost");
                                Integer expected = (v[1] % rounds & 1) == 0 ? v[1] : null;
                                if (!java.util.Objects.equals(expected, kept)) {
                                    throw new AssertionError("slot " + v[0] + " gave back " + kept + ", not " + expected);
                                }
                            }
                        }
                    }
                    synchronized (gil) {
                        for (int[] v : mine) {
                            slots.remove(v[0]);
                            owner.remove(v[0], v[1]);
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                } finally {
                    done.countDown();
                }
            });
        }
        start.countDown();
        assertTrue(done.await(120, TimeUnit.SECONDS), "threads finished");
        if (failure.get() != null) throw new AssertionError(failure.get());
        synchronized (gil) {
            assertEquals(0, slots.live());
            assertTrue(owner.isEmpty(), owner.toString());
            assertTrue(handedOut.get() > threads * rounds / 2, handedOut + " views");
            assertEquals(List.of(), slots.describe(v -> true));
        }
    }

    @Test
    void freedSlotsAreReusedAndTheTableGrowsOnlyWhenFull() {
        ViewSlots<String> slots = new ViewSlots<>();
        List<Integer> first = new ArrayList<>();
        for (int i = 0; i < 4; i++) first.add(slots.add(0, null));
        assertEquals(List.of(0, 1, 2, 3), first);
        assertEquals(4, slots.add(0, null), "a fifth view grows the table");
        assertNull(slots.remove(2));
        assertEquals(2, slots.add(0, null), "the freed slot is taken before any new one");
        assertEquals(5, slots.live());
    }

    @Test
    void aDynamicViewGetsBackWhatItsSlotKept() {
        ViewSlots<String> slots = new ViewSlots<>();
        int a = slots.add(0, "a");
        int plain = slots.add(0, null);
        int b = slots.add(0, "b");
        assertSame("b", slots.remove(b));
        assertNull(slots.remove(plain));
        assertSame("a", slots.remove(a));
        assertEquals(0, slots.live());
    }

    @Test
    void aSlotReleasedTwiceOrNeverTakenIsRefused() {
        ViewSlots<String> slots = new ViewSlots<>();
        int s = slots.add(0, null);
        slots.remove(s);
        IllegalStateException twice = assertThrows(IllegalStateException.class, () -> slots.remove(s));
        assertTrue(twice.getMessage().contains("released twice"), twice.getMessage());
        assertThrows(IllegalStateException.class, () -> slots.remove(-1));     // Py_buffer.internal was 0
        assertThrows(IllegalStateException.class, () -> slots.remove(1000));
        assertEquals(0, slots.live(), "refusals change nothing");
    }

    @Test
    void describeNamesTheRequestAndTheThreadOfEachLiveViewThatMatches() {
        ViewSlots<String> slots = new ViewSlots<>();
        slots.add(PyBUF_STRIDES | PyBUF_WRITABLE | PyBUF_FORMAT, "caller's");
        slots.add(PyBUF_STRIDES, "bridge's");
        List<String> d = slots.describe(v -> v.equals("caller's"));
        assertEquals(1, d.size(), d.toString());
        assertEquals("view #1 (STRIDES|WRITABLE|FORMAT, taken on thread '" + Thread.currentThread().getName() + "')",
                d.get(0));
    }
}
