package dev.panamapy.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;

import static dev.panamapy.bindings.Python_h.*;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The C entry points Python calls: the slots of {@code panamapy.JavaBuffer} and the function
 * behind Java callables. Each one is a thin shell around the {@link UpcallBarrier}: look up the
 * Java state, call it, and turn anything thrown into a Python exception. Pointers arrive as
 * {@code long} (same register and size as a C pointer on the 64-bit ABIs the JDK supports),
 * which keeps the hot path free of segment allocation.
 */
final class Upcalls {
    private Upcalls() { }

    /**
     * The running interpreter's constants, set once at start by {@link #install}. The one static
     * reference the bridge keeps to them: an entry point is a static method bound to a stub that
     * C calls with C's arguments only, and the objects it serves (a JavaBuffer, a function's
     * {@code self}) carry no Java reference, so it cannot be handed down like everywhere else.
     * One interpreter per process, so one value.
     */
    static volatile Constants c;

    /** Gives the entry points the interpreter's constants; at start, before Python can call them. */
    static void install(Constants constants) { c = constants; }

    /** Offset of the handle slot in a JavaBuffer object, right after the PyObject header. */
    static final long HANDLE_OFFSET = dev.panamapy.bindings._object.layout().byteSize();

    static long handleOf(long self) { return Mem.getLong(self + HANDLE_OFFSET); }

    // Each entry point catches Throwable, and the barrier call in its handler sits in a try of its
    // own: a StackOverflowError thrown by the handler itself (it needs stack, and an overflow
    // leaves little) must not escape either. Counters are decremented inline, without a call.

    // int getbuffer(PyObject *self, Py_buffer *view, int flags)
    static int getbuffer(long self, long view, int flags) {
        try {
            ExportState s = ExportTable.get(handleOf(self));
            if (s == null) {
                throw new IllegalStateException("this panamapy.JavaBuffer has no Java state: only CPython.export(...) "
                        + "makes working ones");
            }
            return s.getBuffer(c, self, view, flags);
        } catch (Throwable t) {
            try {
                return UpcallBarrier.bufferFailure(c, t, view);
            } catch (Throwable again) {
                return -1;
            }
        }
    }

    // void releasebuffer(PyObject *self, Py_buffer *view)
    static void releasebuffer(long self, long view) {
        try {
            ExportState s = ExportTable.get(handleOf(self));
            if (s != null) s.release(view);
        } catch (Throwable t) {
            try {
                UpcallBarrier.voidFailure("bf_releasebuffer", t);
            } catch (Throwable ignored) {
                // never let it escape
            }
        }
    }

    // void dealloc(PyObject *self)
    static void dealloc(long self) {
        CallState d = null;
        try {
            d = Interpreter.upcallEnter();
            long h = handleOf(self);
            ExportState s = ExportTable.get(h);
            if (s != null) {
                ExportTable.unregister(h);
                s.deallocated();
            }
        } catch (Throwable t) {
            try {
                UpcallBarrier.voidFailure("tp_dealloc", t);
            } catch (Throwable ignored) {
                // never let it escape
            }
        }
        try {
            // heap type instances own a reference to their type (CPython >= 3.8)
            long type = Convert.typeOf(self);
            if (type == c.types.javaBuffer || type == c.types.trackedJavaBuffer) {
                PyObject_Free(Mem.ptr(self));
            } else {
                // an instance of a Python subclass (subtype_dealloc called us as the base's dealloc),
                // which only CPython 3.9 lets Python make, by replacing JavaBuffer.__new__: it may be
                // a GC object, which only its own tp_free frees correctly
                MemorySegment free = PyType_GetSlot(Mem.ptr(type), Py_tp_free());
                if (free.address() == 0) PyObject_Free(Mem.ptr(self));
                else CALL_FREE.invokeExact(free, self);
            }
            Py_DecRef(Mem.ptr(type));                             // the instance's own reference
        } catch (Throwable t) {
            try {
                UpcallBarrier.voidFailure("tp_dealloc (free)", t);
            } catch (Throwable ignored) {
                // never let it escape
            }
        } finally {
            if (d != null) d.depth--;
        }
    }

    // PyObject *repr(PyObject *self)
    static long repr(long self) {
        try {
            ExportState s = ExportTable.get(handleOf(self));
            String text = "<panamapy.JavaBuffer " + (s == null ? "(released)" : s.describe()) + ">";
            try (Arena a = Arena.ofConfined()) {
                return PyUnicode_FromString(a.allocateFrom(text)).address();
            }
        } catch (Throwable t) {
            try {
                return UpcallBarrier.objectFailure(c, c.excRuntimeError, t);
            } catch (Throwable again) {
                return 0;
            }
        }
    }

    // PyObject *tp_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
    static long tpNew(long type, long args, long kwds) {
        try {
            try (Arena a = Arena.ofConfined()) {
                PyErr_SetString(Mem.ptr(c.excTypeError), a.allocateFrom("cannot create 'panamapy.JavaBuffer' "
                        + "instances from Python: a JavaBuffer is made in Java by CPython.export(...)"));
            }
            return 0;
        } catch (Throwable t) {
            try {
                return UpcallBarrier.objectFailure(c, c.excTypeError, t);
            } catch (Throwable again) {
                return 0;
            }
        }
    }

    // PyObject *fn(PyObject *self, PyObject *args)  (METH_VARARGS)
    static long callFunction(long self, long args) {
        CallState d = null;
        try {
            d = Interpreter.upcallEnter();
            return Functions.call(c, d, self, args);
        } catch (Throwable t) {
            try {
                return UpcallBarrier.functionFailure(c, t);
            } catch (Throwable again) {
                return 0;
            }
        } finally {
            if (d != null) d.depth--;
        }
    }

    // ---- stubs ----------------------------------------------------------------------------------

    /** void (*freefunc)(void *): calls a type's tp_free. */
    private static final java.lang.invoke.MethodHandle CALL_FREE =
            Linker.nativeLinker().downcallHandle(FunctionDescriptor.ofVoid(JAVA_LONG));

    static final MemorySegment GETBUFFER = stub("getbuffer", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT));
    static final MemorySegment RELEASEBUFFER = stub("releasebuffer", FunctionDescriptor.ofVoid(JAVA_LONG, JAVA_LONG));
    static final MemorySegment DEALLOC = stub("dealloc", FunctionDescriptor.ofVoid(JAVA_LONG));
    static final MemorySegment REPR = stub("repr", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG));
    static final MemorySegment TP_NEW = stub("tpNew", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    static final MemorySegment CALL_FUNCTION = stub("callFunction", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG));

    private static MemorySegment stub(String method, FunctionDescriptor fd) {
        return stub(Upcalls.class, method, fd);
    }

    /** An upcall stub, never freed, for a static method of a class of this package. */
    static MemorySegment stub(Class<?> owner, String method, FunctionDescriptor fd) {
        try {
            var mh = MethodHandles.lookup().findStatic(owner, method, fd.toMethodType());
            return Linker.nativeLinker().upcallStub(mh, fd, Arena.global());
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
}
