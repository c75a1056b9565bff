package dev.panamapy.internal;

import dev.panamapy.PythonException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import static dev.panamapy.bindings.Python_h.*;

/**
 * Moves errors across the boundary, both ways. Python to Java: the pending Python exception
 * becomes a {@link PythonException} with type, message and formatted traceback. Java to
 * Python: a Throwable becomes a pending Python exception carrying the Java class and message;
 * the Throwable is remembered, so that if the Python exception comes back out to Java it
 * becomes the {@code PythonException}'s cause, with its Java stack trace intact.
 *
 * <p>All methods require the GIL.
 */
public final class Errors {
    private Errors() { }

    private static final AtomicLong NEXT_ID = new AtomicLong(1);
    /** Java throwables in flight through Python, by the id stored on the Python exception. */
    private static final Map<Long, Throwable> IN_FLIGHT = new ConcurrentHashMap<>();
    private static final int MAX_IN_FLIGHT = 10_000;
    static final String ID_ATTR = "_panamapy_java_id";

    /** Takes the pending Python exception (clearing it) and returns it as a PythonException. */
    public static PythonException fetch(Constants c) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment pt = a.allocate(Mem.PTR), pv = a.allocate(Mem.PTR), ptb = a.allocate(Mem.PTR);
            PyErr_Fetch(pt, pv, ptb);
            if (pt.get(Mem.PTR, 0).address() == 0) {
                return new PythonException("SystemError", "a CPython call failed without setting an exception", "", null);
            }
            PyErr_NormalizeException(pt, pv, ptb);
            MemorySegment type = pt.get(Mem.PTR, 0), value = pv.get(Mem.PTR, 0), tb = ptb.get(Mem.PTR, 0);
            try {
                String typeName = typeName(type, a);
                String message = value.address() == 0 ? "" : str(value);
                if (message == null) message = "<exception str() failed>";    // as Python's traceback prints it
                String traceback = c == null ? "" : formatTraceback(c, type, value, tb);
                Throwable cause = value.address() == 0 ? null : javaCause(value, a);
                PythonException pe = new PythonException(typeName, message, traceback, cause);
                if (Functions.inJavaFunction()) keepOriginal(pe, type, value, tb);
                return pe;
            } finally {
                xdecref(type); xdecref(value); xdecref(tb);
                PyErr_Clear();     // anything raised while formatting is dropped
            }
        }
    }

    /** Fetches the pending exception and throws it if the pointer is NULL; returns the pointer otherwise. */
    public static long check(Constants c, MemorySegment result) {
        long p = result.address();
        if (p == 0) throw fetch(c);
        return p;
    }

    /** Throws the pending exception when a C-API int result is -1 and an error is set. */
    public static void checkInt(Constants c, int rc) {
        if (rc == -1 && PyErr_Occurred().address() != 0) throw fetch(c);
    }

    /** Throws the pending exception, if any. */
    public static void checkPending(Constants c) {
        if (PyErr_Occurred().address() != 0) throw fetch(c);
    }

    /**
     * Sets a Python exception of the given type for a Java throwable: the message is the Java
     * class and message. Never throws.
     */
    public static void raise(long excType, Throwable t) {
        long msg = Text.newStr(describe(t));          // exact text: NUL and lone surrogates kept
        if (msg == 0) return;                          // MemoryError is pending instead
        PyErr_SetObject(Mem.ptr(excType), Mem.ptr(msg));
        Py_DecRef(Mem.ptr(msg));
    }

    /**
     * Sets a {@code panamapy.JavaException} for a Java throwable thrown in a Java function called
     * from Python, remembering the throwable so that it can become the cause again in Java.
     * A PythonException thrown by a nested call is restored as the Python exception it was.
     */
    public static void raiseJava(Constants c, Throwable t) {
        if (t instanceof PythonException pe && restoreOriginal(pe)) return;
        try (Arena a = Arena.ofConfined()) {
            long id = NEXT_ID.getAndIncrement();
            if (IN_FLIGHT.size() >= MAX_IN_FLIGHT) IN_FLIGHT.clear();   // never grow without bound
            IN_FLIGHT.put(id, t);
            long msg = Text.newStr(describe(t));
            if (msg == 0) return;                                        // MemoryError is pending instead
            MemorySegment args = PyTuple_New(1);
            if (args.address() == 0) { Py_DecRef(Mem.ptr(msg)); return; }
            PyTuple_SetItem(args, 0, Mem.ptr(msg));                      // steals msg
            MemorySegment exc = PyObject_CallObject(Mem.ptr(c.javaException), args);
            Py_DecRef(args);
            if (exc.address() == 0) return;                              // that call's error is now pending
            MemorySegment idObj = PyLong_FromLongLong(id);
            PyObject_SetAttrString(exc, a.allocateFrom(ID_ATTR), idObj);
            Py_DecRef(idObj);
            PyErr_SetObject(Mem.ptr(c.javaException), exc);
            Py_DecRef(exc);
        }
    }

    /**
     * Python exceptions fetched inside a Java function called from Python, by the PythonException
     * made of them: {type, value, traceback}, each a strong reference dropped by a Cleaner when
     * the PythonException becomes unreachable. If the PythonException leaves the Java function,
     * the original is raised again with these references, so Python code sees its own exception
     * (type, attributes, traceback) rather than a JavaException wrapping its text.
     */
    private static final Map<PythonException, long[]> ORIGINALS = Collections.synchronizedMap(new WeakHashMap<>());

    private static void keepOriginal(PythonException pe, MemorySegment type, MemorySegment value, MemorySegment tb) {
        Interpreter interp = Interpreter.running();
        if (interp == null) return;
        long[] refs = {type.address(), value.address(), tb.address()};
        for (long r : refs) if (r != 0) Py_IncRef(Mem.ptr(r));
        ORIGINALS.put(pe, refs);
        Ownership.register(pe, () -> {
            int g = interp.tryEnter();
            if (g == -1) return;
            try {
                for (long r : refs) if (r != 0) Py_DecRef(Mem.ptr(r));
            } finally {
                interp.exit(g);
            }
        });
    }

    /** Raises the original Python exception again; the PythonException becomes the cause if it returns to Java. */
    private static boolean restoreOriginal(PythonException pe) {
        // the references go back to Python with the exception: Java keeps none, or the
        // PythonException (kept in IN_FLIGHT until Python hands the exception back, which it never
        // does when Python code catches it) would pin the exception, its traceback and every
        // frame's locals; restored once, a second throw of the same PythonException is wrapped
        long[] refs = ORIGINALS.remove(pe);
        if (refs == null || refs[1] == 0) return false;
        try (Arena a = Arena.ofConfined()) {
            long id = NEXT_ID.getAndIncrement();
            if (IN_FLIGHT.size() >= MAX_IN_FLIGHT) IN_FLIGHT.clear();
            IN_FLIGHT.put(id, pe);
            MemorySegment idObj = PyLong_FromLongLong(id);
            if (PyObject_SetAttrString(Mem.ptr(refs[1]), a.allocateFrom(ID_ATTR), idObj) != 0) PyErr_Clear();
            Py_DecRef(idObj);
        }
        long type = refs[0], value = refs[1], tb = refs[2];
        refs[0] = refs[1] = refs[2] = 0;                 // the cleaner registered for pe now drops nothing
        PyErr_Restore(Mem.ptr(type), Mem.ptr(value), Mem.ptr(tb));                // steals all three
        return true;
    }

    /** "java.lang.IllegalStateException: message" */
    public static String describe(Throwable t) {
        if (t instanceof PythonException pe) return pe.pythonType() + ": " + pe.pythonMessage();
        String m = t.getMessage();
        return t.getClass().getName() + (m == null ? "" : ": " + m);
    }

    private static Throwable javaCause(MemorySegment value, Arena a) {
        // walk value, __cause__/__context__ ... for the first exception that carries a Java id
        MemorySegment cur = value;
        for (int depth = 0; depth < 32 && cur.address() != 0; depth++) {
            MemorySegment id = PyObject_GetAttrString(cur, a.allocateFrom(ID_ATTR));
            if (id.address() != 0) {
                long key = PyLong_AsLongLong(id);
                Py_DecRef(id);
                Throwable t = IN_FLIGHT.remove(key);
                if (t != null) return t;
            } else {
                PyErr_Clear();
            }
            MemorySegment next = PyException_GetCause(cur);
            if (next.address() == 0) next = PyException_GetContext(cur);
            if (next.address() != 0) Py_DecRef(next);   // borrowed for the walk: the chain keeps it alive
            cur = next;
        }
        return null;
    }

    private static String typeName(MemorySegment type, Arena a) {
        String name = attrString(type, "__qualname__", a);
        if (name == null) name = attrString(type, "__name__", a);
        String module = attrString(type, "__module__", a);
        if (name == null) name = "<unknown exception type>";
        return module == null || module.equals("builtins") || module.equals("__main__") ? name : module + "." + name;
    }

    private static String attrString(MemorySegment obj, String attr, Arena a) {
        MemorySegment v = PyObject_GetAttrString(obj, a.allocateFrom(attr));
        if (v.address() == 0) { PyErr_Clear(); return null; }
        try { return str(v); } finally { Py_DecRef(v); }
    }

    /** str(obj) as a Java String (exactly, see {@link Text}); null, and no pending error, if str() raises. */
    public static String str(MemorySegment obj) {
        MemorySegment s = PyObject_Str(obj);
        if (s.address() == 0) { PyErr_Clear(); return null; }
        try {
            return Text.toJava(null, s);
        } catch (PythonException e) {
            return null;                                   // out of memory: fetched, nothing pending
        } finally {
            Py_DecRef(s);
        }
    }

    private static String formatTraceback(Constants c, MemorySegment type, MemorySegment value, MemorySegment tb) {
        if (c.formatException == 0 || tb.address() == 0) return "";
        MemorySegment args = PyTuple_New(3);
        for (int i = 0; i < 3; i++) {
            MemorySegment o = i == 0 ? type : i == 1 ? value : tb;
            if (o.address() == 0) o = Mem.ptr(c.none);
            Py_IncRef(o);
            PyTuple_SetItem(args, i, o);
        }
        MemorySegment lines = PyObject_CallObject(Mem.ptr(c.formatException), args);
        Py_DecRef(args);
        if (lines.address() == 0) { PyErr_Clear(); return ""; }
        try {
            StringBuilder sb = new StringBuilder();
            long n = PyList_Size(lines);
            for (long i = 0; i < n; i++) sb.append(Text.toJava(null, PyList_GetItem(lines, i)));
            return sb.toString();
        } catch (PythonException e) {
            return "";                                     // out of memory: fetched, nothing pending
        } finally {
            Py_DecRef(lines);
        }
    }

    private static void xdecref(MemorySegment o) {
        if (o.address() != 0) Py_DecRef(o);
    }
}
