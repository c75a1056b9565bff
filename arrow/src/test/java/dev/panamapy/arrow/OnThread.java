package dev.panamapy.arrow;

import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertNull;

/** Runs test code on another thread (platform or virtual) and waits; what it throws fails the test. */
final class OnThread {
    private OnThread() { }

    interface Action { void run() throws Exception; }

    static void run(Thread.Builder builder, Action action) throws InterruptedException {
        AtomicReference<Throwable> failed = new AtomicReference<>();
        Thread t = builder.start(() -> {
            try {
                action.run();
            } catch (Throwable e) {
                failed.set(e);
            }
        });
        t.join();
        assertNull(failed.get(), "the action on " + t + " threw");
    }
}
