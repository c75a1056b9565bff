package dev.panamapy.internal;

import dev.panamapy.PythonException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;

import static dev.panamapy.bindings.Python_h.PyErr_SetString;

/**
 * Nothing thrown in Java may cross back into C: an exception escaping an FFM upcall kills the
 * JVM. Every upcall entry point catches Throwable and hands it here, which turns it into a
 * Python exception and the C function's error return. If even that fails, the failure is
 * logged and the error return is still given.
 *
 * <p>A StackOverflowError is the hard case: it leaves little stack, and the handler needs some
 * (raising a Python exception is Java and C calls). So it becomes Python's RecursionError through
 * one downcall with a message made at start ({@link StackGuard#raiseJavaOverflow()}), the entry
 * points call this class from a try of their own, and {@link StackGuard} sees to it that an
 * upcall never starts with less stack than its error path needs.
 */
final class UpcallBarrier {
    private UpcallBarrier() { }

    private static final Logger LOG = LoggerFactory.getLogger(UpcallBarrier.class);

    /**
     * For int-returning slots (getbuffer): BufferError with the Java class and message; -1. A
     * stack overflow, or a call refused for lack of stack, is Python's RecursionError instead.
     */
    static int bufferFailure(Constants c, Throwable t, long view) {
        try {
            if (view != 0) Mem.putLong(view + PyBufferLayout.OBJ, 0);
            if (t instanceof StackOverflowError) {
                StackGuard.raiseJavaOverflow();
            } else if (recursion(t)) {
                raiseRecursion((PythonException) t);
            } else {
                Errors.raise(c.excBufferError, t);
            }
        } catch (Throwable again) {
            lastResort(t, again);
        }
        return -1;
    }

    /** For object-returning slots: a Python exception of the given type (RecursionError for an overflow); NULL. */
    static long objectFailure(Constants c, long excType, Throwable t) {
        try {
            if (t instanceof StackOverflowError) {
                StackGuard.raiseJavaOverflow();
            } else if (recursion(t)) {
                raiseRecursion((PythonException) t);
            } else {
                Errors.raise(excType, t);
            }
        } catch (Throwable again) {
            lastResort(t, again);
        }
        return 0;
    }

    /**
     * For Java functions called from Python: panamapy.JavaException, cause kept; NULL. A
     * StackOverflowError becomes RecursionError through a path that needs almost no stack.
     */
    static long functionFailure(Constants c, Throwable t) {
        try {
            if (t instanceof StackOverflowError) {
                StackGuard.raiseJavaOverflow();
            } else {
                Errors.raiseJava(c, t);
            }
        } catch (Throwable again) {
            lastResort(t, again);
        }
        return 0;
    }

    /** For void slots (release, dealloc): nothing can be reported to Python; log it. */
    static void voidFailure(String where, Throwable t) {
        try {
            if (t instanceof StackOverflowError) {
                LOG.error("StackOverflowError in {} upcall; ignored", where);     // its trace would need more stack
            } else {
                LOG.error("exception in {} upcall; ignored", where, t);
            }
        } catch (Throwable ignored) {
            // nothing left to do: never let it escape
        }
    }

    /** RecursionError again, with the message it had. */
    private static void raiseRecursion(PythonException pe) {
        try (Arena a = Arena.ofConfined()) {
            PyErr_SetString(Mem.ptr(StackGuard.recursionErrorType()), a.allocateFrom(pe.pythonMessage()));
        }
    }

    /** A refusal for lack of stack, or Python's RecursionError coming back through Java. */
    private static boolean recursion(Throwable t) {
        return t instanceof PythonException pe && pe.is("RecursionError") && StackGuard.recursionErrorType() != 0;
    }

    private static void lastResort(Throwable original, Throwable again) {
        try {
            LOG.error("could not report a Java exception to Python ({}); original:", again, original);
        } catch (Throwable ignored) {
            // never let it escape
        }
    }
}
