package dev.panamapy;

import dev.panamapy.internal.Convert;
import dev.panamapy.internal.Handles;
import dev.panamapy.internal.Interpreter;
import dev.panamapy.internal.ObjectProtocol;
import dev.panamapy.internal.Ownership;
import dev.panamapy.internal.Text;

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
public final class PyObject implements AutoCloseable {

    static {
        // internal code reads the address a PyObject or JavaBuffer holds and wraps new
        // references, through this one package-private door (no public method or internal type)
        Handles.install(new Handles.Access() {
            @Override
            public long address(Object value) {
                if (value instanceof PyObject p) return p.address();
                if (value instanceof JavaBuffer b) return b.address();
                return 0;
            }

            @Override
            public PyObject wrap(Interpreter interp, long newReference) {
                return new PyObject(interp, newReference);
            }
        });
    }

    final Interpreter interp;
    private final Ownership.Ref ref;

    PyObject(Interpreter interp, long newReference) {
        this.interp = interp;
        this.ref = Ownership.own(this, interp, newReference);
    }

    /** The object's address, borrowed while this PyObject is open. */
    long address() {
        long a = ref.address();
        if (a == 0) throw new IllegalStateException("this PyObject is closed");
        return a;
    }

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
            return new PyObject(interp, ObjectProtocol.getAttr(interp.c, address(), name));
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
            ObjectProtocol.setAttr(interp.c, address(), name, value);    // a closed receiver takes no reference
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
            return ObjectProtocol.hasAttr(interp.c, address(), name);
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
            return new PyObject(interp, ObjectProtocol.call(interp.c, address(), args));
        } finally {
            interp.exit(g);
        }
    }

    /**
     * Calls this object and converts the result to a Java value in the same GIL hold, without
     * a {@code PyObject} in between, by the same rules as the {@code as*} methods:
     * {@code Long.class} as {@link #asLong()} (a Python int, or anything with {@code __index__}),
     * {@code Double.class} as {@link #asDouble()} (float, or anything with {@code __float__}),
     * {@code Boolean.class} as {@link #asBoolean()} (truthiness), {@code String.class} as
     * {@link #asString()} (a str or str subclass), {@code byte[].class} as {@link #asBytesCopy()}
     * (a copy of bytes or a bytes subclass), or {@code Object.class} as a Java function's
     * arguments arrive (None, bool, int, float, str, bytes of exactly these types as their Java
     * values; anything else, subclasses included, a new {@code PyObject} the caller owns).
     *
     * @throws PythonException if the call raises, or the result has no such conversion
     * @throws ClassCastException if the result is not a str (String) or bytes (byte[])
     * @throws IllegalArgumentException for an argument that cannot be converted, or another type
     */
    @SuppressWarnings("unchecked")
    public <T> T callAs(Class<T> type, Object... args) {
        Convert.Rule rule = Convert.Rule.forType(type);      // an unsupported type calls nothing
        int g = interp.enter();
        try {
            return (T) ObjectProtocol.callAs(interp, address(), rule, args);
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
            return new PyObject(interp, ObjectProtocol.getItem(interp.c, address(), key));
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
            ObjectProtocol.setItem(interp.c, address(), key, value);      // a closed receiver takes no reference
        } finally {
            interp.exit(g);
        }
    }

    /** {@code len(obj)}. */
    public long length() {
        int g = interp.enter();
        try {
            return ObjectProtocol.length(interp.c, address());
        } finally {
            interp.exit(g);
        }
    }

    /** The value of a Python int (or any object with {@code __index__}) as a Java long. */
    public long asLong() {
        int g = interp.enter();
        try {
            return Convert.toLong(interp.c, address());
        } finally {
            interp.exit(g);
        }
    }

    /** The value of a Python float (or anything with {@code __float__}/{@code __index__}) as a double. */
    public double asDouble() {
        int g = interp.enter();
        try {
            return Convert.toDouble(interp.c, address());
        } finally {
            interp.exit(g);
        }
    }

    /** Python truthiness: {@code bool(obj)}. */
    public boolean asBoolean() {
        int g = interp.enter();
        try {
            return Convert.toBoolean(interp.c, address());
        } finally {
            interp.exit(g);
        }
    }

    /**
     * The value of a Python {@code str} (or of an instance of a str subclass), exactly: lone
     * surrogates (a {@code surrogateescape}d file name) arrive as the same lone surrogate chars,
     * NUL as NUL. The same rule as {@code callAs(String.class)}. Takes the GIL for the call.
     *
     * @throws ClassCastException    if this is not a str (use {@link #toString()} for {@code str(obj)})
     * @throws IllegalStateException if this PyObject or CPython is closed
     */
    public String asString() {
        int g = interp.enter();
        try {
            return Convert.toStr(interp.c, address());
        } finally {
            interp.exit(g);
        }
    }

    /**
     * A copy of the contents of a Python {@code bytes} object (or of an instance of a bytes
     * subclass). The same rule as {@code callAs(byte[].class)}; a bytearray or memoryview is
     * refused (read it in place with {@link #getBuffer}). Takes the GIL for the call.
     *
     * @throws ClassCastException    if this is not bytes
     * @throws IllegalStateException if this PyObject or CPython is closed
     */
    public byte[] asBytesCopy() {
        int g = interp.enter();
        try {
            return Convert.toBytes(interp.c, address());
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
        return address() == interp.c.none;
    }

    /** The name of this object's type, e.g. {@code "int"} or {@code "numpy.ndarray"}. */
    public String typeName() {
        int g = interp.enter();
        try {
            return ObjectProtocol.typeName(address());
        } finally {
            interp.exit(g);
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
            return ObjectProtocol.repr(interp.c, address());
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
     * A view of this object's DLPack tensor (the Python array API's {@code __dlpack__}: numpy
     * arrays, torch tensors, a {@code panamapy.JavaBuffer}, anything with {@code __dlpack__}),
     * over the producer's memory, confined to this thread like {@link #getBuffer}. Asks for a
     * DLPack 1.x tensor ({@code __dlpack__(max_version=(1, 0))}; a producer that does not take
     * {@code max_version} is asked with no arguments). The view is writable only over a DLPack 1.x
     * tensor the producer does not flag read-only; a flagged tensor, and any legacy tensor, which
     * cannot say whether its memory may be written (pyarrow's, say, over immutable Arrow memory),
     * give a read-only view (numpy 2.x imports legacy tensors read-only too). The caller owns the
     * view: {@link PyBufferView#close()} calls the producer's
     * deleter, exactly once; a view never closed is released by a Cleaner. Takes the GIL.
     *
     * @throws IllegalArgumentException if the object has no {@code __dlpack__}, its tensor is not
     *         in CPU memory, or its data type has no struct format (bfloat16, lanes): nothing is kept
     * @throws IllegalStateException if the producer's tensor is malformed (the deleter is called)
     * @throws PythonException if {@code __dlpack__} raises (BufferError for a layout the producer
     *         cannot export)
     */
    public PyBufferView dlpack() {
        return PyBufferView.of(this, null, false, true);
    }

    /**
     * Like {@link #dlpack()} but the view may be used and closed from any thread (see {@link #getBufferShared}).
     *
     * @throws IllegalArgumentException if the object has no {@code __dlpack__}, is not in CPU memory, or has a data type without a struct format
     * @throws IllegalStateException if the producer's tensor is malformed
     * @throws PythonException if {@code __dlpack__} raises
     */
    public PyBufferView dlpackShared() {
        return PyBufferView.of(this, null, true, true);
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
            return ObjectProtocol.str(interp.c, address());
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
