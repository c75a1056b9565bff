package dev.panamapy.internal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Nothing thrown in Java may cross back into C: an exception escaping an FFM upcall kills the
 * JVM. Every upcall entry point catches Throwable and hands it here, which turns it into a
 * Python exception and the C function's error return. If even that fails, the failure is
 * logged and the error return is still given.
 */
final class UpcallBarrier {
    private UpcallBarrier() { }

    private static final Logger LOG = LoggerFactory.getLogger(UpcallBarrier.class);

    /** For int-returning slots (getbuffer): BufferError with the Java class and message; -1. */
    static int bufferFailure(Constants c, Throwable t, long view) {
        try {
            if (view != 0) Mem.putLong(view + PyBufferLayout.OBJ, 0);
            Errors.raise(c.excBufferError, t);
        } catch (Throwable again) {
            lastResort(t, again);
        }
        return -1;
    }

    /** For object-returning slots: a Python exception of the given type; NULL. */
    static long objectFailure(Constants c, long excType, Throwable t) {
        try {
            Errors.raise(excType, t);
        } catch (Throwable again) {
            lastResort(t, again);
        }
        return 0;
    }

    /** For Java functions called from Python: panamapy.JavaException, cause kept; NULL. */
    static long functionFailure(Constants c, Throwable t) {
        try {
            Errors.raiseJava(c, t);
        } catch (Throwable again) {
            lastResort(t, again);
        }
        return 0;
    }

    /** For void slots (release, dealloc): nothing can be reported to Python; log it. */
    static void voidFailure(String where, Throwable t) {
        try {
            LOG.error("exception in {} upcall; ignored", where, t);
        } catch (Throwable ignored) {
            // nothing left to do: never let it escape
        }
    }

    private static void lastResort(Throwable original, Throwable again) {
        try {
            LOG.error("could not report a Java exception to Python ({}); original:", again, original);
        } catch (Throwable ignored) {
            // never let it escape
        }
    }
}
