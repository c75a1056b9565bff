package dev.panamapy.internal;

import dev.panamapy.bindings.PyMethodDef;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.nio.charset.StandardCharsets;

import static dev.panamapy.bindings.Python_h.*;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * PEP 688 ({@code __buffer__} / {@code __release_buffer__}) for CPython 3.9-3.11, behind
 * {@code panamapy.Buffer}; on 3.12+ CPython does it and this class only runs the Python side
 * ({@code pep688.py}). Mirrors CPython 3.12's {@code Objects/typeobject.c} ({@code slot_bf_getbuffer},
 * {@code bufferwrapper_releasebuf}, {@code releasebuffer_call_python}) step for step:
 *
 * <ul>
 *   <li><b>getbuffer</b> (a slot of the native base {@code panamapy._BufferBase}, inherited by
 *       every Python subclass): looks {@code __buffer__} up on the type (never the instance, like
 *       any special method), calls it with the flags as an int, refuses a non-memoryview result
 *       (TypeError "__buffer__ returned non-memoryview object"), re-exports the memoryview with the
 *       consumer's flags ({@code PyObject_GetBuffer}: memoryview's own request rules and errors),
 *       and makes the view's {@code obj} a new {@code _buffer_wrapper} holding the memoryview and
 *       the instance. An exception from {@code __buffer__} is the consumer's exception.</li>
 *   <li><b>release</b> (the wrapper's slot): ends the memoryview's export, then, when the
 *       instance's type has a {@code __release_buffer__} and the memoryview is not a view of the
 *       instance itself, calls it with that same memoryview (an error in it goes to
 *       {@code sys.unraisablehook}; an exception already pending is kept), then drops both
 *       references (the memoryview may die there, ending its own export).</li>
 * </ul>
 *
 * <p>The wrapper is a subclass of {@code tuple} ({@code (instance, memoryview)}, both replaced by
 * None at the release): tuple's own deallocation and GC traversal then serve it, so neither costs
 * an upcall. Python cannot create one ({@code tp_new} raises TypeError, like 3.12's).
 *
 * <p>Both buffer entries are counted as upcalls for their whole run ({@link Interpreter#upcallEnter()}),
 * drops that may run {@code __del__} included, so that finalization waits for those in flight on
 * threads Python made. While CPython tears down ({@link Interpreter#refusesUserCode()}) neither
 * method is called: a view is a BufferError, a release only ends the memoryview's export, as for
 * Java exporters.
 *
 * <p>Every entry point catches Throwable ({@link UpcallBarrier}); the calls into Python fit
 * CPython's recursion budget to the stack left ({@link StackGuard}), so recursion through
 * {@code __buffer__} ends in RecursionError.
 */
final class BufferBackport {
    private BufferBackport() { }

    private static final Logger LOG = LoggerFactory.getLogger(BufferBackport.class);

    /** Py_TPFLAGS_HEAPTYPE. */
    private static final long HEAPTYPE = 1L << 9;
    /** Py_TPFLAGS_METHOD_DESCRIPTOR: called unbound, with self first. */
    private static final long METHOD_DESCRIPTOR = 1L << 17;
    /** Py_TPFLAGS_TYPE_SUBCLASS: the object is a type. */
    private static final long TYPE_SUBCLASS = 1L << 31;
    /** Offset of tp_as_buffer in PyTypeObject (64-bit, 3.9-3.13); used on 3.9 for static types only, checked at start. */
    private static final long TP_AS_BUFFER = 160;
    /** Offset of a tuple's first item (PyVarObject header): the wrapper's obj, then its memoryview. */
    private static final long OBJ_ITEM = dev.panamapy.bindings._object.layout().byteSize() + 8, MV_ITEM = OBJ_ITEM + 8;
    /** The flag ints handed to __buffer__ that are made once (every PyBUF_* combination is below). */
    private static final int CACHED_FLAGS = 1024;

    // ---- state set once at start, under the GIL ------------------------------------------------

    private static int minor;
    private static long bufferName, releaseName, objName, getName;      // interned str, owned
    private static long memoryviewType, functionType, none;    // borrowed (live until finalization)
    private static long wrapperType;                           // owned
    private static boolean rawSlotsChecked;                     // TP_AS_BUFFER verified on this build
    private static final long[] FLAG_INTS = new long[CACHED_FLAGS];   // owned

    /**
     * Adds {@code Buffer} (and, lazily, {@code BufferFlags}) to the {@code panamapy} module.
     * Requires the GIL, at start; never throws (a failure is logged: the rest of the bridge works).
     */
    static void install(long module, int pythonMinor) {
        try (Arena a = Arena.ofConfined()) {
            minor = pythonMinor;
            if (minor < 12) {
                makeNatives(module, a);
            }
            Snippets.run(resource("pep688.py"), "_panamapy", Mem.ptr(module));
            for (String n : new String[]{"_BufferBase", "_buffer_wrapper", "_buffer_slot"}) {
                if (PyObject_HasAttrString(Mem.ptr(module), a.allocateFrom(n)) == 1) {
                    PyObject_SetAttrString(Mem.ptr(module), a.allocateFrom(n), MemorySegment.NULL);   // delattr
                }
            }
            PyErr_Clear();
        } catch (RuntimeException | Error e) {
            PyErr_Clear();
            LOG.warn("panamapy.Buffer (PEP 688 backport) is unavailable", e);
        }
    }

    private static void makeNatives(long module, Arena a) {
        Arena forever = Arena.global();
        long immutable = minor >= 10 ? Types.TPFLAGS_IMMUTABLETYPE : 0;
        bufferName = intern("__buffer__", a);
        releaseName = intern("__release_buffer__", a);
        objName = intern("obj", a);
        getName = intern("__get__", a);
        none = _Py_NoneStruct().address();
        for (int f = 0; f < CACHED_FLAGS; f++) FLAG_INTS[f] = PyLong_FromLong(f).address();
        MemorySegment mv = PyMemoryView_FromMemory(a.allocate(1), 1, PyBUF_READ());
        memoryviewType = Convert.typeOf(mv.address());
        Py_DecRef(mv);
        MemorySegment fn = Py_CompileString(a.allocateFrom("lambda: None"), a.allocateFrom("<panamapy>"), Py_eval_input());
        MemorySegment lambda = PyEval_EvalCode(fn, PyEval_GetBuiltins(), PyEval_GetBuiltins());
        functionType = Convert.typeOf(lambda.address());
        Py_DecRef(lambda);
        Py_DecRef(fn);

        long base = Types.makeType(forever, "panamapy._BufferBase", dev.panamapy.bindings._object.layout().byteSize(),
                "The native base of panamapy.Buffer before CPython 3.12: its buffer slots call __buffer__ and "
                        + "__release_buffer__ (PEP 688).",
                new int[]{Py_bf_getbuffer()}, new MemorySegment[]{GETBUFFER},
                0, Py_TPFLAGS_BASETYPE() | immutable);
        rawSlotsChecked = rawGetbuffer(base) == GETBUFFER.address();
        MemorySegment empty = PyTuple_New(0);
        long tuple = Convert.typeOf(empty.address());
        Py_DecRef(empty);
        wrapperType = Types.makeType(forever, "_buffer_wrapper", 0, "PEP 688 buffer wrapper (panamapy backport)",
                new int[]{Py_bf_releasebuffer(), Py_tp_new()}, new MemorySegment[]{RELEASE_WRAPPER, WRAPPER_NEW},
                tuple, 0);
        MemorySegment def = PyMethodDef.allocate(forever);
        PyMethodDef.ml_name(def, forever.allocateFrom("_buffer_slot"));
        PyMethodDef.ml_meth(def, BUFFER_SLOT);
        PyMethodDef.ml_flags(def, 0x0008);                          // METH_O
        PyMethodDef.ml_doc(def, forever.allocateFrom("which getbuffer a type has: 'panamapy', 'native', 'none' or 'unknown'"));
        long slotFn = Errors.check(null, PyCFunction_NewEx(def, MemorySegment.NULL, MemorySegment.NULL));
        setAttr(module, "_BufferBase", base, a);
        setAttr(module, "_buffer_wrapper", wrapperType, a);
        setAttr(module, "_buffer_slot", slotFn, a);
        Py_DecRef(Mem.ptr(base));                                   // the module and panamapy.Buffer keep it
        Py_DecRef(Mem.ptr(slotFn));
    }

    private static void setAttr(long module, String name, long value, Arena a) {
        Errors.checkInt(null, PyObject_SetAttrString(Mem.ptr(module), a.allocateFrom(name), Mem.ptr(value)));
    }

    private static long intern(String s, Arena a) {
        return Errors.check(null, (MemorySegment) invoke(Native.INTERN, a.allocateFrom(s)));
    }

    private static String resource(String name) {
        try (InputStream in = BufferBackport.class.getResourceAsStream(name)) {
            if (in == null) throw new IllegalStateException("resource " + name + " is missing from the bridge jar");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---- getbuffer -----------------------------------------------------------------------------

    /** slot_bf_getbuffer of CPython 3.12, for an instance of a panamapy.Buffer subclass. */
    private static int getBuffer(long self, long view, int flags) throws Throwable {
        Mem.putLong(view + PyBufferLayout.OBJ, 0);
        long type = Convert.typeOf(self);
        long method = (long) Native.TYPE_LOOKUP.invokeExact(type, bufferName);   // borrowed
        if (method == 0) {
            // 3.12: panamapy.Buffer has no __buffer__, so such a subclass has no buffer at all
            raise(PyExc_TypeError().address(), "a bytes-like object is required, not '" + typeName(type) + "'");
            return -1;
        }
        boolean cached = flags >= 0 && flags < CACHED_FLAGS;
        long flagsObj = cached ? FLAG_INTS[flags] : PyLong_FromLong(flags).address();   // cached: owned by us
        long ret;
        try {
            if (Interpreter.refusesUserCode()) {    // read under getbufferEntry's upcallEnter
                // CPython tears down: a thread Python made that takes the GIL now is ended with
                // these Java frames on its stack, so nothing is called (like a Java exporter)
                raise(PyExc_BufferError().address(), "CPython is finalizing: panamapy.Buffer.__buffer__ is no "
                        + "longer called");
                return -1;
            }
            ret = callMethod(method, self, flagsObj);
        } finally {
            if (!cached) Py_DecRef(Mem.ptr(flagsObj));
        }
        if (ret == 0) return -1;
        if (Convert.typeOf(ret) != memoryviewType) {
            Py_DecRef(Mem.ptr(ret));
            raise(PyExc_TypeError().address(), "__buffer__ returned non-memoryview object");
            return -1;
        }
        if (PyObject_GetBuffer(Mem.ptr(ret), Mem.ptr(view), flags) < 0) {
            Py_DecRef(Mem.ptr(ret));
            return -1;
        }
        long wrapper = PyType_GenericAlloc(Mem.ptr(wrapperType), 2).address();
        if (wrapper == 0) {
            PyBuffer_Release(Mem.ptr(view));
            Py_DecRef(Mem.ptr(ret));
            return -1;
        }
        incref(self);
        Mem.putLong(wrapper + OBJ_ITEM, self);
        Mem.putLong(wrapper + MV_ITEM, ret);                        // the wrapper takes __buffer__'s reference
        Mem.putLong(view + PyBufferLayout.OBJ, wrapper);            // the view's reference to the wrapper ...
        decrefNotLast(ret);                                         // ... instead of the one it had to ret
        return 0;
    }

    /**
     * Calls a special method found on the type (borrowed) with self and one argument, as CPython's
     * {@code vectorcall_method} does: a plain function unbound, anything else through its
     * {@code __get__}. Fits the recursion budget to the stack first. Returns a new reference, or 0
     * with a Python error set.
     */
    private static long callMethod(long method, long self, long arg) throws Throwable {
        StackGuard.measure();                                       // throws StackOverflowError with no room
        StackGuard.enterNested();
        try {
            if (StackGuard.exhausted()) throw StackGuard.refusal(Upcalls.c);
            long methodType = Convert.typeOf(method);
            if (methodType == functionType || (PyType_GetFlags(Mem.ptr(methodType)) & METHOD_DESCRIPTOR) != 0) {
                return (long) Native.CALL2.invokeExact(method, self, arg, 0L);
            }
            long getter = (long) Native.TYPE_LOOKUP.invokeExact(methodType, getName);     // borrowed
            if (getter == 0) return (long) Native.CALL1.invokeExact(method, arg, 0L);
            long bound = (long) Native.CALL3.invokeExact(getter, method, self, Convert.typeOf(self), 0L);
            if (bound == 0) return 0;
            try {
                return (long) Native.CALL1.invokeExact(bound, arg, 0L);
            } finally {
                Py_DecRef(Mem.ptr(bound));
            }
        } finally {
            StackGuard.leaveNested();
        }
    }

    // ---- release -------------------------------------------------------------------------------

    /** bufferwrapper_releasebuf of CPython 3.12. */
    private static void releaseWrapper(long wrapper, long view) throws Throwable {
        long mv = Mem.getLong(wrapper + MV_ITEM);
        long obj = Mem.getLong(wrapper + OBJ_ITEM);
        if (mv == 0 || obj == 0 || mv == none || obj == none) return;     // released already
        // the memoryview's export ends first (memoryview's bf_releasebuffer through PyBuffer_Release)
        incref(mv);
        Mem.putLong(view + PyBufferLayout.OBJ, mv);
        PyBuffer_Release(Mem.ptr(view));
        Mem.putLong(view + PyBufferLayout.OBJ, wrapper);
        long hook = (long) Native.TYPE_LOOKUP.invokeExact(Convert.typeOf(obj), releaseName);   // borrowed
        if (hook != 0 && !Interpreter.refusesUserCode() && underlying(mv) != obj) {   // finalizing: not called
            callRelease(hook, obj, mv);
        }
        // Py_CLEAR(bw->mv); Py_CLEAR(bw->obj). When the view holds the wrapper's only reference
        // (nearly always) the tuple's deallocation, right after this returns, drops them in that
        // same order (items last to first) and nothing can run in between: nothing to do here.
        if (Mem.getLong(wrapper) == 1) return;
        incref(none);
        Mem.putLong(wrapper + MV_ITEM, none);
        Py_DecRef(Mem.ptr(mv));
        incref(none);
        Mem.putLong(wrapper + OBJ_ITEM, none);
        Py_DecRef(Mem.ptr(obj));
    }

    /** {@code mv.obj} (the exporter the memoryview is a view of; None for none), borrowed-compared only. */
    private static long underlying(long mv) {
        long o = PyObject_GetAttr(Mem.ptr(mv), Mem.ptr(objName)).address();
        if (o == 0) {
            PyErr_Clear();
            return 0;
        }
        Py_DecRef(Mem.ptr(o));                                      // only its identity is used
        return o;
    }

    /** releasebuffer_call_python of CPython 3.12: the pending exception survives; errors are unraisable. */
    private static void callRelease(long hook, long obj, long mv) throws Throwable {
        long[] saved = Pending.fetch();
        Py_IncRef(Mem.ptr(hook));
        try {
            long r = callMethod(hook, obj, mv);
            if (r == 0) PyErr_WriteUnraisable(Mem.ptr(obj));
            else Py_DecRef(Mem.ptr(r));
        } finally {
            Py_DecRef(Mem.ptr(hook));
            PyErr_Restore(Mem.ptr(saved[0]), Mem.ptr(saved[1]), Mem.ptr(saved[2]));
        }
    }

    // ---- the base check ------------------------------------------------------------------------

    /** Which getbuffer a type has: "panamapy" (ours), "native", "none", "unknown" (cannot tell). */
    private static long bufferSlot(long type) throws Throwable {
        long flags = PyType_GetFlags(Mem.ptr(Convert.typeOf(type)));
        if ((flags & TYPE_SUBCLASS) == 0) {
            raise(PyExc_TypeError().address(), "_buffer_slot() needs a type");
            return 0;
        }
        String answer;
        long fn;
        if (minor >= 10 || (PyType_GetFlags(Mem.ptr(type)) & HEAPTYPE) != 0) {
            fn = PyType_GetSlot(Mem.ptr(type), Py_bf_getbuffer()).address();
            if (fn == 0) PyErr_Clear();
            answer = fn == GETBUFFER.address() ? "panamapy" : fn == 0 ? "none" : "native";
        } else if (rawSlotsChecked) {
            fn = rawGetbuffer(type);
            answer = fn == GETBUFFER.address() ? "panamapy" : fn == 0 ? "none" : "native";
        } else {
            answer = "unknown";
        }
        try (Arena a = Arena.ofConfined()) {
            return PyUnicode_FromString(a.allocateFrom(answer)).address();
        }
    }

    private static long rawGetbuffer(long type) {
        long asBuffer = Mem.getLong(type + TP_AS_BUFFER);
        return asBuffer == 0 ? 0 : Mem.getLong(asBuffer);
    }

    // ---- helpers -------------------------------------------------------------------------------

    /**
     * +1, as the inline {@code Py_INCREF} does: this class runs on CPython 3.9-3.11 only, which have
     * no immortal objects, and {@code ob_refcnt} is the object's first word. Saves a downcall.
     * Requires the GIL.
     */
    private static void incref(long obj) {
        Mem.putLong(obj, Mem.getLong(obj) + 1);
    }

    /** -1 on a reference that is known not to be the last one (see {@link #incref}). Requires the GIL. */
    private static void decrefNotLast(long obj) {
        Mem.putLong(obj, Mem.getLong(obj) - 1);
    }

    private static void raise(long excType, String message) {
        try (Arena a = Arena.ofConfined()) {
            PyErr_SetString(Mem.ptr(excType), a.allocateFrom(message));
        }
    }

    private static String typeName(long type) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment n = PyObject_GetAttrString(Mem.ptr(type), a.allocateFrom("__name__"));
            if (n.address() == 0) {
                PyErr_Clear();
                return "?";
            }
            try {
                String s = Errors.str(n);
                return s == null ? "?" : s;
            } finally {
                Py_DecRef(n);
            }
        }
    }

    private static Object invoke(MethodHandle mh, Object arg) {
        try {
            return mh.invoke(arg);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** PyErr_Fetch into Java longs through per-thread scratch memory (read out at once: reentrant). */
    private static final class Pending {
        private static final ThreadLocal<MemorySegment> SCRATCH = ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(24));

        static long[] fetch() {
            MemorySegment s = SCRATCH.get();
            PyErr_Fetch(s, s.asSlice(8), s.asSlice(16));
            return new long[]{s.get(Mem.LONG, 0), s.get(Mem.LONG, 8), s.get(Mem.LONG, 16)};
        }
    }

    /** C API the bindings do not bind (not in the Limited API, exported by every libpython 3.9-3.13). */
    private static final class Native {
        private static final Linker LINKER = Linker.nativeLinker();
        /** PyObject *_PyType_Lookup(PyTypeObject *, PyObject *name): borrowed, no error set. */
        static final MethodHandle TYPE_LOOKUP = find("_PyType_Lookup", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG));
        /** PyObject_CallFunctionObjArgs(callable, a, b, NULL). */
        static final MethodHandle CALL2 = variadic(FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        /** PyObject_CallFunctionObjArgs(callable, a, b, c, NULL). */
        static final MethodHandle CALL3 = variadic(FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                JAVA_LONG));
        /** PyObject_CallFunctionObjArgs(callable, a, NULL). */
        static final MethodHandle CALL1 = variadic(FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        /** PyObject *PyUnicode_InternFromString(const char *). */
        static final MethodHandle INTERN = find("PyUnicode_InternFromString", FunctionDescriptor.of(ADDRESS, ADDRESS));

        private static MethodHandle find(String name, FunctionDescriptor fd) {
            return LINKER.downcallHandle(SymbolLookup.loaderLookup().findOrThrow(name), fd);
        }

        private static MethodHandle variadic(FunctionDescriptor fd) {
            return LINKER.downcallHandle(SymbolLookup.loaderLookup().findOrThrow("PyObject_CallFunctionObjArgs"), fd,
                    Linker.Option.firstVariadicArg(1));
        }
    }

    // ---- entry points (upcalls) ----------------------------------------------------------------

    // int getbuffer(PyObject *self, Py_buffer *view, int flags)
    static int getbufferEntry(long self, long view, int flags) {
        CallState d = null;
        try {
            // Python code runs in it (__buffer__, and the drop of what it returned): tearDown waits for it
            d = Interpreter.upcallEnter();
            return getBuffer(self, view, flags);
        } catch (Throwable t) {
            try {
                return UpcallBarrier.bufferFailure(Upcalls.c, t, view);
            } catch (Throwable again) {
                return -1;
            }
        } finally {
            if (d != null) d.depth--;               // no call: safe even on a stack overflow
        }
    }

    // void releasebuffer(PyObject *wrapper, Py_buffer *view)
    static void releaseWrapperEntry(long wrapper, long view) {
        CallState d = null;
        try {
            // Python code runs in it (__release_buffer__, drops of mv and obj): tearDown waits for it
            d = Interpreter.upcallEnter();
            releaseWrapper(wrapper, view);
        } catch (Throwable t) {
            try {
                UpcallBarrier.voidFailure("_buffer_wrapper bf_releasebuffer", t);
            } catch (Throwable ignored) {
                // never let it escape
            }
        } finally {
            if (d != null) d.depth--;
        }
    }

    // PyObject *tp_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
    static long wrapperNewEntry(long type, long args, long kwds) {
        try {
            raise(PyExc_TypeError().address(), "cannot create '_buffer_wrapper' instances");
            return 0;
        } catch (Throwable t) {
            try {
                return UpcallBarrier.objectFailure(Upcalls.c, Upcalls.c.excTypeError, t);
            } catch (Throwable again) {
                return 0;
            }
        }
    }

    // PyObject *fn(PyObject *self, PyObject *arg)  (METH_O)
    static long bufferSlotEntry(long self, long type) {
        try {
            return bufferSlot(type);
        } catch (Throwable t) {
            try {
                return UpcallBarrier.objectFailure(Upcalls.c, Upcalls.c.excRuntimeError, t);
            } catch (Throwable again) {
                return 0;
            }
        }
    }

    static final MemorySegment GETBUFFER = stub("getbufferEntry", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    static final MemorySegment RELEASE_WRAPPER = stub("releaseWrapperEntry", FunctionDescriptor.ofVoid(JAVA_LONG, JAVA_LONG));
    static final MemorySegment WRAPPER_NEW = stub("wrapperNewEntry", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    static final MemorySegment BUFFER_SLOT = stub("bufferSlotEntry", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG));

    private static MemorySegment stub(String method, FunctionDescriptor fd) {
        return Capsules.upcallStub(MethodHandles.lookup(), method, fd);
    }
}
