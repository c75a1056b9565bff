package dev.panamapy;

import dev.panamapy.internal.Convert;
import dev.panamapy.internal.Errors;
import dev.panamapy.internal.Interpreter;
import dev.panamapy.internal.Mem;
import dev.panamapy.internal.Ownership;
import dev.panamapy.internal.Text;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.panamapy.bindings.Python_h.*;

/**
 * A Python object, seen from Java. Each {@code PyObject} owns exactly one strong reference to
 * its object: every method that returns a {@code PyObject} hands the caller a new one, which
 * the caller owns and should {@link #close()}. {@code close()} drops the reference (idempotent);
 * one that is never closed is dropped after it becomes unreachable, by a Cleaner that takes the
 * GIL (set {@code -Dpanamapy.leakDetection=true} to log where such objects were created).
 * A reference dropped by a thread that does not hold the GIL is decremented by the next call
 * into Python from any thread (or at {@link CPython#close()}), so dropping never waits for the
 * GIL; inside {@link CPython#gil()} or a Java function it is decremented at once.
 *
 * <p>Any platform thread may use a {@code PyObject} at any time: each call takes the GIL for its
 * duration. On a virtual thread every method that runs Python throws
 * {@link UnsupportedOperationException} before doing anything (see {@link CPython}); {@link #close()}
 * works on any thread. Closing a {@code PyObject} while another thread still uses it is a bug in
 * the caller. After {@link CPython#close()} every method throws {@link IllegalStateException}.
 *
 * <p><b>Strings</b> cross exactly both ways: a Python str arrives as the Java string of the same
 * UTF-16 code units, lone surrogates included (a file name decoded with {@code surrogateescape}),
 * and a Java string becomes the Python str of the same code points; NUL inside a value is kept.
 * A name (attribute, global, module, function) or source code containing NUL is refused with
 * {@link IllegalArgumentException} before anything reaches Python. No method returns null for a
 * str or leaves a Python error pending for the next call.
 */
public final class PyObject implements AutoCloseable, Convert.Handle {

    final Interpreter interp;
    private final Ownership.Ref ref;

    PyObject(Interpreter interp, long newReference) {
        this.interp = interp;
        this.ref = Ownership.own(this, interp, newReference);
    }

    /** Wraps a new reference (or throws the pending Python exception if it is NULL). */
    static PyObject own(Interpreter interp, MemorySegment newReference) {
        return new PyObject(interp, Errors.check(interp.c, newReference));
    }

    @Override
    public long pyAddress() {
        long a = ref.address();
        if (a == 0) throw new IllegalStateException("this PyObject is closed");
        return a;
    }

    MemorySegment ptr() { return Mem.ptr(pyAddress()); }

    /**
     * {@code getattr(obj, name)}, a new object the caller owns. Takes the GIL for the call.
     *
     * @throws PythonException          (AttributeError ...) if Python raises
     * @throws IllegalArgumentException if the name contains NUL (nothing reaches Python)
     * @throws IllegalStateException    if this PyObject or CPython is closed
     */
    public PyObject getAttr(String name) {
        Text.requireName("attribute name", name);
        int g = interp.enter();
        try {
            MemorySegment self = ptr();
            long n = Text.toPython(interp.c, name);
            try {
                return own(interp, PyObject_GetAttr(self, Mem.ptr(n)));
            } finally {
                Py_DecRef(Mem.ptr(n));
            }
        } finally {
            interp.exit(g);
        }
    }

    /**
     * {@code setattr(obj, name, value)}, value converted as by {@link #call}. Takes the GIL for
     * the call. On any failure nothing is set and no reference is kept.
     *
     * @throws PythonException          if Python raises
     * @throws IllegalArgumentException if the name contains NUL or the value cannot be converted
     * @throws IllegalStateException    if this PyObject, a PyObject value or CPython is closed
     */
    public void setAttr(String name, Object value) {
        Text.requireName("attribute name", name);
        int g = interp.enter();
        try {
            MemorySegment self = ptr();                     // a closed receiver takes no reference
            long v = Convert.toPython(interp.c, value);
            try {
                long n = Text.toPython(interp.c, name);
                int rc = PyObject_SetAttr(self, Mem.ptr(n), Mem.ptr(v));
                Py_DecRef(Mem.ptr(n));
                Errors.checkInt(interp.c, rc);
            } finally {
                Py_DecRef(Mem.ptr(v));
            }
        } finally {
            interp.exit(g);
        }
    }

    /**
     * Whether {@code hasattr(obj, name)}: false also when looking the attribute up raises
     * (the error is cleared). Takes the GIL for the call.
     *
     * @throws IllegalArgumentException if the name contains NUL (nothing reaches Python)
     * @throws IllegalStateException    if this PyObject or CPython is closed
     */
    public boolean hasAttr(String name) {
        Text.requireName("attribute name", name);
        int g = interp.enter();
        try {
            MemorySegment self = ptr();
            long n = Text.toPython(interp.c, name);
            try {
                MemorySegment r = PyObject_GetAttr(self, Mem.ptr(n));
                if (r.address() == 0) {
                    PyErr_Clear();
                    return false;
                }
                Py_DecRef(r);
                return true;
            } finally {
                Py_DecRef(Mem.ptr(n));
            }
        } finally {
            interp.exit(g);
        }
    }

    /**
     * Calls this object with positional arguments. Java arguments are converted: null to None,
     * Boolean, Integer/Long/Short/Byte to int, Double/Float to float, String to str, byte[] to
     * bytes (a copy), PyObject and JavaBuffer as themselves.
     *
     * @return the result, a new object the caller owns
     * @throws PythonException if the call raises
     * @throws IllegalArgumentException if an argument cannot be converted (nothing is called)
     */
    public PyObject call(Object... args) {
        int g = interp.enter();
        try {
            MemorySegment tuple = Calls.tuple(interp, args);
            try {
                return own(interp, PyObject_Call(ptr(), tuple, MemorySegment.NULL));
            } finally {
                Py_DecRef(tuple);
            }
        } finally {
            interp.exit(g);
        }
    }

    /**
     * Calls this object and converts the result to a Java value in the same GIL hold, without
     * a {@code PyObject} in between: {@code Long.class} (a Python int, or anything with
     * {@code __index__}), {@code Double.class} (float, or anything with {@code __float__}),
     * {@code String.class} (a str), {@code Boolean.class} (truthiness), {@code byte[].class}
     * (a copy of bytes), or {@code Object.class} (None, bool, int, float, str, bytes as their Java
     * values; anything else a new {@code PyObject} the caller owns).
     *
     * @throws PythonException if the call raises, or the result has no such conversion
     * @throws ClassCastException if the result is not a str (String) or bytes (byte[])
     * @throws IllegalArgumentException for an argument that cannot be converted, or another type
     */
    @SuppressWarnings("unchecked")
    public <T> T callAs(Class<T> type, Object... args) {
        Calls.requireConvertible(type);
        int g = interp.enter();
        try {
            MemorySegment tuple = Calls.tuple(interp, args);
            long r;
            try {
                r = Errors.check(interp.c, PyObject_Call(ptr(), tuple, MemorySegment.NULL));
            } finally {
                Py_DecRef(tuple);
            }
            try {
                return (T) Calls.toJava(interp, r, type);
            } finally {
                Py_DecRef(Mem.ptr(r));
            }
        } finally {
            interp.exit(g);
        }
    }

    /**
     * {@code obj.name(*args)}, a new object the caller owns; arguments converted as by {@link #call}.
     *
     * @throws PythonException          if the lookup or the call raises
     * @throws IllegalArgumentException if the name contains NUL or an argument cannot be converted
     * @throws IllegalStateException    if this PyObject, a PyObject argument or CPython is closed
     */
    public PyObject callMethod(String name, Object... args) {
        try (PyObject m = getAttr(name)) {
            return m.call(args);
        }
    }

    /** {@code obj[key]}, key converted as by {@link #call}. */
    public PyObject getItem(Object key) {
        int g = interp.enter();
        try {
            long k = Convert.toPython(interp.c, key);
            try {
                return own(interp, PyObject_GetItem(ptr(), Mem.ptr(k)));
            } finally {
                Py_DecRef(Mem.ptr(k));
            }
        } finally {
            interp.exit(g);
        }
    }

    /**
     * {@code obj[key] = value}, key and value converted as by {@link #call}. Takes the GIL for
     * the call. On any failure nothing is set and no reference is kept.
     *
     * @throws PythonException          if Python raises
     * @throws IllegalArgumentException if the key or the value cannot be converted
     * @throws IllegalStateException    if this PyObject, a PyObject key or value, or CPython is closed
     */
    public void setItem(Object key, Object value) {
        int g = interp.enter();
        try {
            MemorySegment self = ptr();                     // a closed receiver takes no reference
            long k = Convert.toPython(interp.c, key);
            try {
                long v = Convert.toPython(interp.c, value);
                int rc = PyObject_SetItem(self, Mem.ptr(k), Mem.ptr(v));
                Py_DecRef(Mem.ptr(v));
                Errors.checkInt(interp.c, rc);
            } finally {
                Py_DecRef(Mem.ptr(k));
            }
        } finally {
            interp.exit(g);
        }
    }

    /** {@code len(obj)}. */
    public long length() {
        int g = interp.enter();
        try {
            long n = PyObject_Size(ptr());
            if (n < 0) throw Errors.fetch(interp.c);
            return n;
        } finally {
            interp.exit(g);
        }
    }

    /** The value of a Python int (or any object with {@code __index__}) as a Java long. */
    public long asLong() {
        int g = interp.enter();
        try {
            long v = PyLong_AsLongLong(ptr());
            if (v == -1) Errors.checkPending(interp.c);
            return v;
        } finally {
            interp.exit(g);
        }
    }

    /** The value of a Python float (or anything with {@code __float__}/{@code __index__}) as a double. */
    public double asDouble() {
        int g = interp.enter();
        try {
            double v = PyFloat_AsDouble(ptr());
            if (v == -1.0) Errors.checkPending(interp.c);
            return v;
        } finally {
            interp.exit(g);
        }
    }

    /** Python truthiness: {@code bool(obj)}. */
    public boolean asBoolean() {
        int g = interp.enter();
        try {
            int v = PyObject_IsTrue(ptr());
            Errors.checkInt(interp.c, v);
            return v == 1;
        } finally {
            interp.exit(g);
        }
    }

    /**
     * The value of a Python {@code str}, exactly: lone surrogates (a {@code surrogateescape}d file
     * name) arrive as the same lone surrogate chars, NUL as NUL. Takes the GIL for the call.
     *
     * @throws ClassCastException    if this is not a str (use {@link #toString()} for {@code str(obj)})
     * @throws IllegalStateException if this PyObject or CPython is closed
     */
    public String asString() {
        int g = interp.enter();
        try {
            long t = PyObject_Type(ptr()).address();
            Py_DecRef(Mem.ptr(t));
            if (t != interp.c.strType && PyType_IsSubtype(Mem.ptr(t), Mem.ptr(interp.c.strType)) == 0) {
                throw new ClassCastException("Python object of type '" + typeNameLocked() + "' is not a str; "
                        + "use toString() for str(obj)");
            }
            return Text.toJava(interp.c, ptr());
        } finally {
            interp.exit(g);
        }
    }

    /**
     * A copy of the contents of a Python {@code bytes} object.
     *
     * @throws ClassCastException if this is not bytes
     */
    public byte[] asBytesCopy() {
        int g = interp.enter();
        try {
            long t = PyObject_Type(ptr()).address();
            Py_DecRef(Mem.ptr(t));
            if (t != interp.c.bytesType && PyType_IsSubtype(Mem.ptr(t), Mem.ptr(interp.c.bytesType)) == 0) {
                throw new ClassCastException("Python object of type '" + typeNameLocked() + "' is not bytes");
            }
            return Convert.bytes(interp.c, ptr());
        } finally {
            interp.exit(g);
        }
    }

    /**
     * Whether this is {@code None}.
     *
     * @throws IllegalStateException after {@link CPython#close()}, like every other method
     */
    public boolean isNone() {
        if (interp.isClosed()) throw new IllegalStateException("CPython is closed: no calls can be made after close()");
        return pyAddress() == interp.c.none;
    }

    /** The name of this object's type, e.g. {@code "int"} or {@code "numpy.ndarray"}. */
    public String typeName() {
        int g = interp.enter();
        try {
            return typeNameLocked();
        } finally {
            interp.exit(g);
        }
    }

    private String typeNameLocked() {
        MemorySegment t = PyObject_Type(ptr());
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

    /**
     * {@code repr(obj)}, exactly (lone surrogates kept, see {@link #asString()}). Takes the GIL.
     *
     * @throws PythonException       if {@code __repr__} raises
     * @throws IllegalStateException if this PyObject or CPython is closed
     */
    public String repr() {
        int g = interp.enter();
        try {
            MemorySegment r = PyObject_Repr(ptr());
            Errors.check(interp.c, r);
            try { return Text.toJava(interp.c, r); } finally { Py_DecRef(r); }
        } finally {
            interp.exit(g);
        }
    }

    /**
     * A view of this object's buffer (PEP 3118 {@code PyObject_GetBuffer} with the given request),
     * confined to this thread. The caller owns the view and must close it to release the buffer.
     *
     * @throws PythonException (BufferError, TypeError) if the object cannot give such a buffer
     * @throws IllegalStateException if the buffer it gives is malformed (negative or overflowing
     *         shape, strides or len, {@code ndim > 64}, {@code len} not {@code itemsize * product(shape)},
     *         a span that wraps around the address space): it is released and nothing is read
     */
    public PyBufferView getBuffer(BufferRequest request) {
        return PyBufferView.of(this, request, false);
    }

    /**
     * Like {@link #getBuffer} but the view may be used and closed from any thread; closing it
     * costs a JVM-wide handshake (tens of microseconds), like closing an {@code Arena.ofShared()}.
     *
     * @throws PythonException (BufferError, TypeError) if the object cannot give such a buffer
     * @throws IllegalStateException if the buffer it gives is malformed (see {@link #getBuffer})
     */
    public PyBufferView getBufferShared(BufferRequest request) {
        return PyBufferView.of(this, request, true);
    }

    /**
     * {@code str(obj)}, exactly (lone surrogates kept, see {@link #asString()}); "&lt;closed
     * PyObject&gt;" once closed. Takes the GIL.
     *
     * @throws PythonException       if {@code __str__} raises
     * @throws IllegalStateException if CPython is closed
     */
    @Override
    public String toString() {
        if (ref.address() == 0) return "<closed PyObject>";
        int g = interp.enter();
        try {
            MemorySegment s = PyObject_Str(ptr());
            Errors.check(interp.c, s);
            try { return Text.toJava(interp.c, s); } finally { Py_DecRef(s); }
        } finally {
            interp.exit(g);
        }
    }

    /** Whether {@link #close()} was called. */
    public boolean isClosed() { return ref.address() == 0; }

    /**
     * Drops this reference. Idempotent; a no-op after {@link CPython#close()}. Never waits for
     * the GIL and never throws: on any thread that does not hold it (virtual threads included)
     * the reference is queued and dropped by the next thread that takes the GIL, or shortly by
     * the bridge's own drainer thread.
     */
    @Override
    public void close() { ref.close(); }
}
