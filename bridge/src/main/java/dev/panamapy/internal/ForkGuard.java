package dev.panamapy.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static dev.panamapy.bindings.Python_h.*;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Ends a process forked by Python code ({@code os.fork()}) as soon as it comes back into Java.
 * A forked child has only the thread that forked: the JVM's own threads (GC, JIT compilers, the
 * VM thread that runs safepoints) are gone, so Java code in the child hangs at its first
 * safepoint or collection, for ever. Python code in the child is fine (a multiprocessing
 * 'fork' worker runs Python only and ends with {@code os._exit}; {@code subprocess} execs).
 *
 * <p>At start, {@link #install()} registers {@code os.register_at_fork(after_in_child=...)} with
 * a Python function that sets one byte of native memory through a {@code memoryview} made with
 * {@code PyMemoryView_FromMemory}: no Java runs in the child for it. When the outermost call
 * returns into Java ({@link Interpreter#exit(int)}), {@link #check()} reads that byte (a plain
 * memory read: the same thread wrote it; no system call) and, in a forked child, writes
 * {@link #MESSAGE} to fd 2 and {@code _exit}s with {@link #EXIT_STATUS}, through critical
 * downcalls (no thread state transition, so no safepoint poll) and without allocating, logging
 * or locking: the locks may be held by threads that do not exist in the child. The parent's
 * byte is never set.
 */
final class ForkGuard {
    private ForkGuard() { }

    /** The status a forked child that came back into Java exits with (EX_SOFTWARE). */
    static final int EXIT_STATUS = 70;

    /** Set to 1 in a forked child by the after_in_child hook; never in the parent. */
    private static final MemorySegment FORKED = Arena.global().allocate(8, 8);

    private static final String TEXT = "panamapy: this process was forked (os.fork()) by Python code called from Java, "
            + "and the call returned into Java; Java cannot run in a forked child (the JVM's own threads do not exist "
            + "in it, so it would hang), so the child exits now with status " + EXIT_STATUS + ". In a forked child "
            + "call only os.exec*() or os._exit(); for multiprocessing use the 'spawn' or 'forkserver' context.\n";
    /** The message, made at start: the child must not allocate. */
    private static final MemorySegment MESSAGE = Arena.global().allocateFrom(TEXT);
    private static final long MESSAGE_LENGTH = MESSAGE.byteSize() - 1;     // without the NUL

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle WRITE = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("write"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG), Linker.Option.critical(false));
    /**
     * {@code _exit}, declared {@code int (int)} like {@link #ABS}: it never returns, and sharing
     * {@code abs}'s type lets {@link #install()} link the call site in the parent (see there).
     */
    private static final MethodHandle EXIT = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("_exit"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT), Linker.Option.critical(false));
    /** {@code int abs(int)}: a harmless function of {@link #EXIT}'s type. */
    private static final MethodHandle ABS = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("abs"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT), Linker.Option.critical(false));

    /**
     * Registers the after_in_child hook. On the main thread at start, under the GIL; a failure is
     * logged (by {@link Snippets}) and leaves forked children unguarded.
     */
    static void install() {
        // The child must not load or link anything: class loading and method handle linkage take
        // JVM locks that a vanished thread may hold (seen: the child hung in class definition).
        // So the path the child takes runs once here (writing nothing, not exiting), with the
        // GIL release of Interpreter.exit before it (its binding is loaded on first use).
        PyGILState_Release(PyGILState_Ensure());    // nested in the main thread's hold: a no-op
        check();
        end(ABS, 0, 0);
        MemorySegment flag = PyMemoryView_FromMemory(FORKED, 1, PyBUF_WRITE());
        if (flag.address() == 0) {
            Snippets.failed();
            return;
        }
        try {
            Snippets.run("""
                    import os
                    def _panamapy_forked(flag=flag):
                        flag[0] = 1      # read by Java when the call returns (ForkGuard)
                    os.register_at_fork(after_in_child=_panamapy_forked)
                    """, "flag", flag);
        } finally {
            Py_DecRef(flag);
        }
    }

    /** On the way back into Java from the outermost call: a forked child ends here. */
    static void check() {
        if (FORKED.get(JAVA_BYTE, 0) != 0) childReturned();
    }

    private static void childReturned() {
        end(EXIT, MESSAGE_LENGTH, EXIT_STATUS);
        throw new IllegalStateException(TEXT.strip());       // _exit does not return
    }

    /** Writes {@code length} bytes of the message to fd 2, then calls {@code exit(status)}. */
    private static void end(MethodHandle exit, long length, int status) {
        try {
            long ignored = (long) WRITE.invokeExact(2, MESSAGE.address(), length);
        } catch (Throwable t) {
            // nothing to report it with: exit all the same
        }
        try {
            int ignored = (int) exit.invokeExact(status);
        } catch (Throwable t) {
            // as above
        }
    }
}
