package dev.panamapy.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.panamapy.bindings.Python_h.*;

/**
 * Converts values between Java and Python. Java to Python: null, Boolean, Integer, Long,
 * Short, Byte, Double, Float, String, byte[] (copied into bytes) and objects that already are
 * Python objects ({@link Handle}). Python to Java (for arguments of Java functions): None,
 * bool, int, float, str and bytes by exact type; anything else stays a Python object. Strings
 * follow {@link Text}'s rules both ways.
 *
 * <p>All methods require the GIL.
 */
public final class Convert {
    private Convert() { }

    /** Something that is a Python object: gives a borrowed pointer valid while the caller holds it. */
    public interface Handle {
        long pyAddress();
    }

    /** A new reference to the Python equivalent of a Java value. */
    public static long toPython(Constants c, Object v) {
        if (v == null) { Py_IncRef(Mem.ptr(c.none)); return c.none; }
        if (v instanceof Handle h) {
            long p = h.pyAddress();
            Py_IncRef(Mem.ptr(p));
            return p;
        }
        MemorySegment r;
        if (v instanceof Boolean b) {
            long p = b ? c.trueObj : c.falseObj;
            Py_IncRef(Mem.ptr(p));
            return p;
        } else if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
            r = PyLong_FromLongLong(((Number) v).longValue());
        } else if (v instanceof Double || v instanceof Float) {
            r = PyFloat_FromDouble(((Number) v).doubleValue());
        } else if (v instanceof String s) {
            return Text.toPython(c, s);                  // lone surrogates and NUL kept exactly
        } else if (v instanceof byte[] bytes) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment buf = a.allocate(Math.max(1, bytes.length));
                MemorySegment.copy(bytes, 0, buf, ValueLayout.JAVA_BYTE, 0, bytes.length);
                r = PyBytes_FromStringAndSize(buf, bytes.length);
            }
        } else {
            throw new IllegalArgumentException("cannot pass a " + v.getClass().getName() + " to Python: supported are null, "
                    + "Boolean, Integer, Long, Short, Byte, Double, Float, String, byte[] (copied), PyObject and JavaBuffer");
        }
        return Errors.check(c, r);
    }

    /**
     * The Java value of a Python object for a Java function's argument: Boolean, Long, Double,
     * String, byte[] or null; or 0 meaning "not a plain value" (the caller wraps it).
     */
    public static Object toJavaOrNull(Constants c, long obj, Object notPlain) {
        if (obj == c.none) return null;
        long t = typeOf(obj);
        if (t == c.boolType) return obj == c.trueObj;
        if (t == c.intType) {
            long v = PyLong_AsLongLong(Mem.ptr(obj));
            if (v == -1 && PyErr_Occurred().address() != 0) {
                PyErr_Clear();              // too large for a long: keep it a Python int
                return notPlain;
            }
            return v;
        }
        if (t == c.floatType) return PyFloat_AsDouble(Mem.ptr(obj));
        if (t == c.strType) return Text.toJava(c, Mem.ptr(obj));
        if (t == c.bytesType) return bytes(c, Mem.ptr(obj));
        return notPlain;
    }

    private static final long OB_TYPE = dev.panamapy.bindings._object.layout()
            .byteOffset(java.lang.foreign.MemoryLayout.PathElement.groupElement("ob_type"));

    /** {@code Py_TYPE(obj)}, read from the object header (a borrowed pointer). */
    public static long typeOf(long obj) { return Mem.getLong(obj + OB_TYPE); }

    /** A copy of a Python bytes object's contents. */
    public static byte[] bytes(Constants c, MemorySegment bytesObj) {
        long n = PyBytes_Size(bytesObj);
        if (n < 0) throw Errors.fetch(c);
        MemorySegment p = PyBytes_AsString(bytesObj);
        if (p.address() == 0) throw Errors.fetch(c);
        return p.reinterpret(n).toArray(ValueLayout.JAVA_BYTE);
    }
}
