package dev.panamapy.internal;

import static dev.panamapy.bindings.Python_h.Py_DecRef;
import static dev.panamapy.bindings.Python_h.Py_IncRef;

/**
 * Reference-count increments on the hot path. For objects the bridge made itself (a
 * {@code panamapy.JavaBuffer}: never immortal, never shared across interpreters) it does what
 * the limited API's inline {@code Py_INCREF} does on the default (GIL) builds of CPython 3.9 to
 * 3.13: add one to {@code ob_refcnt}, the first word of the object, under the GIL. That saves a
 * downcall per view. Anything else goes through {@code Py_IncRef}.
 */
final class Refcount {
    private Refcount() { }

    /** +1 on one of our own objects. Requires the GIL. */
    static void incref(long ownObject) {
        Mem.putLong(ownObject, Mem.getLong(ownObject) + 1);
    }

    /** +1 on any object. Requires the GIL. */
    static void increfAny(long object) {
        Py_IncRef(Mem.ptr(object));
    }

    /**
     * -1 on any object, as the inline {@code Py_DECREF} does: an immortal object (3.12+: the low
     * 32 bits of the count negative as an int) is left alone, a count above 1 is decremented in
     * place, and only the last reference goes through {@code Py_DecRef} (which deallocates).
     * Requires the GIL; default (GIL) builds only, like {@link #incref}.
     *
     * @param immortals whether the running CPython has immortal objects (3.12+)
     */
    static void decref(long object, boolean immortals) {
        long rc = Mem.getLong(object);
        if (immortals && (int) rc < 0) return;
        if (rc > 1) Mem.putLong(object, rc - 1);
        else Py_DecRef(Mem.ptr(object));
    }
}
