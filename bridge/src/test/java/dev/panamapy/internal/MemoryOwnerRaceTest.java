package dev.panamapy.internal;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Memory of {@code CPython.arena()} ({@link SharingArena}, through {@link MemoryOwner}) without a
 * Python: retained memory stays allocated whatever the order of retain, release and close, and
 * is freed exactly once, when the arena is closed and the last retainer let go, also when many
 * threads race.
 */
class MemoryOwnerRaceTest {

    private static SharingArena sharing() {
        return (SharingArena) MemoryOwner.newSharingArena();
    }

    @Test
    void memoryFromTheSharingArenaIsOwnedByTheBridge() {
        try (Arena mine = Arena.ofConfined()) {
            SharingArena arena = sharing();
            MemorySegment seg = arena.allocate(16);
            assertTrue(MemoryOwner.of(seg).bridgeFrees());
            assertTrue(MemoryOwner.of(seg.asSlice(8)).bridgeFrees(), "a slice has the same owner");
            assertFalse(MemoryOwner.of(mine.allocate(16)).bridgeFrees(), "any other arena is the caller's");
            arena.close();
            assertFalse(seg.scope().isAlive());
            assertFalse(MemoryOwner.of(seg).bridgeFrees(), "freed: its scope names no owner any more");
        }
    }

    @Test
    void closeThenLastReleaseFreesAtTheRelease() {
        SharingArena arena = sharing();
        MemorySegment seg = arena.allocate(16);
        MemoryOwner a = MemoryOwner.of(seg), b = MemoryOwner.of(seg);
        a.retain();
        b.retain();
        arena.close();
        assertFalse(arena.isFreed(), "two retainers left");
        seg.set(ValueLayout.JAVA_LONG, 0, 42);                  // still allocated
        a.release();
        assertFalse(arena.isFreed(), "one retainer left");
        assertEquals(42, seg.get(ValueLayout.JAVA_LONG, 0));
        b.release();
        assertTrue(arena.isFreed());
        assertFalse(seg.scope().isAlive());
        assertThrows(IllegalStateException.class, () -> MemoryOwner.of(seg).retain(), "freed memory cannot be retained");
    }

    @Test
    void releaseThenCloseFreesAtTheClose() {
        SharingArena arena = sharing();
        MemorySegment seg = arena.allocate(16);
        MemoryOwner o = MemoryOwner.of(seg);
        o.retain();
        o.release();
        assertFalse(arena.isFreed(), "not closed yet");
        assertTrue(seg.scope().isAlive());
        arena.close();
        assertTrue(arena.isFreed());
        assertThrows(IllegalStateException.class, arena::close, "closing twice is refused");
        assertThrows(IllegalStateException.class, () -> arena.allocate(8), "a closed arena allocates nothing");
    }

    @Test
    void releasingMoreOftenThanRetainedIsRefused() {
        SharingArena arena = sharing();
        MemoryOwner o = MemoryOwner.of(arena.allocate(8));
        o.retain();
        o.release();
        assertThrows(IllegalStateException.class, o::release);
        arena.close();
        assertTrue(arena.isFreed(), "the refused release changed nothing: close still frees");
    }

    @Test
    void manyThreadsRetainingAndReleasingWhileTheArenaClosesNeverSeeFreedMemory() throws Exception {
        SharingArena arena = sharing();
        MemorySegment seg = arena.allocate(64);
        int threads = 8, rounds = 5_000;
        AtomicInteger retained = new AtomicInteger(), refused = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch halfway = new CountDownLatch(threads), done = new CountDownLatch(threads);
        for (int t = 0; t < threads; t++) {
            int id = t;
            Thread.ofPlatform().start(() -> {
                try {
                    for (int r = 0; r < rounds; r++) {
                        if (r == rounds / 2) halfway.countDown();
                        MemoryOwner o = MemoryOwner.of(seg);
                        try {
                            o.retain();
                        } catch (IllegalStateException e) {
                            refused.incrementAndGet();          // only once the memory is freed
                            if (!arena.isFreed()) throw new AssertionError("retain refused before the memory was freed", e);
                            continue;
                        }
                        retained.incrementAndGet();
                        seg.set(ValueLayout.JAVA_BYTE, id, (byte) r);   // throws if the memory were freed
                        if (seg.get(ValueLayout.JAVA_BYTE, id) != (byte) r) throw new AssertionError("memory changed");
                        o.release();
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                    halfway.countDown();
                } finally {
                    done.countDown();
                }
            });
        }
        assertTrue(halfway.await(120, TimeUnit.SECONDS));
        arena.close();                                          // with retainers in flight
        assertTrue(done.await(120, TimeUnit.SECONDS), "threads finished");
        if (failure.get() != null) throw new AssertionError(failure.get());
        assertTrue(arena.isFreed(), "closed and every retainer gone: freed");
        assertFalse(seg.scope().isAlive());
        assertEquals(threads * rounds, retained.get() + refused.get());
        assertTrue(retained.get() >= threads * rounds / 2, retained + " retained before the close");
    }

    @Test
    void theLastReleaseRacingTheCloseFreesExactlyOnce() throws Exception {
        for (int round = 0; round < 500; round++) {
            SharingArena arena = sharing();
            MemorySegment seg = arena.allocate(8);
            MemoryOwner o = MemoryOwner.of(seg);
            o.retain();
            CyclicBarrier go = new CyclicBarrier(2);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            Thread releaser = Thread.ofPlatform().start(() -> {
                try {
                    go.await(60, TimeUnit.SECONDS);
                    o.release();
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            });
            go.await(60, TimeUnit.SECONDS);
            arena.close();                                      // a second free would throw in one of the two
            releaser.join(TimeUnit.SECONDS.toMillis(60));
            if (failure.get() != null) throw new AssertionError("round " + round, failure.get());
            assertTrue(arena.isFreed(), "round " + round);
            assertFalse(seg.scope().isAlive(), "round " + round);
        }
    }
}
