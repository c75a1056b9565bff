package dev.panamapy.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.panamapy.bindings.Python_h.*;

/**
 * The C-API calls behind {@code PyObject}'s methods (CPython's abstract object protocol):
 * attributes, calls, items, length, repr, str and the type's name. Each takes borrowed
 * addresses, converts Java values with {@link Convert}, returns a new reference (the caller
 * owns it) or a Java value, and throws the pending Python error as a
 * {@link dev.panamapy.PythonException}; none leaves an error pending or a reference behind on
 * any path. All require the GIL.
 */
public final class ObjectProtocol {
    private ObjectProtocol() { }

    /** {@code getattr(self, name)}, a new reference. */
    public static long getAttr(Constants c, long self, String name) {
        return get(c, self, name, true);
    }

    /** {@code setattr(self, name, value)}; on failure nothing is set and no reference kept. */
    public static void setAttr(Constants c, long self, String name, Object value) {
        set(c, self, name, value, true);
    }

    /** {@code hasattr(self, name)}: false also when the lookup raises (the error is cleared). */
    public static boolean hasAttr(Constants c, long self, String name) {
        long n = Text.toPython(c, name);
        try {
            MemorySegment r = PyObject_GetAttr(Mem.ptr(self), Mem.ptr(n));
            if (r.address() == 0) {
                PyErr_Clear();
                return false;
            }
            Py_DecRef(r);
            return true;
        } finally {
            Py_DecRef(Mem.ptr(n));
        }
    }

    /** {@code self(*args)}, a new reference; an argument that cannot be converted calls nothing. */
    public static long call(Constants c, long self, Object[] args) {
        long tuple = Convert.tuple(c, args);
        try {
            return Errors.check(c, PyObject_Call(Mem.ptr(self), Mem.ptr(tuple), MemorySegment.NULL));
        } finally {
            Py_DecRef(Mem.ptr(tuple));
        }
    }

    /** {@code self(*args)} converted by {@code rule}, in the same GIL hold; the result's reference is dropped. */
    public static Object callAs(Interpreter interp, long self, Convert.Rule rule, Object[] args) {
        long r = call(interp.c, self, args);
        try {
            return Convert.toJava(interp, r, rule);
        } finally {
            Py_DecRef(Mem.ptr(r));
        }
    }

    /** {@code self[key]}, a new reference. */
    public static long getItem(Constants c, long self, Object key) {
        return get(c, self, key, false);
    }

    /** {@code self[key] = value}; on failure nothing is set and no reference kept. */
    public static void setItem(Constants c, long self, Object key, Object value) {
        set(c, self, key, value, false);
    }

    /** An attribute (a str key, checked by the caller) or an item, a new reference. */
    private static long get(Constants c, long self, Object key, boolean attribute) {
        long k = Convert.toPython(c, key);
        try {
            return Errors.check(c, attribute ? PyObject_GetAttr(Mem.ptr(self), Mem.ptr(k))
                    : PyObject_GetItem(Mem.ptr(self), Mem.ptr(k)));
        } finally {
            Py_DecRef(Mem.ptr(k));
        }
    }

    /** Sets an attribute or an item; on failure nothing is set and no reference kept. */
    private static void set(Constants c, long self, Object key, Object value, boolean attribute) {
        long k = Convert.toPython(c, key);
        try {
            long v = Convert.toPython(c, value);
            int rc = attribute ? PyObject_SetAttr(Mem.ptr(self), Mem.ptr(k), Mem.ptr(v))
                    : PyObject_SetItem(Mem.ptr(self), Mem.ptr(k), Mem.ptr(v));
            Py_DecRef(Mem.ptr(v));
            Errors.checkInt(c, rc);
        } finally {
            Py_DecRef(Mem.ptr(k));
        }
    }

    /** {@code len(self)}. */
    public static long length(Constants c, long self) {
        long n = PyObject_Size(Mem.ptr(self));
        if (n < 0) throw Errors.fetch(c);
        return n;
    }

    /** {@code repr(self)}, exactly (see {@link Text}). */
    public static String repr(Constants c, long self) {
        MemorySegment r = PyObject_Repr(Mem.ptr(self));
        Errors.check(c, r);
        try { return Text.toJava(c, r); } finally { Py_DecRef(r); }
    }

    /** {@code str(self)}, exactly (see {@link Text}). */
    public static String str(Constants c, long self) {
        MemorySegment s = PyObject_Str(Mem.ptr(self));
        Errors.check(c, s);
        try { return Text.toJava(c, s); } finally { Py_DecRef(s); }
    }

    /** A new reference to a borrowed object. */
    public static long newReference(long obj) {
        Refcount.increfAny(obj);
        return obj;
    }

    /** The name of the object's type, {@code module.qualname} ({@code qualname} for builtins); never raises. */
    public static String typeName(long self) {
        MemorySegment t = PyObject_Type(Mem.ptr(self));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment mod = PyObject_GetAttrString(t, a.allocateFrom("__module__"));
            MemorySegment name = PyObject_GetAttrString(t, a.allocateFrom("__qualname__"));
            String m = mod.address() == 0 ? null : Errors.str(mod);
            String n = name.address() == 0 ? null : Errors.str(name);
            if (n == null) n = "?";
            if (mod.address() != 0) Py_DecRef(mod);
            if (name.address() != 0) Py_DecRef(name);
            PyErr_Clear();
            return m == null || m.equals("builtins") ? n : m + "." + n;
        } finally {
            Py_DecRef(t);
        }
    }
}
