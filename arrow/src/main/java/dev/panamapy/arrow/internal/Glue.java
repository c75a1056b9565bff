package dev.panamapy.arrow.internal;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.internal.Capsules;
import dev.panamapy.internal.Constants;
import dev.panamapy.internal.Errors;
import dev.panamapy.internal.Handles;
import dev.panamapy.internal.Interpreter;
import org.apache.arrow.vector.types.pojo.Field;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import static dev.panamapy.arrow.internal.CData.*;
import static dev.panamapy.bindings.Python_h.*;

/**
 * The Python side of exports: the module {@code panamapy.arrow} (its classes come from the
 * resource {@code panamapy_arrow.py}), the Java functions its objects call to make capsules, and
 * the table of exports by token. Made once, under the GIL, on first use.
 */
public final class Glue {
    private Glue() { }

    private static final ConcurrentHashMap<Long, Object> EXPORTS = new ConcurrentHashMap<>();
    private static final AtomicLong NEXT = new AtomicLong(1);

    private static long arrayClass, streamClass;     // owned, for the process's life; written under the GIL

    /** Exports whose Python object is alive, for leak checks. */
    public static int liveObjects() { return EXPORTS.size(); }

    /** The running interpreter behind {@code py}. */
    public static Interpreter interpreter(CPython py) {
        Interpreter in = Interpreter.running();
        if (py == null) throw new NullPointerException("py");
        if (py.isClosed() || in == null) throw new IllegalStateException("CPython is closed: no calls can be made after close()");
        return in;
    }

    /** The address of a PyObject (borrowed while it is open). */
    public static long address(PyObject o) {
        long a = Handles.address(o);
        if (a == 0) throw new IllegalArgumentException("not a Python object: " + o);
        return a;
    }

    /**
     * A new {@code JavaArrowArray} (or {@code JavaArrowStream}) for an export, which it owns
     * from now on (released when Python frees the object, or here on failure). Requires the GIL.
     */
    public static PyObject newObject(Interpreter in, Object export) {
        long token = NEXT.getAndIncrement();
        EXPORTS.put(token, export);
        try {
            init(in.c);
            MemorySegment args = PyTuple_New(1);
            if (args.address() == 0) throw Errors.fetch(in.c);
            MemorySegment t = PyLong_FromLongLong(token);
            if (t.address() == 0) { Py_DecRef(args); throw Errors.fetch(in.c); }
            PyTuple_SetItem(args, 0, t);                                  // steals
            long cls = export instanceof StreamExport ? streamClass : arrayClass;
            MemorySegment obj;
            try {
                obj = PyObject_CallObject(MemorySegment.ofAddress(cls), args);
            } finally {
                Py_DecRef(args);
            }
            return Handles.wrap(in, Errors.check(in.c, obj));
        } catch (RuntimeException | Error e) {
            drop(token);
            throw e;
        }
    }

    private static void init(Constants c) {
        if (arrayClass != 0) return;
        try (Arena a = Arena.ofConfined()) {
            long module = Errors.check(c, PyModule_New(a.allocateFrom("panamapy.arrow")));
            MemorySegment dict = PyModule_GetDict(MemorySegment.ofAddress(module));          // borrowed
            PyDict_SetItemString(dict, a.allocateFrom("__builtins__"), PyEval_GetBuiltins());
            put(c, dict, "_schema", Capsules.function("_schema", Glue::schemaCapsule), a);
            put(c, dict, "_array", Capsules.function("_array", Glue::arrayCapsules), a);
            put(c, dict, "_stream", Capsules.function("_stream", Glue::streamCapsule), a);
            put(c, dict, "_drop", Capsules.function("_drop", args -> {
                drop(token(args));
                return none(c);
            }), a);
            put(c, dict, "_describe", Capsules.function("_describe", args -> {
                Object e = EXPORTS.get(token(args));
                try (Arena text = Arena.ofConfined()) {
                    return Errors.check(c, PyUnicode_FromString(text.allocateFrom(String.valueOf(e == null ? "(released)" : e))));
                }
            }), a);
            long code = Errors.check(c, Py_CompileString(a.allocateFrom(source()), a.allocateFrom("<panamapy.arrow>"),
                    Py_file_input()));
            MemorySegment r = PyEval_EvalCode(MemorySegment.ofAddress(code), dict, dict);
            Py_DecRef(MemorySegment.ofAddress(code));
            Py_DecRef(MemorySegment.ofAddress(Errors.check(c, r)));
            MemorySegment arr = PyDict_GetItemString(dict, a.allocateFrom("JavaArrowArray"));
            MemorySegment str = PyDict_GetItemString(dict, a.allocateFrom("JavaArrowStream"));
            Py_IncRef(arr);
            Py_IncRef(str);
            streamClass = str.address();
            arrayClass = arr.address();
            // the module stays referenced by its classes' functions (their __globals__)
            Py_DecRef(MemorySegment.ofAddress(module));
        }
    }

    private static void put(Constants c, MemorySegment dict, String name, long fn, Arena a) {
        try {
            Errors.checkInt(c, PyDict_SetItemString(dict, a.allocateFrom(name), MemorySegment.ofAddress(fn)));
        } finally {
            Py_DecRef(MemorySegment.ofAddress(fn));
        }
    }

    private static String source() {
        try (InputStream in = Glue.class.getResourceAsStream("panamapy_arrow.py")) {
            if (in == null) throw new IllegalStateException("resource panamapy_arrow.py is missing from the panamapy-arrow jar");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static long none(Constants c) {
        Py_IncRef(MemorySegment.ofAddress(c.none));
        return c.none;
    }

    private static long token(long args) {
        long t = PyLong_AsLongLong(PyTuple_GetItem(MemorySegment.ofAddress(args), 0));
        if (t == -1 && PyErr_Occurred().address() != 0) throw Errors.fetch(null);
        return t;
    }

    private static Object export(long args) {
        long t = token(args);
        Object e = EXPORTS.get(t);
        if (e == null) throw new IllegalStateException("this Arrow export was released");
        return e;
    }

    private static void drop(long token) {
        Object e = EXPORTS.remove(token);
        if (e instanceof Snapshot s) s.release();
        else if (e instanceof StreamExport s) s.release();
    }

    // ---- capsules -----------------------------------------------------------------------------

    private static long schemaCapsule(long args) {
        Object e = export(args);
        Field f = e instanceof Snapshot s ? s.field : ((StreamExport) e).schema;
        Map<Long, Field> d = e instanceof Snapshot s ? s.dictionaryFields : ((StreamExport) e).dictionaries;
        return schemaCapsule(f, d);
    }

    private static long schemaCapsule(Field f, Map<Long, Field> dictionaries) {
        long p = calloc(SCHEMA.byteSize());
        try {
            Exports.exportSchema(p, f, dictionaries);
        } catch (RuntimeException | Error e) {
            free(p);
            throw e;
        }
        return capsule(p, "arrow_schema", S_RELEASE);
    }

    private static long arrayCapsules(long args) {
        if (!(export(args) instanceof Snapshot s)) throw new IllegalStateException("not an array export");
        long schema = schemaCapsule(s.field, s.dictionaryFields);
        long array;
        try {
            long p = calloc(ARRAY.byteSize());
            try {
                Exports.exportArray(p, s);          // on failure: released nothing it retained, release NULL
            } catch (RuntimeException | Error e) {
                free(p);
                throw e;
            }
            array = capsule(p, "arrow_array", A_RELEASE);      // on failure: released and freed p itself
        } catch (RuntimeException | Error e) {
            Py_DecRef(MemorySegment.ofAddress(schema));
            throw e;
        }
        MemorySegment t = PyTuple_New(2);
        if (t.address() == 0) {
            Py_DecRef(MemorySegment.ofAddress(schema));
            Py_DecRef(MemorySegment.ofAddress(array));
            throw Errors.fetch(null);
        }
        PyTuple_SetItem(t, 0, MemorySegment.ofAddress(schema));       // steals
        PyTuple_SetItem(t, 1, MemorySegment.ofAddress(array));
        return t.address();
    }

    private static long streamCapsule(long args) {
        Object e = export(args);
        StreamExport st = e instanceof Snapshot s ? StreamExport.of(s) : (StreamExport) e;
        long p = calloc(STREAM.byteSize());
        try {
            st.export(p);
        } catch (RuntimeException | Error x) {
            free(p);
            if (st != e) st.release();
            throw x;
        }
        if (st != e) st.release();                  // a one-batch stream: the struct holds it now
        return capsule(p, "arrow_array_stream", ST_RELEASE);
    }

    /**
     * A capsule owning the C struct at {@code p}: its destructor releases the struct if no
     * consumer moved it out (release not NULL), then frees it. On failure the struct is
     * released and freed here.
     */
    private static long capsule(long p, String name, long releaseOffset) {
        try {
            return Capsules.create(p, name, (cap, n, ptr) -> {
                try {
                    Exports.releaseIfLive(p, releaseOffset);
                } finally {
                    free(p);
                }
            });
        } catch (RuntimeException | Error e) {
            Exports.releaseIfLive(p, releaseOffset);
            free(p);
            throw e;
        }
    }
}
