package dev.panamapy;

import dev.panamapy.internal.GilWatchdog;
import dev.panamapy.internal.Interpreter;

/**
 * Holds the GIL on this thread across many calls: {@code try (var gil = py.gil()) { ... }}.
 * Calls made inside the scope take the GIL re-entrantly, which costs nearly nothing, and no
 * other thread runs Python meanwhile (Python itself may still switch threads inside long
 * Python code).
 *
 * <p><b>Rules.</b> These are checked where they can be:
 * <ul>
 * <li>Close a scope on the thread that opened it; another thread's {@code close()} throws
 *     {@link IllegalStateException} and changes nothing.</li>
 * <li>Close nested scopes in the reverse order of opening (try-with-resources does): closing an
 *     outer scope while an inner one is open throws {@link IllegalStateException} and releases
 *     nothing; both can then be closed in the right order.</li>
 * <li>A scope opened inside a Java function called from Python, or inside
 *     {@link CPython#withoutGil}, must be closed before the function or the block ends. One left
 *     open is closed when it ends, and the function (its Python caller sees a RuntimeError) or the
 *     block then throws {@link IllegalStateException}; a scope cannot be closed across a
 *     {@code withoutGil} block's edge.</li>
 * </ul>
 * These cannot be checked; break them and other threads wait forever:
 * <ul>
 * <li>Close the scope before the thread ends. A thread that ends with its scope open holds the
 *     GIL for good: every later call into Python, and {@link CPython#close()}, waits forever.
 *     The bridge logs it as an error (through slf4j) when it notices.</li>
 * <li>Never wait, inside a scope (or inside a Java function called from Python), for another
 *     thread that calls Python: that thread waits for the GIL this one holds, a deadlock. The
 *     bridge logs a warning with both stacks when a thread holding the GIL has been blocked in
 *     Java for long ({@code -Dpanamapy.gilWatchdogMillis}, default 10 s) while others wait for
 *     the GIL. Wait inside {@link CPython#withoutGil} (it lets the GIL go for the wait), or let
 *     the scope go first.</li>
 * </ul>
 */
public final class Gil implements AutoCloseable {
    private final Interpreter interp;
    private final Thread owner = Thread.currentThread();
    private final int state;
    /** How deep this thread was in calls once the scope was open: it closes at that depth only. */
    private final int depth;
    /** How many withoutGil blocks the thread was inside when the scope opened: it closes in the same. */
    private final int suspensions;
    private volatile boolean closed;

    Gil(Interpreter interp) {
        this.interp = interp;
        this.state = interp.enter();
        this.depth = Interpreter.callDepth();
        this.suspensions = Interpreter.suspensions();
        try {
            Interpreter.scopeOpened(this);
            GilWatchdog.opened(this);
        } catch (RuntimeException | Error e) {
            Interpreter.scopeClosed(this);
            interp.exit(state);                 // an untracked scope could not be closed for the user
            throw e;
        }
    }

    /**
     * Releases the GIL. Idempotent.
     *
     * @throws IllegalStateException on another thread than the one that opened the scope; while
     *                               a scope opened after this one is still open; after the Java
     *                               function the scope was opened in returned. Nothing is
     *                               released then, and the scope stays open.
     */
    @Override
    public void close() {
        if (closed) return;
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("a Gil scope must be closed by the thread that opened it (" + owner.getName() + ")");
        }
        if (Interpreter.suspensions() != suspensions) {
            throw new IllegalStateException("a py.gil() scope opened outside a py.withoutGil() block cannot be closed "
                    + "inside it, nor one opened inside after the block ended; nothing was released: close the scope "
                    + "where it was opened");
        }
        int now = Interpreter.callDepth();
        if (now > depth) {
            throw new IllegalStateException("py.gil() scopes must be closed in the reverse order of opening: a scope "
                    + "opened after this one (or a call made inside it) is still open on this thread; nothing was "
                    + "released: close the inner scope first (try-with-resources does)");
        }
        if (now < depth) {
            throw new IllegalStateException("this py.gil() scope was opened inside a Java function called from Python "
                    + "that has already returned; nothing was released: close a scope before the Java function that "
                    + "opened it returns");
        }
        closed = true;
        Interpreter.scopeClosed(this);
        GilWatchdog.closed(this);
        interp.exit(state);
    }
}
