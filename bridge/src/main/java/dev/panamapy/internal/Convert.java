package dev.panamapy.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static dev.panamapy.bindings.Python_h.*;

/**
 * The one conversion between Java values and Python objects, used by {@code PyObject.call}'s
 * arguments (and every other Java value passed to Python), by {@code callAs}, by
 * {@code PyObject.as*} and by the arguments and results of Java functions called from Python.
 *
 * <p>Java to Python ({@link #toPython}): null, Boolean, Integer, Long, Short, Byte, Double,
 * Float, String, byte[] (copied into bytes), and the public package's Python objects
 * ({@code PyObject}, {@code JavaBuffer}, through {@link Handles}) as themselves.
 *
 * <p>Python to Java: by a named {@link Rule}, one per Java type asked for, so that the same
 * question gets the same answer wherever it is asked. Strings follow {@link Text}'s rules both
 * ways. All methods require the GIL and take borrowed references.
 */
public final class Convert {
    private Convert() { }

    /** How a Python object becomes a Java value; each rule says what it accepts and who uses it. */
    public enum Rule {
        /**
         * {@code Object}: None, bool, int (if it fits a long), float, str and bytes of exactly
         * these types as null, Boolean, Long, Double, String and byte[]; anything else, their
         * subclasses included, stays a Python object. Java function arguments, {@code callAs(Object.class)}.
         */
        PLAIN,
        /** {@code long}: an int or anything with {@code __index__} ({@code PyLong_AsLongLong}); OverflowError beyond a long. */
        INDEX,
        /** {@code double}: a float or anything with {@code __float__} or {@code __index__} ({@code PyFloat_AsDouble}). */
        FLOAT,
        /** {@code boolean}: truthiness, {@code bool(obj)}. */
        TRUTH,
        /** {@code String}: a str or an instance of a str subclass, exactly; anything else a ClassCastException. */
        STR,
        /**
         * {@code byte[]}: a copy of a bytes or an instance of a bytes subclass; anything else
         * (bytearray, memoryview: mutable, read them through a buffer view) a ClassCastException.
         */
        BYTES;

        /**
         * The rule for a Java type {@code callAs} converts to.
         *
         * @throws IllegalArgumentException for a type no rule converts to
         * @throws NullPointerException     for null
         */
        public static Rule forType(Class<?> type) {
            java.util.Objects.requireNonNull(type, "type");
            if (type == Long.class || type == long.class) return INDEX;
            if (type == Double.class || type == double.class) return FLOAT;
            if (type == Boolean.class || type == boolean.class) return TRUTH;
            if (type == String.class) return STR;
            if (type == byte[].class) return BYTES;
            if (type == Object.class) return PLAIN;
            throw new IllegalArgumentException("callAs converts to Long, Double, Boolean, String, byte[] or Object, not "
                    + type.getName());
        }
    }

    // ---- Java to Python -------------------------------------------------------------------------

    /**
     * A new reference to the Python equivalent of a Java value.
     *
     * @throws IllegalArgumentException for a value of another type (nothing is made)
     * @throws IllegalStateException    for a closed {@code PyObject}
     */
    public static long toPython(Constants c, Object v) {
        if (v == null) { Py_IncRef(Mem.ptr(c.none)); return c.none; }
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
            long p = Handles.address(v);                 // a PyObject or JavaBuffer: itself
            if (p == 0) {
                throw new IllegalArgumentException("cannot pass a " + v.getClass().getName() + " to Python: supported are "
                        + "null, Boolean, Integer, Long, Short, Byte, Double, Float, String, byte[] (copied), PyObject "
                        + "and JavaBuffer");
            }
            Py_IncRef(Mem.ptr(p));
            return p;
        }
        return Errors.check(c, r);
    }

    /**
     * A new tuple of the converted arguments (none for null); on a conversion error nothing
     * leaks and the exception is thrown.
     */
    public static long tuple(Constants c, Object[] args) {
        int n = args == null ? 0 : args.length;
        long t = Errors.check(c, PyTuple_New(n));
        try {
            for (int i = 0; i < n; i++) {
                long v = toPython(c, args[i]);
                PyTuple_SetItem(Mem.ptr(t), i, Mem.ptr(v));      // steals v
            }
        } catch (RuntimeException e) {
            Py_DecRef(Mem.ptr(t));
            throw e;
        }
        return t;
    }

    // ---- Python to Java, by rule ----------------------------------------------------------------

    /**
     * A Python object as the Java value its rule gives; under {@link Rule#PLAIN} anything not
     * plain becomes a new {@code PyObject} the caller owns.
     *
     * @throws dev.panamapy.PythonException if Python raises converting it (OverflowError, TypeError ...)
     * @throws ClassCastException           if the rule does not accept the object's type
     */
    public static Object toJava(Interpreter interp, long obj, Rule rule) {
        Constants c = interp.c;
        return switch (rule) {
            case INDEX -> toLong(c, obj);
            case FLOAT -> toDouble(c, obj);
            case TRUTH -> toBoolean(c, obj);
            case STR -> toStr(c, obj);
            case BYTES -> toBytes(c, obj);
            case PLAIN -> {
                Object notPlain = Rule.PLAIN;
                Object v = toJavaOrNull(c, obj, notPlain);
                if (v != notPlain) yield v;
                Py_IncRef(Mem.ptr(obj));
                yield Handles.wrap(interp, obj);
            }
        };
    }

    /** {@link Rule#INDEX}. */
    public static long toLong(Constants c, long obj) {
        long v = PyLong_AsLongLong(Mem.ptr(obj));
        if (v == -1) Errors.checkPending(c);
        return v;
    }

    /** {@link Rule#FLOAT}. */
    public static double toDouble(Constants c, long obj) {
        double v = PyFloat_AsDouble(Mem.ptr(obj));
        if (v == -1.0) Errors.checkPending(c);
        return v;
    }

    /** {@link Rule#TRUTH}. */
    public static boolean toBoolean(Constants c, long obj) {
        int v = PyObject_IsTrue(Mem.ptr(obj));
        Errors.checkInt(c, v);
        return v == 1;
    }

    /** {@link Rule#STR}. */
    public static String toStr(Constants c, long obj) {
        if (!isInstance(obj, c.strType)) {
            throw new ClassCastException("Python object of type '" + ObjectProtocol.typeName(obj) + "' is not a str; "
                    + "use toString() for str(obj)");
        }
        return Text.toJava(c, Mem.ptr(obj));
    }

    /** {@link Rule#BYTES}. */
    public static byte[] toBytes(Constants c, long obj) {
        if (!isInstance(obj, c.bytesType)) {
            throw new ClassCastException("Python object of type '" + ObjectProtocol.typeName(obj) + "' is not bytes");
        }
        return bytes(c, Mem.ptr(obj));
    }

    /**
     * {@link Rule#PLAIN}: the Java value of a plain Python object (Boolean, Long, Double,
     * String, byte[] or null), or {@code notPlain} meaning "keep it a Python object".
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

    static final long OB_TYPE = dev.panamapy.bindings._object.layout()
            .byteOffset(java.lang.foreign.MemoryLayout.PathElement.groupElement("ob_type"));

    /** {@code Py_TYPE(obj)}, read from the object header (a borrowed pointer). */
    public static long typeOf(long obj) { return Mem.getLong(obj + OB_TYPE); }

    /** {@code isinstance(obj, type)} by the type's MRO, without calling Python code. */
    private static boolean isInstance(long obj, long type) {
        long t = typeOf(obj);
        return t == type || PyType_IsSubtype(Mem.ptr(t), Mem.ptr(type)) != 0;
    }

    /** A copy of a Python bytes object's contents. */
    public static byte[] bytes(Constants c, MemorySegment bytesObj) {
        long n = PyBytes_Size(bytesObj);
        if (n < 0) throw Errors.fetch(c);
        MemorySegment p = PyBytes_AsString(bytesObj);
        if (p.address() == 0) throw Errors.fetch(c);
        return p.reinterpret(n).toArray(ValueLayout.JAVA_BYTE);
    }
}
