package dev.panamapy.internal;

import dev.panamapy.bindings.PyMethodDef;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;

import static dev.panamapy.bindings.Python_h.*;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * {@code panamapy.newbuffer}: a drop-in for the 2013 {@code newbuffer} module, made at start.
 * {@code BufferMixin} is a heap type whose {@code bf_getbuffer}/{@code bf_releasebuffer} are
 * upcalls that call the instance's {@code _get_buffer(view, flags)} and
 * {@code _release_buffer(view)}; {@code Py_buffer} ({@link PyBufferObject}) is the struct
 * wrapper, its attributes getset upcalls over the struct.
 *
 * <p><b>The getbuffer path</b> ({@link #mixinGetbuffer}), the hot one: {@code _get_buffer} gets a
 * {@link GetBufferView} (a {@code Py_buffer} subclass whose fields are C member slots, so setting
 * one is no upcall), pre-set to the zeroed struct with readonly 1. After the call the bridge
 * converts the slots into the consumer's struct, once; a result other than None, an exception,
 * a field of the wrong type or deleted, or a view no consumer could read without crashing
 * ({@link #refusal}) fails the request, and the reference {@code obj} held is dropped. The one
 * wrapper is kept for the next request unless Python kept it, which then sees an unallocated
 * {@code Py_buffer}. <b>The release path</b> calls {@code _release_buffer} with a filled,
 * read-only {@code Py_buffer} only when the class replaces {@code BufferMixin}'s own (which does
 * nothing), with a pending exception set aside, and hands its errors to
 * {@code sys.unraisablehook}.
 *
 * <p><b>Differences from the 2013 module</b>, all from the member slots: in {@code _get_buffer} a
 * pointer field of the wrong type or a deleted field is reported when the method returns (the
 * request fails with the original's message) rather than at the assignment; {@code len},
 * {@code ndim} and {@code itemsize} take CPython's own TypeError wording; and the bridge refuses
 * views that would crash consumers (ndim outside 0-64, negative len or extent, itemsize below 1,
 * no shape for ndim > 1, len != itemsize * product(shape), format NULL with PyBUF_FORMAT).
 *
 * <p>Every entry point catches Throwable (nothing may cross an upcall) and runs under the GIL.
 * Python code entered from here is fitted to the thread's stack ({@link StackGuard}). Entries
 * that can run Python code are counted like Java functions ({@link Interpreter#upcallEnter()}),
 * so that CPython's finalization waits for those in flight on threads Python made; once it
 * tears down they run no Python code ({@link #refused}): a request is a BufferError, a release
 * only gives back what it holds.
 */
public final class NewBuffer {
    private NewBuffer() { }

    static long attributeError, overflowError, notImplementedError, recursionError;
    private static long wrapperType, mixinType;
    private static long getName, releaseName;      // interned "_get_buffer", "_release_buffer" (owned)
    private static long releaseDefault;            // BufferMixin.__dict__['_release_buffer'] (the type owns it)
    /** PyLong objects for request flags 0..1023 (owned), made on first use. */
    private static final long[] FLAG_INTS = new long[1024];
    /** One wrapper kept between requests (owned; 0 while in use). Guarded by the GIL. */
    private static long spareWrapper;
    /** One GetBufferView wrapper kept between requests (owned; 0 while in use). Guarded by the GIL. */
    private static long spareGetView;

    private static final Linker LINKER = Linker.nativeLinker();
    /** PyObject_CallMethodObjArgs(obj, name, a, b, NULL). */
    private static final MethodHandle CALL_METHOD_2 = LINKER.downcallHandle(
            SymbolLookup.loaderLookup().findOrThrow("PyObject_CallMethodObjArgs"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
            Linker.Option.firstVariadicArg(2));
    /** PyObject_CallMethodObjArgs(obj, name, a, NULL). */
    private static final MethodHandle CALL_METHOD_1 = LINKER.downcallHandle(
            SymbolLookup.loaderLookup().findOrThrow("PyObject_CallMethodObjArgs"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG), Linker.Option.firstVariadicArg(2));
    private static final MemorySegment GENERIC_NEW = SymbolLookup.loaderLookup().findOrThrow("PyType_GenericNew");

    /** The request constants, as in CPython's pybuffer.h. */
    private static final Object[][] CONSTANTS = {
        {"PyBUF_SIMPLE", 0}, {"PyBUF_WRITABLE", 0x1}, {"PyBUF_WRITEABLE", 0x1}, {"PyBUF_FORMAT", 0x4},
        {"PyBUF_ND", 0x8}, {"PyBUF_STRIDES", 0x18}, {"PyBUF_C_CONTIGUOUS", 0x38}, {"PyBUF_F_CONTIGUOUS", 0x58},
        {"PyBUF_ANY_CONTIGUOUS", 0x98}, {"PyBUF_INDIRECT", 0x118}, {"PyBUF_CONTIG", 0x9}, {"PyBUF_CONTIG_RO", 0x8},
        {"PyBUF_STRIDED", 0x19}, {"PyBUF_STRIDED_RO", 0x18}, {"PyBUF_RECORDS", 0x1d}, {"PyBUF_RECORDS_RO", 0x1c},
        {"PyBUF_FULL", 0x11d}, {"PyBUF_FULL_RO", 0x11c}, {"PyBUF_READ", 0x100}, {"PyBUF_WRITE", 0x200},
        {"PyBUF_MAX_NDIM", 64},
    };
    private static final int FORMAT_FLAG = 0x4;
    static final int MAX_NDIM = 64;

    /**
     * Makes {@code panamapy.newbuffer}, binds it as the {@code newbuffer} attribute of the
     * {@code panamapy} module and registers it in {@code sys.modules}. Requires the GIL, at start.
     *
     * @param panamapy the {@code panamapy} module (borrowed)
     * @param minor    the running CPython's minor version (3.minor)
     */
    static void install(long panamapy, int minor) {
        try (Arena a = Arena.ofConfined()) {
            attributeError = global("PyExc_AttributeError");
            overflowError = global("PyExc_OverflowError");
            notImplementedError = global("PyExc_NotImplementedError");
            recursionError = global("PyExc_RecursionError");
            getName = Errors.check(null, PyUnicode_FromString(a.allocateFrom("_get_buffer")));
            releaseName = Errors.check(null, PyUnicode_FromString(a.allocateFrom("_release_buffer")));
            Arena forever = Arena.global();
            wrapperType = Types.makeType(forever, "panamapy.newbuffer.Py_buffer", PyBufferObject.SIZE,
                    "Py_buffer(buffer_address=None, filled=False, preserve=False)\n--\n\n"
                            + "A C Py_buffer struct's fields as attributes (pointers as int addresses, None for NULL). "
                            + "Raw addresses are trusted, exactly like ctypes: keeping that memory valid is the "
                            + "program's job.",
                    new int[]{Py_tp_new(), SLOT_TP_INIT, Py_tp_dealloc(), SLOT_NB_BOOL, SLOT_TP_GETSET, Py_tp_methods()},
                    new MemorySegment[]{GENERIC_NEW, WRAPPER_INIT, WRAPPER_DEALLOC, WRAPPER_BOOL, getsets(forever),
                        methods(forever, new String[]{"get_buffer", "release_buffer"},
                                new MemorySegment[]{WRAPPER_GET_BUFFER, WRAPPER_RELEASE_BUFFER},
                                new int[]{METH_VARARGS() | METH_KEYWORDS(), METH_NOARGS()},
                                new String[]{"get_buffer(obj, flags=PyBUF_SIMPLE): fill the struct with "
                                        + "PyObject_GetBuffer (allocating one if there is none)",
                                    "release_buffer(): release a struct this wrapper filled (PyBuffer_Release)"})},
                    0, Py_TPFLAGS_BASETYPE());
            MemorySegment mixinMethods = methods(forever, new String[]{"_get_buffer", "_release_buffer"},
                    new MemorySegment[]{MIXIN_GET_DEFAULT, MIXIN_RELEASE_DEFAULT},
                    new int[]{METH_VARARGS(), METH_O()},
                    new String[]{"_get_buffer(view, flags): fill the Py_buffer wrapper view; must return None. "
                            + "Abstract: raises NotImplementedError",
                        "_release_buffer(view): told of each release of a view whose obj is this object; does nothing"});
            GetBufferView.create(wrapperType, minor);
            mixinType = Types.makeType(forever, "panamapy.newbuffer.BufferMixin", Upcalls.HANDLE_OFFSET,
                    "A base class whose instances export buffers (PEP 3118) through their _get_buffer(view, flags) and "
                            + "_release_buffer(view) methods (newbuffer's BufferMixin). _get_buffer fills the Py_buffer "
                            + "view (fields zeroed, readonly 1) and returns None; set view.obj = self so that the view "
                            + "keeps this object, and the memory it owns, alive. Addresses are trusted like ctypes: "
                            + "a wrong one crashes the process.",
                    new int[]{Py_bf_getbuffer(), Py_bf_releasebuffer(), Py_tp_methods()},
                    new MemorySegment[]{MIXIN_GETBUFFER, MIXIN_RELEASEBUFFER, mixinMethods}, 0, Py_TPFLAGS_BASETYPE());
            releaseDefault = Errors.check(null, PyObject_GetAttr(Mem.ptr(mixinType), Mem.ptr(releaseName)));
            Py_DecRef(Mem.ptr(releaseDefault));
            long m = Errors.check(null, PyModule_New(a.allocateFrom("panamapy.newbuffer")));
            try {
                put(a, m, "BufferMixin", mixinType);
                put(a, m, "Py_buffer", wrapperType);
                put(a, m, "PyBUFFER_SIZEOF", PyLong_FromSsize_t(PyBufferLayout.SIZE).address(), true);
                for (Object[] k : CONSTANTS) put(a, m, (String) k[0], PyLong_FromLong((Integer) k[1]).address(), true);
                put(a, m, "__doc__", Text.newStr("panamapy.newbuffer: pure-Python buffer exporters (BufferMixin) "
                        + "and the Py_buffer struct as a Python object; a drop-in for the newbuffer module."), true);
                put(a, m, "newbuffer", m);
                Errors.checkInt(null, PyObject_SetAttrString(Mem.ptr(panamapy), a.allocateFrom("newbuffer"), Mem.ptr(m)));
                Errors.checkInt(null, PyDict_SetItemString(PyImport_GetModuleDict(), a.allocateFrom("panamapy.newbuffer"),
                        Mem.ptr(m)));
            } finally {
                Py_DecRef(Mem.ptr(m));          // sys.modules and panamapy hold it
            }
        }
    }

    private static void put(Arena a, long module, String name, long value) {
        Errors.checkInt(null, PyObject_SetAttrString(Mem.ptr(module), a.allocateFrom(name), Mem.ptr(value)));
    }

    private static void put(Arena a, long module, String name, long newValue, boolean steal) {
        if (newValue == 0) throw Errors.fetch(null);
        try {
            put(a, module, name, newValue);
        } finally {
            if (steal) Py_DecRef(Mem.ptr(newValue));
        }
    }

    /** The value of a {@code PyObject *} global of libpython. */
    private static long global(String name) {
        return SymbolLookup.loaderLookup().findOrThrow(name).reinterpret(8).get(JAVA_LONG, 0);
    }

    // typeslots.h ids missing from the generated constants (stable since 3.2)
    private static final int SLOT_NB_BOOL = 9, SLOT_TP_INIT = 60, SLOT_TP_GETSET = 73;
    /** sizeof(PyGetSetDef): name, get, set, doc, closure. */
    private static final long GETSET_SIZE = 40;

    private static MemorySegment getsets(Arena forever) {
        String[] f = PyBufferObject.FIELDS;
        MemorySegment defs = forever.allocate(GETSET_SIZE * (f.length + 1));
        for (int i = 0; i < f.length; i++) {
            long at = i * GETSET_SIZE;
            defs.set(JAVA_LONG, at, forever.allocateFrom(f[i]).address());
            defs.set(JAVA_LONG, at + 8, WRAPPER_GET.address());
            defs.set(JAVA_LONG, at + 16, WRAPPER_SET.address());
            defs.set(JAVA_LONG, at + 24, forever.allocateFrom("Py_buffer." + f[i]).address());
            defs.set(JAVA_LONG, at + 32, i);
        }
        return defs;                            // the last entry is zero: the sentinel
    }

    private static MemorySegment methods(Arena forever, String[] names, MemorySegment[] fns, int[] flags, String[] docs) {
        MemorySegment defs = PyMethodDef.allocateArray(names.length + 1, forever);
        for (int i = 0; i < names.length; i++) {
            MemorySegment d = PyMethodDef.asSlice(defs, i);
            PyMethodDef.ml_name(d, forever.allocateFrom(names[i]));
            PyMethodDef.ml_meth(d, fns[i]);
            PyMethodDef.ml_flags(d, flags[i]);
            PyMethodDef.ml_doc(d, forever.allocateFrom(docs[i]));
        }
        return defs;
    }

    /** Sets a Python exception with an exact message. Never throws. */
    static void setError(long type, String message) {
        long m = Text.newStr(message);
        if (m == 0) return;                     // MemoryError pending instead
        PyErr_SetObject(Mem.ptr(type), Mem.ptr(m));
        Py_DecRef(Mem.ptr(m));
    }

    // ---- BufferMixin ------------------------------------------------------------------------

    // int getbuffer(PyObject *self, Py_buffer *view, int flags)
    static int mixinGetbuffer(long self, long view, int flags) {
        boolean nested = false;
        CallState d = null;
        Constants c = Upcalls.c;
        try {
            d = Interpreter.upcallEnter();      // Python code runs under it: counted for tearDown
            if (view == 0) {
                setError(c.excBufferError, "BufferMixin: a NULL Py_buffer was given to fill");
                return -1;
            }
            Mem.putLong(view + PyBufferLayout.OBJ, 0);
            if (refused(c, "_get_buffer")) return -1;
            StackGuard.measure();               // with no stack left: StackOverflowError, nothing taken
            if (StackGuard.exhausted()) throw StackGuard.refusal(c);
            StackGuard.enterNested();
            nested = true;
            long w = spareGetView;
            spareGetView = 0;
            if (w == 0) w = GetBufferView.allocate(c);
            GetBufferView.prepare(c, w, view);
            long flagsObj = flagInt(flags);
            long r;
            try {
                r = (long) CALL_METHOD_2.invokeExact(self, getName, w, flagsObj, 0L);
            } finally {
                if (flags < 0 || flags >= FLAG_INTS.length) Py_DecRef(Mem.ptr(flagsObj));
            }
            int rc;
            if (r == 0) {
                GetBufferView.empty(c, w);
                rc = -1;
            } else if (r != c.none) {
                Py_DecRef(Mem.ptr(r));
                setError(c.excValueError, "_get_buffer method return value was not None");
                GetBufferView.empty(c, w);
                rc = -1;
            } else {
                Py_DecRef(Mem.ptr(r));
                rc = GetBufferView.collect(c, w, view);
            }
            if (GetBufferView.detach(w, view)) {              // nothing else holds it: the next request's
                if (spareGetView == 0) spareGetView = w;
                else Py_DecRef(Mem.ptr(w));
            }
            if (rc != 0) {
                Mem.putLong(view + PyBufferLayout.OBJ, 0);
                return -1;
            }
            String refusal = refusal(view, flags);
            if (refusal != null) {
                setError(c.excBufferError, refusal);
                return failed(view);
            }
            return 0;
        } catch (Throwable t) {
            try {
                dropObj(view);
                return UpcallBarrier.bufferFailure(c, t, view);
            } catch (Throwable again) {
                return -1;
            }
        } finally {
            if (nested) StackGuard.leaveNested();
            if (d != null) d.depth--;           // no call: safe even on a stack overflow
        }
    }

    /**
     * Whether Python code must no longer run from an upcall: CPython tears down, and a thread
     * Python made that lets the GIL go now is ended by CPython, Java frames and all (see
     * {@code Interpreter.tearDown}). Then sets BufferError naming what was not called. Call it
     * after {@link Interpreter#upcallEnter()}: under the GIL, that orders it with tearDown's
     * count of upcalls in flight.
     */
    static boolean refused(Constants c, String what) {
        if (!Interpreter.refusesUserCode()) return false;
        setError(c.excBufferError, "CPython is finalizing: " + what + " can no longer be called");
        return true;
    }

    /**
     * What makes a filled view unusable for every consumer (the rest, deliberately broken views
     * included, is the exporter's to decide), or null.
     */
    static String refusal(long view, int flags) {
        int ndim = Mem.getInt(view + PyBufferLayout.NDIM);
        if (ndim < 0 || ndim > MAX_NDIM) {
            return "_get_buffer set ndim to " + ndim + ": a buffer has 0 to " + MAX_NDIM + " (PyBUF_MAX_NDIM) dimensions";
        }
        long len = Mem.getLong(view + PyBufferLayout.LEN);
        if (len < 0) return "_get_buffer set len to " + len + ": a buffer's length in bytes is never negative";
        long itemsize = Mem.getLong(view + PyBufferLayout.ITEMSIZE);
        if (itemsize < 0) return "_get_buffer set itemsize to " + itemsize + ": an item's size is never negative";
        if ((flags & FORMAT_FLAG) != 0 && Mem.getLong(view + PyBufferLayout.FORMAT) == 0) {
            return "_get_buffer left format None (NULL) but the request has PyBUF_FORMAT: set format to the address of "
                    + "a NUL-terminated struct format string";
        }
        // consumers divide by itemsize, index shape and copy product(shape) * itemsize bytes into len
        // bytes: a view that breaks these crashes memoryview and bytes() (SIGFPE, NULL read, heap overflow)
        if (itemsize < 1 && (ndim > 0 || len > 0)) {
            return "_get_buffer set itemsize to " + itemsize + ": an item has at least 1 byte (set itemsize, and ndim 1 "
                    + "for a plain block of bytes)";
        }
        long shape = Mem.getLong(view + PyBufferLayout.SHAPE);
        if (ndim > 1 && shape == 0) {
            return "_get_buffer set ndim to " + ndim + " but left shape None (NULL): a view of more than one dimension "
                    + "needs the address of ndim Py_ssize_t extents";
        }
        if (shape != 0 && ndim > 0) {
            long items = 1;
            for (int i = 0; i < ndim; i++) {
                long n = Mem.getLong(shape + 8L * i);
                if (n < 0) return "_get_buffer set shape[" + i + "] to " + n + ": an extent is never negative";
                items = items == 0 || n == 0 ? 0 : Math.multiplyHigh(items, n) != 0 || items * n < 0 ? -1 : items * n;
                if (items < 0) return "_get_buffer set a shape whose product overflows Py_ssize_t";
            }
            long bytes = Math.multiplyHigh(items, itemsize) != 0 || items * itemsize < 0 ? -1 : items * itemsize;
            if (bytes != len) {
                return "_get_buffer set len to " + len + " but itemsize * product(shape) is "
                        + (bytes < 0 ? "beyond Py_ssize_t" : String.valueOf(bytes)) + ": they must agree (PEP 3118)";
            }
        }
        return null;
    }

    /** A failed request: the reference the method may have put in obj is dropped; -1. */
    private static int failed(long view) {
        dropObj(view);
        return -1;
    }

    private static void dropObj(long view) {
        if (view == 0) return;
        long o = Mem.getLong(view + PyBufferLayout.OBJ);
        Mem.putLong(view + PyBufferLayout.OBJ, 0);
        if (o != 0) {
            // keep the request's error: dropping the last reference may run Python code
            try (Arena a = Arena.ofConfined()) {
                MemorySegment t = a.allocate(8), v = a.allocate(8), tb = a.allocate(8);
                PyErr_Fetch(t, v, tb);
                Py_DecRef(Mem.ptr(o));
                PyErr_Restore(t.get(Mem.PTR, 0), v.get(Mem.PTR, 0), tb.get(Mem.PTR, 0));
            }
        }
    }

    // void releasebuffer(PyObject *self, Py_buffer *view)
    static void mixinReleasebuffer(long self, long view) {
        CallState d = null;
        try {
            d = Interpreter.upcallEnter();      // Python code runs under it: counted for tearDown
            if (Interpreter.refusesUserCode()) return;  // finalizing: no _release_buffer (BufferMixin keeps no state)
            if (PyErr_Occurred().address() == 0) {
                if (!overridesRelease(self)) return;
                callRelease(self, view);
                return;
            }
            try (Arena a = Arena.ofConfined()) {        // a release may happen while an exception unwinds
                MemorySegment t = a.allocate(8), v = a.allocate(8), tb = a.allocate(8);
                PyErr_Fetch(t, v, tb);
                try {
                    if (overridesRelease(self)) callRelease(self, view);
                } finally {
                    PyErr_Restore(t.get(Mem.PTR, 0), v.get(Mem.PTR, 0), tb.get(Mem.PTR, 0));
                }
            }
        } catch (Throwable t) {
            try {
                UpcallBarrier.voidFailure("BufferMixin bf_releasebuffer", t);
            } catch (Throwable ignored) {
                // never let it escape
            }
        } finally {
            if (d != null) d.depth--;
        }
    }

    /**
     * Whether the class replaces BufferMixin's own {@code _release_buffer} (which does nothing:
     * then no wrapper, no call). Decided on the class, without allocating; so an instance
     * attribute {@code _release_buffer} is not seen when the class has the default. No error may
     * be pending.
     */
    private static boolean overridesRelease(long self) {
        long fn = PyObject_GetAttr(Mem.ptr(Convert.typeOf(self)), Mem.ptr(releaseName)).address();
        if (fn == 0) {
            PyErr_Clear();
            return true;                                // the call reports what is wrong
        }
        Py_DecRef(Mem.ptr(fn));
        return fn != releaseDefault;
    }

    private static void callRelease(long self, long view) throws Throwable {
        StackGuard.measure();
        if (StackGuard.exhausted()) {
            setError(recursionError, "too little stack left on this thread to call _release_buffer");
            PyErr_WriteUnraisable(Mem.ptr(self));
            return;
        }
        StackGuard.enterNested();
        try {
            long w = takeWrapper();
            PyBufferObject.bind(w, view, PyBufferObject.FILLED | PyBufferObject.PRESERVE);
            long r;
            try {
                r = (long) CALL_METHOD_1.invokeExact(self, releaseName, w, 0L);
            } finally {
                PyBufferObject.unbind(w, view, PyBufferObject.FILLED | PyBufferObject.PRESERVE);
                giveBack(w);
            }
            if (r == 0) PyErr_WriteUnraisable(Mem.ptr(self));
            else Py_DecRef(Mem.ptr(r));
        } finally {
            StackGuard.leaveNested();
        }
    }

    /** A wrapper for one call: the spare one, or a new one. */
    private static long takeWrapper() {
        long w = spareWrapper;
        if (w != 0) {
            spareWrapper = 0;
            return w;
        }
        return Errors.check(Upcalls.c, PyType_GenericAlloc(Mem.ptr(wrapperType), 0));
    }

    /** Keeps a detached wrapper as the spare if nothing else holds it, else drops our reference. */
    private static void giveBack(long w) {
        if (spareWrapper == 0 && Mem.getLong(w) == 1) spareWrapper = w;
        else Py_DecRef(Mem.ptr(w));
    }

    /** The Python int for request flags: borrowed for 0..1023, else a new reference. */
    private static long flagInt(int flags) {
        if (flags >= 0 && flags < FLAG_INTS.length) {
            long o = FLAG_INTS[flags];
            if (o == 0) o = FLAG_INTS[flags] = Errors.check(Upcalls.c, PyLong_FromLong(flags));
            return o;
        }
        return Errors.check(Upcalls.c, PyLong_FromLong(flags));
    }

    // PyObject *_get_buffer(self, args): BufferMixin's abstract method
    static long mixinGetDefault(long self, long args) {
        try {
            setError(notImplementedError, "abstract method");
        } catch (Throwable t) {
            // nothing more to do: NULL without an exception is CPython's SystemError
        }
        return 0;
    }

    // PyObject *_release_buffer(self, view): does nothing
    static long mixinReleaseDefault(long self, long view) {
        try {
            return ObjectProtocol.newReference(Upcalls.c.none);
        } catch (Throwable t) {
            return 0;
        }
    }

    // ---- Py_buffer --------------------------------------------------------------------------

    // PyObject *get(PyObject *self, void *closure)
    static long wrapperGet(long self, long closure) {
        try {
            return PyBufferObject.get(Upcalls.c, self, (int) closure);
        } catch (Throwable t) {
            try {
                return UpcallBarrier.objectFailure(Upcalls.c, Upcalls.c.excSystemError, t);
            } catch (Throwable again) {
                return 0;
            }
        }
    }

    // int set(PyObject *self, PyObject *value, void *closure)
    static int wrapperSet(long self, long value, long closure) {
        CallState d = null;
        try {
            d = Interpreter.upcallEnter();      // replacing obj drops a reference: Python code may run
            if (closure == PyBufferObject.OBJ && refused(Upcalls.c, "the setter of Py_buffer.obj")) return -1;
            return PyBufferObject.set(Upcalls.c, self, value, (int) closure);
        } catch (Throwable t) {
            try {
                return intFailure(t);
            } catch (Throwable again) {     // even the call may overflow again
                return -1;
            }
        } finally {
            if (d != null) d.depth--;
        }
    }

    // int init(PyObject *self, PyObject *args, PyObject *kwds)
    static int wrapperInit(long self, long args, long kwds) {
        CallState d = null;
        try {
            d = Interpreter.upcallEnter();      // giving back what the wrapper held may run Python code
            if (refused(Upcalls.c, "Py_buffer.__init__")) return -1;
            return PyBufferObject.init(Upcalls.c, self, args, kwds);
        } catch (Throwable t) {
            try {
                return intFailure(t);
            } catch (Throwable again) {     // even the call may overflow again
                return -1;
            }
        } finally {
            if (d != null) d.depth--;
        }
    }

    /** For int-returning entries: a Python exception (RecursionError for an overflow); -1. */
    private static int intFailure(Throwable t) {
        UpcallBarrier.objectFailure(Upcalls.c, Upcalls.c.excSystemError, t);
        return -1;
    }

    // int bool(PyObject *self)
    static int wrapperBool(long self) {
        try {
            return PyBufferObject.bool(self);
        } catch (Throwable t) {             // a StackOverflowError: Python's RecursionError
            try {
                return intFailure(t);
            } catch (Throwable again) {     // even the call may overflow again
                return -1;
            }
        }
    }

    // PyObject *get_buffer(PyObject *self, PyObject *args, PyObject *kwds)
    static long wrapperGetBuffer(long self, long args, long kwds) {
        CallState d = null;
        try {
            d = Interpreter.upcallEnter();      // the exporter may be Python code
            if (refused(Upcalls.c, "Py_buffer.get_buffer")) return 0;
            return PyBufferObject.getBuffer(Upcalls.c, self, args, kwds);
        } catch (Throwable t) {
            try {
                return UpcallBarrier.objectFailure(Upcalls.c, Upcalls.c.excSystemError, t);
            } catch (Throwable again) {
                return 0;
            }
        } finally {
            if (d != null) d.depth--;
        }
    }

    // PyObject *release_buffer(PyObject *self, PyObject *unused)
    static long wrapperReleaseBuffer(long self, long unused) {
        CallState d = null;
        try {
            d = Interpreter.upcallEnter();      // the exporter's release may be Python code; finalizing, it still runs
            return PyBufferObject.releaseBuffer(Upcalls.c, self);
        } catch (Throwable t) {
            try {
                return UpcallBarrier.objectFailure(Upcalls.c, Upcalls.c.excSystemError, t);
            } catch (Throwable again) {
                return 0;
            }
        } finally {
            if (d != null) d.depth--;
        }
    }

    // void dealloc(PyObject *self): gives back what the wrapper holds, then frees it with its type's tp_free
    static void wrapperDealloc(long self) {
        CallState d = null;
        try {
            d = Interpreter.upcallEnter();      // giving back what the wrapper holds may run Python code
            if (GetBufferView.isInstance(self)) GetBufferView.empty(Upcalls.c, self);
            PyBufferObject.reset(self);
        } catch (Throwable t) {
            try {
                UpcallBarrier.voidFailure("Py_buffer tp_dealloc", t);
            } catch (Throwable ignored) {
                // never let it escape
            }
        }
        try {
            long type = Convert.typeOf(self);
            MemorySegment free = PyType_GetSlot(Mem.ptr(type), Py_tp_free());
            if (free.address() == 0) PyObject_Free(Mem.ptr(self));
            else FREE.invokeExact(free, self);
            Py_DecRef(Mem.ptr(type));           // a heap type's instance holds a reference to it
        } catch (Throwable t) {
            try {
                UpcallBarrier.voidFailure("Py_buffer tp_dealloc (free)", t);
            } catch (Throwable ignored) {
                // never let it escape
            }
        } finally {
            if (d != null) d.depth--;
        }
    }

    // ---- stubs ------------------------------------------------------------------------------

    private static final MethodHandle FREE = LINKER.downcallHandle(FunctionDescriptor.ofVoid(JAVA_LONG));

    private static final MemorySegment MIXIN_GETBUFFER = stub("mixinGetbuffer", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    private static final MemorySegment MIXIN_RELEASEBUFFER = stub("mixinReleasebuffer", FunctionDescriptor.ofVoid(JAVA_LONG, JAVA_LONG));
    private static final MemorySegment MIXIN_GET_DEFAULT = stub("mixinGetDefault", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG));
    private static final MemorySegment MIXIN_RELEASE_DEFAULT = stub("mixinReleaseDefault", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG));
    private static final MemorySegment WRAPPER_GET = stub("wrapperGet", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG));
    private static final MemorySegment WRAPPER_SET = stub("wrapperSet", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    private static final MemorySegment WRAPPER_INIT = stub("wrapperInit", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    private static final MemorySegment WRAPPER_BOOL = stub("wrapperBool", FunctionDescriptor.of(JAVA_INT, JAVA_LONG));
    private static final MemorySegment WRAPPER_GET_BUFFER = stub("wrapperGetBuffer", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    private static final MemorySegment WRAPPER_RELEASE_BUFFER = stub("wrapperReleaseBuffer", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG));
    private static final MemorySegment WRAPPER_DEALLOC = stub("wrapperDealloc", FunctionDescriptor.ofVoid(JAVA_LONG));

    private static MemorySegment stub(String method, FunctionDescriptor fd) {
        return Capsules.upcallStub(MethodHandles.lookup(), method, fd);
    }
}
