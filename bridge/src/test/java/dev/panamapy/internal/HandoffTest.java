package dev.panamapy.internal;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Work handed off by virtual threads runs on a platform thread, is waited for, and keeps interrupts. */
class HandoffTest {

    @Test
    void platformThreadRunsTheActionItself() {
        AtomicReference<Thread> ran = new AtomicReference<>();
        Handoff.run(() -> ran.set(Thread.currentThread()));
        assertSame(Thread.currentThread(), ran.get());
    }

    @Test
    void virtualThreadWaitsForThePlatformThreadToFinish() throws Exception {
        AtomicReference<Thread> ran = new AtomicReference<>();
        AtomicBoolean doneBeforeReturn = new AtomicBoolean();
        Thread v = Thread.ofVirtual().start(() -> {
            Handoff.run(() -> {
                try { Thread.sleep(50); } catch (InterruptedException e) { throw new AssertionError(e); }
                ran.set(Thread.currentThread());
            });
            doneBeforeReturn.set(ran.get() != null);
        });
        v.join(TimeUnit.SECONDS.toMillis(30));
        assertFalse(ran.get().isVirtual());
        assertEquals("panamapy-handoff", ran.get().getName());
        assertTrue(doneBeforeReturn.get());
    }

    @Test
    void exceptionOfTheActionReachesTheVirtualThreadUnchanged() throws Exception {
        IllegalStateException thrown = new IllegalStateException("refused");
        AtomicReference<Throwable> seen = new AtomicReference<>();
        Thread v = Thread.ofVirtual().start(() -> {
            try {
                Handoff.run(() -> { throw thrown; });
            } catch (Throwable t) {
                seen.set(t);
            }
        });
        v.join(TimeUnit.SECONDS.toMillis(30));
        assertSame(thrown, seen.get());
    }

    @Test
    void interruptWhileWaitingKeepsTheStatusAndTheWorkIsDone() throws Exception {
        CountDownLatch started = new CountDownLatch(1), release = new CountDownLatch(1);
        AtomicBoolean done = new AtomicBoolean(), interruptedAfter = new AtomicBoolean(), doneAtReturn = new AtomicBoolean();
        Thread v = Thread.ofVirtual().start(() -> {
            Handoff.run(() -> {
                started.countDown();
                try { release.await(); } catch (InterruptedException e) { throw new AssertionError(e); }
                done.set(true);
            });
            doneAtReturn.set(done.get());
            interruptedAfter.set(Thread.currentThread().isInterrupted());
        });
        assertTrue(started.await(30, TimeUnit.SECONDS));
        v.interrupt();
        release.countDown();
        v.join(TimeUnit.SECONDS.toMillis(30));
        assertTrue(doneAtReturn.get(), "run() returned only after the work was done");
        assertTrue(interruptedAfter.get(), "the interrupt status survives the wait");
    }
}
