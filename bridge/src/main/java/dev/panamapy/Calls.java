package dev.panamapy;

import dev.panamapy.internal.Constants;
import dev.panamapy.internal.Convert;
import dev.panamapy.internal.Errors;
import dev.panamapy.internal.Interpreter;
import dev.panamapy.internal.Mem;
import dev.panamapy.internal.Text;

import java.lang.foreign.MemorySegment;

import static dev.panamapy.bindings.Python_h.*;

/** Argument tuples for calls into Python, and results as Java values. Requires the GIL. */
final class Calls {
    private Calls() { }

    /** A new tuple of the converted arguments; on a conversion error nothing leaks and nothing is called. */
    static MemorySegment tuple(Interpreter interp, Object[] args) {
        int n = args == null ? 0 : args.length;
        MemorySegment t = PyTuple_New(n);
        if (t.address() == 0) throw dev.panamapy.internal.Errors.fetch(interp.c);
        try {
            for (int i = 0; i < n; i++) {
                long v = Convert.toPython(interp.c, args[i]);
                PyTuple_SetItem(t, i, Mem.ptr(v));      // steals v
            }
        } catch (RuntimeException e) {
            Py_DecRef(t);
            throw e;
        }
        return t;
    }

    private static final java.util.Set<Class<?>> CONVERTIBLE = java.util.Set.of(Long.class, long.class, Double.class,
            double.class, Boolean.class, boolean.class, String.class, byte[].class, Object.class);

    /** Refuses, before anything is called, a type {@link #toJava} cannot convert to. */
    static void requireConvertible(Class<?> type) {
        if (!CONVERTIBLE.contains(java.util.Objects.requireNonNull(type, "type"))) {
            throw new IllegalArgumentException("callAs converts to Long, Double, Boolean, String, byte[] or Object, not "
                    + type.getName());
        }
    }

    /** A borrowed Python object as the Java type asked for (see {@link PyObject#callAs}). */
    static Object toJava(Interpreter interp, long obj, Class<?> type) {
        Constants c = interp.c;
        if (type == Long.class || type == long.class) {
            long v = PyLong_AsLongLong(Mem.ptr(obj));
            if (v == -1) Errors.checkPending(c);
            return v;
        }
        if (type == Double.class || type == double.class) {
            double v = PyFloat_AsDouble(Mem.ptr(obj));
            if (v == -1.0) Errors.checkPending(c);
            return v;
        }
        if (type == Boolean.class || type == boolean.class) {
            int v = PyObject_IsTrue(Mem.ptr(obj));
            Errors.checkInt(c, v);
            return v == 1;
        }
        if (type == String.class) {
            if (Convert.typeOf(obj) != c.strType && PyType_IsSubtype(Mem.ptr(Convert.typeOf(obj)), Mem.ptr(c.strType)) == 0) {
                throw new ClassCastException("the result is not a str");
            }
            return Text.toJava(c, Mem.ptr(obj));
        }
        if (type == byte[].class) {
            if (Convert.typeOf(obj) != c.bytesType) throw new ClassCastException("the result is not bytes");
            return Convert.bytes(c, Mem.ptr(obj));
        }
        if (type == Object.class) {
            Object notPlain = Calls.class;
            Object v = Convert.toJavaOrNull(c, obj, notPlain);
            if (v != notPlain) return v;
            Py_IncRef(Mem.ptr(obj));
            return new PyObject(interp, obj);
        }
        throw new IllegalArgumentException("callAs converts to Long, Double, Boolean, String, byte[] or Object, not "
                + type.getName());
    }
}
