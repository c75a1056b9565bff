package dev.panamapy.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import static dev.panamapy.bindings.Python_h.*;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * PyCapsules made and read by Java, for the protocols that hand C structs over in them (the
 * Arrow PyCapsule interface, DLPack), and Python callables whose Java body returns a new
 * reference itself (what a {@code __arrow_c_array__} or {@code __dlpack__} must return: a capsule
 * Java made, with nothing left for Java to drop).
 *
 * <p>The {@code PyCapsule_*} functions are in the Stable ABI but not in the bindings: they are
 * looked up here, on first use (libpython is loaded by then). A capsule's destructor is one
 * upcall stub for all capsules; the capsule's context is an id into a table of Java
 * {@link Destructor}s, removed when it runs, so each destructor runs exactly once, under the
 * GIL (CPython calls it from the capsule's deallocation). Capsule names live forever (CPython
 * keeps the pointer), one native copy per distinct name.
 *
 * <p>Every method requires the GIL. Used by the {@code dev.panamapy.arrow} module (qualified
 * export), which keeps the bridge free of any Arrow dependency.
 */
public final class Capsules {
    private Capsules() { }

    /** What a capsule's deallocation runs in Java: under the GIL, exactly once, exceptions logged. */
    @FunctionalInterface
    public interface Destructor {
        /**
         * @param capsule the capsule being freed (borrowed; its name may have been changed by a
         *                consumer, e.g. DLPack's {@code used_dltensor})
         * @param name    the capsule's name now (null if none)
         * @param pointer the capsule's pointer
         */
        void destroy(long capsule, String name, long pointer) throws Exception;
    }

    /** The Java body of a {@link #function raw function}: under the GIL, returns a new reference (0 with a Python error set is not allowed: throw instead). */
    @FunctionalInterface
    public interface RawFunction {
        /**
         * @param args the positional argument tuple (borrowed)
         * @return a new reference, which Python receives as the result
         * @throws Exception anything: it becomes a Python {@code panamapy.JavaException}
         */
        long apply(long args) throws Exception;
    }

    private static final ConcurrentHashMap<Long, Destructor> DESTRUCTORS = new ConcurrentHashMap<>();
    private static final ConcurrentHashMap<Long, RawFunction> FUNCTIONS = new ConcurrentHashMap<>();
    private static final ConcurrentHashMap<String, MemorySegment> NAMES = new ConcurrentHashMap<>();
    private static final ConcurrentHashMap<String, MemorySegment> DEFS = new ConcurrentHashMap<>();
    private static final AtomicLong NEXT = new AtomicLong(1);

    /** Capsules made by {@link #create} not yet destroyed, for leak checks. */
    public static int liveCapsules() { return DESTRUCTORS.size(); }

    /**
     * A new capsule (new reference) holding {@code pointer} under {@code name}, whose
     * deallocation runs {@code destructor} once. Requires the GIL.
     *
     * @throws dev.panamapy.PythonException if CPython cannot make it (the destructor is not run)
     */
    public static long create(long pointer, String name, Destructor destructor) {
        if (pointer == 0) throw new IllegalArgumentException("a capsule cannot hold a NULL pointer");
        long id = NEXT.getAndIncrement();
        DESTRUCTORS.put(id, destructor);
        try {
            long cap = (long) Native.NEW.invokeExact(pointer, name(name).address(), DESTRUCTOR.address());
            if (cap == 0) throw Errors.fetch(constants());
            if ((int) Native.SET_CONTEXT.invokeExact(cap, id) != 0) {
                DESTRUCTORS.remove(id);
                Py_DecRef(Mem.ptr(cap));                 // no context yet: the stub finds no destructor
                throw Errors.fetch(constants());
            }
            return cap;
        } catch (RuntimeException | Error e) {
            DESTRUCTORS.remove(id);
            throw e;
        } catch (Throwable t) {
            DESTRUCTORS.remove(id);
            throw new IllegalStateException("PyCapsule_New failed", t);
        }
    }

    /** Whether {@code obj} is a capsule named exactly {@code name}. Requires the GIL; never raises. */
    public static boolean isCapsule(long obj, String name) {
        try {
            return (int) Native.IS_VALID.invokeExact(obj, name(name).address()) != 0;
        } catch (Throwable t) {
            throw new IllegalStateException("PyCapsule_IsValid failed", t);
        }
    }

    /**
     * The pointer a capsule holds under {@code name}. Requires the GIL.
     *
     * @throws IllegalArgumentException if {@code obj} is not a capsule of that name (what it is, named); nothing pending
     */
    public static long pointer(long obj, String name) {
        if (!isCapsule(obj, name)) {
            throw new IllegalArgumentException("expected a PyCapsule named '" + name + "', got " + describe(obj));
        }
        try {
            long p = (long) Native.GET_POINTER.invokeExact(obj, name(name).address());
            if (p == 0) throw Errors.fetch(constants());
            return p;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("PyCapsule_GetPointer failed", t);
        }
    }

    /** Renames a capsule (e.g. DLPack's {@code used_dltensor} once consumed). Requires the GIL. */
    public static void rename(long capsule, String name) {
        try {
            if ((int) Native.SET_NAME.invokeExact(capsule, name(name).address()) != 0) throw Errors.fetch(constants());
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("PyCapsule_SetName failed", t);
        }
    }

    /**
     * A Python callable (new reference) named {@code name} whose body is {@code fn}; arguments
     * are passed as the raw tuple and the result is the new reference {@code fn} returns. Such
     * callables live until CPython finalizes (their table entry is never removed): make a few, once.
     * Requires the GIL.
     */
    public static long function(String name, RawFunction fn) {
        long id = NEXT.getAndIncrement();
        FUNCTIONS.put(id, fn);
        MemorySegment def = DEFS.computeIfAbsent(name, n -> Functions.methodDef(n, CALL));
        try {
            return Functions.cFunction(constants(), def, id);
        } catch (RuntimeException e) {
            FUNCTIONS.remove(id);
            throw e;
        }
    }

    private static MemorySegment name(String name) {
        return NAMES.computeIfAbsent(name, n -> Arena.global().allocateFrom(n));
    }

    /** "a list", "a PyCapsule named 'x'": what an object is, for error messages. */
    private static String describe(long obj) {
        String type = Mem.cString(Mem.getLong(Convert.typeOf(obj) + TP_NAME_OFFSET));
        return "a " + type + ("PyCapsule".equals(type) ? " named '" + nameOf(obj) + "'" : "");
    }

    /** Offset of tp_name in PyTypeObject: after the PyVarObject header (refcount, type, size). */
    private static final long TP_NAME_OFFSET = 24;

    private static String nameOf(long capsule) {
        try {
            long n = (long) Native.GET_NAME.invokeExact(capsule);
            if (n == 0) { PyErr_Clear(); return null; }
            return Mem.cString(n);
        } catch (Throwable t) {
            PyErr_Clear();
            return null;
        }
    }

    private static Constants constants() { return Upcalls.c; }

    // ---- upcalls ------------------------------------------------------------------------------

    // void destructor(PyObject *capsule)
    private static void destructor(long capsule) {
        CallState d = null;
        try {
            d = Interpreter.upcallEnter();
            long id = (long) Native.GET_CONTEXT.invokeExact(capsule);
            Destructor fn = id == 0 ? null : DESTRUCTORS.remove(id);
            if (fn == null) { PyErr_Clear(); return; }
            long n = (long) Native.GET_NAME.invokeExact(capsule);
            long pointer = (long) Native.GET_POINTER.invokeExact(capsule, n);
            if (pointer == 0) PyErr_Clear();
            String name = n == 0 ? null : Mem.cString(n);
            fn.destroy(capsule, name, pointer);
        } catch (Throwable t) {
            try {
                PyErr_Clear();
                UpcallBarrier.voidFailure("PyCapsule destructor", t);
            } catch (Throwable ignored) {
                // never let it escape
            }
        } finally {
            if (d != null) d.depth--;
        }
    }

    // PyObject *fn(PyObject *self, PyObject *args)  (METH_VARARGS)
    private static long call(long self, long args) {
        CallState d = null;
        try {
            d = Interpreter.upcallEnter();
            long id = PyLong_AsLongLong(Mem.ptr(self));
            RawFunction fn = FUNCTIONS.get(id);
            if (fn == null) throw new IllegalStateException("Java function #" + id + " is gone");
            Interpreter in = Interpreter.running();
            if (in == null || in.refusesJavaFunctions()) {
                throw new IllegalStateException("CPython is finalizing: Java functions can no longer be called");
            }
            d.javaFunctions++;
            try {
                long r = fn.apply(args);
                if (r == 0) throw new IllegalStateException("a Java function returned NULL");
                return r;
            } finally {
                d.javaFunctions--;
            }
        } catch (Throwable t) {
            try {
                return UpcallBarrier.functionFailure(Upcalls.c, t);
            } catch (Throwable again) {
                return 0;
            }
        } finally {
            if (d != null) d.depth--;
        }
    }

    private static final MemorySegment DESTRUCTOR = upcallStub(MethodHandles.lookup(), "destructor", FunctionDescriptor.ofVoid(JAVA_LONG));
    private static final MemorySegment CALL = upcallStub(MethodHandles.lookup(), "call", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG));

    /**
     * An upcall stub, living forever, for the static method {@code method} of the lookup's class
     * (which must catch everything: nothing may be thrown back into C). For static initializers.
     *
     * @throws ExceptionInInitializerError if there is no such method
     */
    public static MemorySegment upcallStub(MethodHandles.Lookup lookup, String method, FunctionDescriptor fd) {
        try {
            var mh = lookup.findStatic(lookup.lookupClass(), method, fd.toMethodType());
            return Linker.nativeLinker().upcallStub(mh, fd, Arena.global());
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Stable ABI capsule functions the bindings do not bind; pointers as long. */
    private static final class Native {
        static final MethodHandle NEW = find("PyCapsule_New", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
        static final MethodHandle GET_POINTER = find("PyCapsule_GetPointer", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG));
        static final MethodHandle GET_NAME = find("PyCapsule_GetName", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG));
        static final MethodHandle SET_NAME = find("PyCapsule_SetName", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
        static final MethodHandle GET_CONTEXT = find("PyCapsule_GetContext", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG));
        static final MethodHandle SET_CONTEXT = find("PyCapsule_SetContext", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
        static final MethodHandle IS_VALID = find("PyCapsule_IsValid", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));

        private static MethodHandle find(String name, FunctionDescriptor fd) {
            return Linker.nativeLinker().downcallHandle(SymbolLookup.loaderLookup().findOrThrow(name), fd);
        }
    }
}
