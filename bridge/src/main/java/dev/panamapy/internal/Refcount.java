package dev.panamapy.internal;

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
}
