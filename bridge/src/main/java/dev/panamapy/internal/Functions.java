package dev.panamapy.internal;

import dev.panamapy.JavaFunction;
import dev.panamapy.bindings.PyMethodDef;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import static dev.panamapy.bindings.Python_h.*;

/**
 * Java functions as Python callables: a {@code PyCFunction} (METH_VARARGS) whose C function is
 * the {@link Upcalls#callFunction} stub and whose {@code self} is a Python int naming the Java
 * function in a table. A {@code weakref.finalize} on the function object removes the table
 * entry when Python frees the function, so short-lived functions do not accumulate.
 */
public final class Functions {
    private Functions() { }

    private record Entry(Interpreter interp, String name, JavaFunction fn) { }

    private static final ConcurrentHashMap<Long, Entry> TABLE = new ConcurrentHashMap<>();
    private static final AtomicLong NEXT = new AtomicLong(1);
    /** One method def per name, never freed: a function object points at its def until it dies. */
    private static final ConcurrentHashMap<String, MemorySegment> DEFS = new ConcurrentHashMap<>();

    private static long finalize;     // weakref.finalize, owned; guarded by the GIL
    private static long forget;       // the Java function that removes a table entry, owned; guarded by the GIL

    /** Live Java functions (table entries), for leak checks. */
    public static int liveFunctions() { return TABLE.size(); }

    /** Whether this thread is inside a Java function called from Python. */
    static boolean inJavaFunction() { return CallState.current().javaFunctions > 0; }

    /** A new reference to a Python callable backed by fn. Requires the GIL. */
    public static long create(Interpreter interp, String name, JavaFunction fn) {
        long id = NEXT.getAndIncrement();
        long f = newFunction(interp, id, name, fn);
        forgetWhenFreed(interp, f, id);
        return f;
    }

    private static long newFunction(Interpreter interp, long id, String name, JavaFunction fn) {
        TABLE.put(id, new Entry(interp, name, fn));
        MemorySegment def = DEFS.computeIfAbsent(name, n -> methodDef(n, Upcalls.CALL_FUNCTION));
        try {
            return cFunction(interp.c, def, id);
        } catch (RuntimeException e) {
            TABLE.remove(id);
            throw e;
        }
    }

    /** A new PyCFunction of {@code def} whose {@code self} is the Python int {@code id}. Requires the GIL. */
    static long cFunction(Constants c, MemorySegment def, long id) {
        MemorySegment self = PyLong_FromLongLong(id);
        try {
            return Errors.check(c, PyCFunction_NewEx(def, self, MemorySegment.NULL));
        } finally {
            Py_DecRef(self);
        }
    }

    /** A METH_VARARGS method def named {@code name} calling the stub {@code fn}; lives forever. */
    static MemorySegment methodDef(String name, MemorySegment fn) {
        Arena forever = Arena.global();
        MemorySegment def = PyMethodDef.allocate(forever);
        PyMethodDef.ml_name(def, forever.allocateFrom(name));
        PyMethodDef.ml_meth(def, fn);
        PyMethodDef.ml_flags(def, METH_VARARGS());
        PyMethodDef.ml_doc(def, forever.allocateFrom("Java function (panamapy)"));
        return def;
    }

    /** weakref.finalize(f, forget, id), with atexit off; on any failure the entry simply stays. */
    private static void forgetWhenFreed(Interpreter interp, long f, long id) {
        try (Arena a = Arena.ofConfined()) {
            if (finalize == 0) {
                MemorySegment weakref = PyImport_ImportModule(a.allocateFrom("weakref"));
                if (weakref.address() == 0) { PyErr_Clear(); return; }
                finalize = PyObject_GetAttrString(weakref, a.allocateFrom("finalize")).address();
                Py_DecRef(weakref);
                if (finalize == 0) { PyErr_Clear(); return; }
                forget = newFunction(interp, NEXT.getAndIncrement(), "_panamapy_forget", args -> {
                    TABLE.remove((Long) args[0]);
                    return null;
                });
            }
            MemorySegment args = PyTuple_New(3);
            Py_IncRef(Mem.ptr(f));
            PyTuple_SetItem(args, 0, Mem.ptr(f));
            Py_IncRef(Mem.ptr(forget));
            PyTuple_SetItem(args, 1, Mem.ptr(forget));
            PyTuple_SetItem(args, 2, PyLong_FromLongLong(id));
            MemorySegment fin = PyObject_CallObject(Mem.ptr(finalize), args);
            Py_DecRef(args);
            if (fin.address() == 0) { PyErr_Clear(); return; }
            // not at interpreter exit: Java functions need not be called while CPython finalizes
            PyObject_SetAttrString(fin, a.allocateFrom("atexit"), Mem.ptr(interp.c.falseObj));
            PyErr_Clear();
            Py_DecRef(fin);
        }
    }

    /**
     * The body of every Java callable; runs under the GIL, on the thread whose call state is
     * given (from {@link Interpreter#upcallEnter()}). Returns a new reference.
     */
    static long call(Constants c, CallState state, long self, long args) throws Exception {
        long id = PyLong_AsLongLong(Mem.ptr(self));
        Entry e = TABLE.get(id);
        if (e == null) throw new IllegalStateException("Java function #" + id + " is gone");
        Interpreter interp = e.interp;
        if (interp.refusesJavaFunctions()) throw new IllegalStateException("CPython is finalizing: Java functions can no longer be called");
        int n = (int) PyTuple_Size(Mem.ptr(args));
        Object[] jargs = new Object[n];
        AutoCloseable[] owned = null;
        Object notPlain = JavaFunction.class;        // any object no conversion returns
        int scopes = Interpreter.openScopes(state);
        long result = 0;
        Throwable failed = null;
        state.javaFunctions++;
        try {
            for (int i = 0; i < n; i++) {
                long item = PyTuple_GetItem(Mem.ptr(args), i).address();   // borrowed
                Object v = Convert.toJavaOrNull(c, item, notPlain);
                if (v == notPlain) {
                    if (owned == null) owned = new AutoCloseable[n];
                    Py_IncRef(Mem.ptr(item));
                    try {
                        owned[i] = Handles.wrap(interp, item);
                    } catch (RuntimeException | Error wrapFailed) {
                        Py_DecRef(Mem.ptr(item));       // not owned by anything: give it back
                        throw wrapFailed;
                    }
                    v = owned[i];
                }
                jargs[i] = v;
            }
            result = Convert.toPython(c, e.fn.apply(jargs));
            return result;
        } catch (Throwable t) {
            failed = t;
            throw t;
        } finally {
            state.javaFunctions--;
            try {
                if (owned != null) for (AutoCloseable o : owned) if (o != null) o.close();
            } finally {
                // a py.gil() scope the function left open would keep this thread's outermost call
                // counted for good (close() would wait forever): closed here, and the call fails
                int left;
                try {
                    left = Interpreter.closeScopesFrom(state, scopes, failed);
                } catch (Throwable t) {
                    if (failed == null && result != 0) Py_DecRef(Mem.ptr(result));
                    throw t;
                }
                if (left > 0 && failed == null) {
                    if (result != 0) Py_DecRef(Mem.ptr(result));
                    throw new IllegalStateException("Java function '" + e.name + "' returned with " + left + " py.gil() "
                            + "scope(s) it opened still open; they were closed (close a scope before the function "
                            + "returns: try-with-resources does)");
                }
            }
        }
    }
}
