package dev.panamapy;

import dev.panamapy.internal.Interpreter;

/**
 * Holds the GIL on this thread across many calls: {@code try (var gil = py.gil()) { ... }}.
 * Calls made inside the scope take the GIL re-entrantly, which costs nearly nothing, and no
 * other thread runs Python meanwhile (Python itself may still switch threads inside long
 * Python code). Close it on the thread that opened it.
 */
public final class Gil implements AutoCloseable {
    private final Interpreter interp;
    private final Thread owner = Thread.currentThread();
    private int state;
    private boolean closed;

    Gil(Interpreter interp) {
        this.interp = interp;
        this.state = interp.enter();
    }

    /** Releases the GIL. Idempotent. */
    @Override
    public void close() {
        if (closed) return;
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("a Gil scope must be closed by the thread that opened it (" + owner.getName() + ")");
        }
        closed = true;
        interp.exit(state);
    }
}
