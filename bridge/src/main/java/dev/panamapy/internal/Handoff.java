package dev.panamapy.internal;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.FutureTask;

/**
 * Work a virtual thread cannot do itself but must not be refused: releasing what it holds
 * ({@code PyBufferView.close()}, {@code JavaBuffer.close()}), which needs the GIL, which a
 * virtual thread may not take (see {@link Interpreter#tryEnter()}). Closing in a
 * {@code finally} is common on virtual threads, so that work runs on one platform thread the
 * bridge keeps for it, and the virtual thread waits for it: when {@code close()} returns, the
 * work is done, exactly as on a platform thread.
 */
public final class Handoff {
    private Handoff() { }

    private static final class Holder {
        /** One daemon platform thread: it keeps one Python thread state, however many hand work to it. */
        static final ExecutorService EXECUTOR = Executors.newSingleThreadExecutor(
                Thread.ofPlatform().daemon(true).name("panamapy-handoff").factory());
    }

    /**
     * Runs the action on this thread if it is a platform thread; on a virtual thread, runs it on
     * the hand-off thread and waits until it is done. The wait is not interruptible (the work
     * must not be left half-done); an interrupt that arrives meanwhile stays set. What the action
     * throws is thrown here, unchanged.
     */
    public static void run(Runnable action) {
        if (!Thread.currentThread().isVirtual()) {
            action.run();
            return;
        }
        FutureTask<Void> task = new FutureTask<>(action, null);
        Holder.EXECUTOR.execute(task);
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    task.get();
                    return;
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (ExecutionException e) {
                    Throwable cause = e.getCause();
                    if (cause instanceof RuntimeException re) throw re;
                    if (cause instanceof Error er) throw er;
                    throw new IllegalStateException(cause);
                }
            }
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
    }
}
