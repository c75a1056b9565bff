package dev.panamapy.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.panamapy.bindings.Python_h.*;

/**
 * {@code panamapy.newbuffer.Py_buffer}: a Python object over one C {@code Py_buffer} struct,
 * its fields as attributes (the 2013 {@code newbuffer} module's semantics). The object is a
 * {@code PyObject} header, the struct's address ({@link #VIEW}, 0 for "unallocated") and state
 * bits ({@link #STATE}); the struct itself is the consumer's (a wrapper handed to
 * {@code _get_buffer}/{@code _release_buffer}), the caller's (an address given to the
 * constructor) or the object's own (allocated by {@code get_buffer}, {@link #OWNS_STRUCT}).
 *
 * <p><b>States</b>, as in the original: attributes read the struct while there is one; they are
 * writable while the struct is not {@link #FILLED} by an exporter; a struct this object filled
 * itself and that is not {@link #PRESERVE}d is released when the object is released or
 * deallocated. Everything the object owns (the struct it allocated, the reference in a
 * not-yet-filled struct's {@code obj}, the export it filled) is given back exactly once: the
 * state bits change before anything that can run Python code.
 *
 * <p><b>Raw addresses are dangerous by design</b>, exactly like {@code ctypes}: an address
 * given to the constructor, or a {@code buf}/{@code shape}/{@code format} pointer set from
 * Python, is trusted. Keeping that memory valid is the Python program's job.
 *
 * <p>Everything here runs under the GIL, inside upcalls from {@link NewBuffer}.
 */
final class PyBufferObject {
    private PyBufferObject() { }

    /** Offset of the struct address in the object. */
    static final long VIEW = Upcalls.HANDLE_OFFSET;
    /** Offset of the state bits. */
    static final long STATE = VIEW + 8;
    /** The object's size (tp_basicsize). */
    static final long SIZE = STATE + 8;

    /** The struct is filled by an exporter: fields are read-only. */
    static final long FILLED = 1;
    /** The object allocated the struct (PyMem) and frees it. */
    static final long OWNS_STRUCT = 2;
    /** The struct is only lent (the original's "not mutable"): never released nor cleared by this object. */
    static final long PRESERVE = 4;

    /** Field names, indexed by the getset closure. */
    static final String[] FIELDS = {"obj", "buf", "len", "readonly", "format", "ndim", "shape", "strides",
        "suboffsets", "itemsize", "internal"};
    static final int OBJ = 0, BUF = 1, LEN = 2, READONLY = 3, FORMAT = 4, NDIM = 5, SHAPE = 6, STRIDES = 7,
            SUBOFFSETS = 8, ITEMSIZE = 9, INTERNAL = 10;
    private static final long[] OFFSETS = {PyBufferLayout.OBJ, PyBufferLayout.BUF, PyBufferLayout.LEN,
        PyBufferLayout.READONLY, PyBufferLayout.FORMAT, PyBufferLayout.NDIM, PyBufferLayout.SHAPE,
        PyBufferLayout.STRIDES, PyBufferLayout.SUBOFFSETS, PyBufferLayout.ITEMSIZE, PyBufferLayout.INTERNAL};

    static long view(long self) { return Mem.getLong(self + VIEW); }
    static long state(long self) { return Mem.getLong(self + STATE); }

    /** Points an object at a struct with the given state bits. */
    static void bind(long self, long view, long state) {
        Mem.putLong(self + VIEW, view);
        Mem.putLong(self + STATE, state);
    }

    /**
     * Ends a binding lent for one call ({@code view} with {@code state}): the object is left
     * unallocated. If Python code re-bound it meanwhile ({@code __init__}, {@code get_buffer}),
     * what it holds now is given back ({@link #reset}) rather than dropped, with a pending
     * exception set aside (giving back may run Python code).
     */
    static void unbind(long self, long view, long state) {
        if (view(self) == view && state(self) == state) {
            bind(self, 0, 0);
            return;
        }
        if (PyErr_Occurred().address() == 0) {
            reset(self);
            return;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment t = a.allocate(8), v = a.allocate(8), tb = a.allocate(8);
            PyErr_Fetch(t, v, tb);
            try {
                reset(self);
            } finally {
                PyErr_Restore(t.get(Mem.PTR, 0), v.get(Mem.PTR, 0), tb.get(Mem.PTR, 0));
            }
        }
    }

    /** The C defaults of an empty request: every field 0, readonly 1 (what {@code _get_buffer} starts from). */
    static void clear(long view) {
        for (long off = 0; off < PyBufferLayout.SIZE; off += 8) Mem.putLong(view + off, 0);
        Mem.putInt(view + PyBufferLayout.READONLY, 1);
    }

    // ---- attributes -------------------------------------------------------------------------

    /** The getter: a new reference, or 0 with AttributeError for an unallocated view. */
    static long get(Constants c, long self, int field) {
        long view = view(self);
        if (view == 0) return attributeError(field, "is undefined for an unallocated view");
        long at = view + OFFSETS[field];
        switch (field) {
            case OBJ -> {
                long o = Mem.getLong(at);
                return ObjectProtocol.newReference(o == 0 ? c.none : o);
            }
            case LEN, ITEMSIZE -> { return PyLong_FromSsize_t(Mem.getLong(at)).address(); }
            case READONLY -> { return PyBool_FromLong(Mem.getInt(at)).address(); }
            case NDIM -> { return PyLong_FromLong(Mem.getInt(at)).address(); }
            default -> {
                long p = Mem.getLong(at);
                return p == 0 ? ObjectProtocol.newReference(c.none) : PyLong_FromVoidPtr(Mem.ptr(p)).address();
            }
        }
    }

    /** The setter (value 0: delete): 0, or -1 with AttributeError/TypeError/OverflowError set. */
    static int set(Constants c, long self, long value, int field) {
        long view = view(self);
        if (view == 0) {
            attributeError(field, "is undefined for an unallocated view");
            return -1;
        }
        if ((state(self) & FILLED) != 0) {
            attributeError(field, "is read-only");
            return -1;
        }
        if (value == 0) {
            attributeError(field, "cannot be deleted");
            return -1;
        }
        long at = view + OFFSETS[field];
        switch (field) {
            case OBJ -> {
                long old = Mem.getLong(at);
                if (value != c.none) Refcount.increfAny(value);
                Mem.putLong(at, value == c.none ? 0 : value);
                if (old != 0) Py_DecRef(Mem.ptr(old));        // last: may run Python code
                return 0;
            }
            case READONLY -> {
                int truth = PyObject_IsTrue(Mem.ptr(value));
                if (truth < 0) return -1;
                Mem.putInt(at, truth);
                return 0;
            }
            case LEN, ITEMSIZE, NDIM -> {
                if (!isInt(c, value)) return typeError(field, value);
                long v = PyLong_AsSsize_t(Mem.ptr(value));
                if (v == -1 && PyErr_Occurred().address() != 0) return -1;
                if (field == NDIM) {
                    if (v != (int) v) {
                        NewBuffer.setError(NewBuffer.overflowError, "property ndim must fit a C int, not " + v);
                        return -1;
                    }
                    Mem.putInt(at, (int) v);
                } else {
                    Mem.putLong(at, v);
                }
                return 0;
            }
            default -> {
                long p;
                if (value == c.none) {
                    p = 0;
                } else if (isInt(c, value)) {
                    p = PyLong_AsVoidPtr(Mem.ptr(value)).address();
                    if (PyErr_Occurred().address() != 0) return -1;
                } else {
                    return typeError(field, value);
                }
                Mem.putLong(at, p);
                return 0;
            }
        }
    }

    /** Py_TPFLAGS_LONG_SUBCLASS: the type is int or a subclass of it. */
    private static final long TPFLAGS_LONG_SUBCLASS = 1L << 24;

    static boolean isInt(Constants c, long value) {
        return value == c.trueObj || value == c.falseObj || Convert.typeOf(value) == c.intType
                || (PyType_GetFlags(Mem.ptr(Convert.typeOf(value))) & TPFLAGS_LONG_SUBCLASS) != 0;
    }

    private static long attributeError(int field, String what) {
        NewBuffer.setError(NewBuffer.attributeError, "property " + FIELDS[field] + " " + what);
        return 0;
    }

    private static int typeError(int field, long value) {
        NewBuffer.setError(PyExc_TypeError().address(), "property " + FIELDS[field] + " must be a Python integer, not '"
                + ObjectProtocol.typeName(value) + "'");
        return -1;
    }

    // ---- methods ----------------------------------------------------------------------------

    /**
     * {@code Py_buffer.__init__(buffer_address=None, filled=False, preserve=False)}: gives back
     * what the object held, then binds it to the address. 0, or -1 with an error set.
     */
    static int init(Constants c, long self, long args, long kwds) {
        long[] a = Arguments.parse(c, "Py_buffer", args, kwds, "buffer_address", "filled", "preserve");
        if (a == null) return -1;
        long address = 0;
        if (a[0] != 0 && a[0] != c.none) {
            if (!isInt(c, a[0])) {
                NewBuffer.setError(c.excTypeError, "argument buffer_address must be an integer, not '"
                        + ObjectProtocol.typeName(a[0]) + "'");
                return -1;
            }
            address = PyLong_AsVoidPtr(Mem.ptr(a[0])).address();
            if (PyErr_Occurred().address() != 0) return -1;
        }
        int filled = a[1] == 0 ? 0 : PyObject_IsTrue(Mem.ptr(a[1]));
        int preserve = a[2] == 0 ? 0 : PyObject_IsTrue(Mem.ptr(a[2]));
        if (filled < 0 || preserve < 0) return -1;
        if (address == 0 && (filled | preserve) != 0) {
            NewBuffer.setError(c.excValueError, "argument " + (filled != 0 ? "filled" : "preserve")
                    + " cannot be True for a NULL buffer_address");
            return -1;
        }
        reset(self);
        if (address != 0 && filled == 0) clear(address);
        bind(self, address, (filled != 0 ? FILLED : 0) | (preserve != 0 ? PRESERVE : 0));
        return 0;
    }

    /**
     * Gives back what the object holds and leaves it unallocated (mutable, no struct): a filled
     * struct it may release is released, a reference in an unfilled one dropped, its own struct
     * freed. The object is detached first, so Python code run by the release sees it empty.
     */
    static void reset(long self) {
        long view = view(self), st = state(self);
        bind(self, 0, 0);
        if (view == 0 || (st & PRESERVE) != 0) return;
        if ((st & FILLED) != 0) {
            PyBuffer_Release(Mem.ptr(view));
        } else {
            long o = Mem.getLong(view + PyBufferLayout.OBJ);
            Mem.putLong(view + PyBufferLayout.OBJ, 0);
            if (o != 0) Py_DecRef(Mem.ptr(o));
        }
        if ((st & OWNS_STRUCT) != 0) PyMem_Free(Mem.ptr(view));
    }

    /** {@code get_buffer(obj, flags=PyBUF_SIMPLE)}: a new reference to None, or 0 with an error set. */
    static long getBuffer(Constants c, long self, long args, long kwds) {
        long[] a = Arguments.parse(c, "get_buffer", args, kwds, "obj", "flags");
        if (a == null) return 0;
        if (a[0] == 0) {
            NewBuffer.setError(c.excTypeError, "get_buffer() missing required argument 'obj' (pos 1)");
            return 0;
        }
        int flags = 0;
        if (a[1] != 0) {
            if (!isInt(c, a[1])) {
                NewBuffer.setError(c.excTypeError, "get_buffer() argument 'flags' must be int, not '"
                        + ObjectProtocol.typeName(a[1]) + "'");
                return 0;
            }
            long f = PyLong_AsLongLong(Mem.ptr(a[1]));
            if (f == -1 && PyErr_Occurred().address() != 0) return 0;
            if (f != (int) f) {
                NewBuffer.setError(NewBuffer.overflowError, "get_buffer() flags must fit a C int, not " + f);
                return 0;
            }
            flags = (int) f;
        }
        long st = state(self);
        if ((st & FILLED) != 0) {
            NewBuffer.setError(c.excValueError, "The Py_buffer struct is already filled in");
            return 0;
        }
        long view = view(self);
        boolean own = view == 0;
        if (own) {
            view = PyMem_Malloc(PyBufferLayout.SIZE).address();
            if (view == 0) {
                NewBuffer.setError(c.excMemoryError, "cannot allocate a Py_buffer struct");
                return 0;
            }
        }
        // an unfilled struct of ours may hold a reference in obj: the fill overwrites it
        long old = own || (st & PRESERVE) != 0 ? 0 : Mem.getLong(view + PyBufferLayout.OBJ);
        bind(self, view, FILLED | PRESERVE);        // busy: no writes, and a reset meanwhile gives nothing back
        int rc = PyObject_GetBuffer(Mem.ptr(a[0]), Mem.ptr(view), flags);
        unbind(self, view, FILLED | PRESERVE);      // the exporter's Python code may have re-bound it
        if (rc != 0) {
            if (own) {
                PyMem_Free(Mem.ptr(view));
                bind(self, 0, st);
            } else {
                Mem.putLong(view + PyBufferLayout.OBJ, 0);
                bind(self, view, st);
            }
        } else {
            bind(self, view, (st & PRESERVE) | FILLED | (own ? OWNS_STRUCT : st & OWNS_STRUCT));
        }
        if (old != 0) Py_DecRef(Mem.ptr(old));
        return rc != 0 ? 0 : ObjectProtocol.newReference(c.none);
    }

    /** {@code release_buffer()}: releases a struct this object filled and may release; None. */
    static long releaseBuffer(Constants c, long self) {
        long view = view(self), st = state(self);
        if (view != 0 && (st & FILLED) != 0 && (st & PRESERVE) == 0) {
            bind(self, view, FILLED | PRESERVE);    // reentrant calls see nothing to release
            PyBuffer_Release(Mem.ptr(view));
            unbind(self, view, FILLED | PRESERVE);  // the exporter's Python code may have re-bound it
            if ((st & OWNS_STRUCT) != 0) {
                PyMem_Free(Mem.ptr(view));
                bind(self, 0, 0);
            } else {
                clear(view);
                bind(self, view, 0);
            }
        }
        return ObjectProtocol.newReference(c.none);
    }

    /** Truth: whether the object has a struct. */
    static int bool(long self) { return view(self) != 0 ? 1 : 0; }

    /** Minimal keyword/positional argument parsing for the few methods here. */
    static final class Arguments {
        private Arguments() { }

        /**
         * The arguments by position (borrowed; 0 when not given), or null with TypeError set for
         * too many, an unknown keyword or one given twice.
         */
        static long[] parse(Constants c, String fn, long args, long kwds, String... names) {
            long[] out = new long[names.length];
            int n = args == 0 ? 0 : (int) PyTuple_Size(Mem.ptr(args));
            if (n > names.length) {
                NewBuffer.setError(c.excTypeError, fn + "() takes at most " + names.length + " arguments (" + n + " given)");
                return null;
            }
            for (int i = 0; i < n; i++) out[i] = PyTuple_GetItem(Mem.ptr(args), i).address();
            if (kwds == 0 || PyObject_Size(Mem.ptr(kwds)) == 0) return out;
            int used = 0;
            try (Arena a = Arena.ofConfined()) {
                for (int i = 0; i < names.length; i++) {
                    long v = PyDict_GetItemString(Mem.ptr(kwds), a.allocateFrom(names[i])).address();
                    if (v == 0) continue;
                    if (out[i] != 0) {
                        NewBuffer.setError(c.excTypeError, "argument for " + fn + "() given by name ('" + names[i]
                                + "') and position (" + (i + 1) + ")");
                        return null;
                    }
                    out[i] = v;
                    used++;
                }
            }
            if (used != PyObject_Size(Mem.ptr(kwds))) {
                NewBuffer.setError(c.excTypeError, fn + "() got an unexpected keyword argument (it takes "
                        + String.join(", ", names) + ")");
                return null;
            }
            return out;
        }
    }
}
