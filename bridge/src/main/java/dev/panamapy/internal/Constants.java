package dev.panamapy.internal;

import java.lang.foreign.Arena;

import static dev.panamapy.bindings.Python_h.*;

/**
 * The running interpreter's addresses, handed to everything that calls CPython (as {@code c}):
 * looked up once, right after {@code Py_InitializeEx}, and valid until finalization: the
 * singletons, the exact builtin types the converters compare against, the exception types the
 * bridge raises, {@code __main__}'s dict and the {@code panamapy} module's {@link Types}. Built
 * by {@link Interpreter} at start, in order: the types first, then these; nothing is wired
 * statically but the one reference the upcall entry points need ({@link Upcalls#install}).
 */
public final class Constants {
    public final long none, trueObj, falseObj;
    public final long intType, floatType, strType, boolType, bytesType;
    public final long mainDict;
    public final long formatException;       // traceback.format_exception (owned)
    public final long excBufferError, excTypeError, excRuntimeError, excValueError, excMemoryError, excSystemError;
    public final long javaException;          // panamapy.JavaException (owned by types)
    public final Types types;

    /** Looks the addresses up. Requires the GIL, at start. */
    Constants(Types types) {
        this.types = types;
        javaException = types.javaException;
        none = _Py_NoneStruct().address();
        trueObj = PyBool_FromLong(1).address();     // kept: the singletons live until finalization
        falseObj = PyBool_FromLong(0).address();
        long one = PyLong_FromLongLong(1).address();
        intType = PyObject_Type(Mem.ptr(one)).address();
        Py_DecRef(Mem.ptr(intType));                    // PyObject_Type returns a new reference; builtin types are immortal enough
        Py_DecRef(Mem.ptr(one));
        long f = PyFloat_FromDouble(0.5).address();
        floatType = typeOf(f);
        Py_DecRef(Mem.ptr(f));
        try (Arena a = Arena.ofConfined()) {
            long s = PyUnicode_FromString(a.allocateFrom("s")).address();
            strType = typeOf(s);
            Py_DecRef(Mem.ptr(s));
            long b = PyBytes_FromStringAndSize(a.allocateFrom("b"), 1).address();
            bytesType = typeOf(b);
            Py_DecRef(Mem.ptr(b));
            boolType = typeOf(trueObj);
            long main = PyImport_AddModule(a.allocateFrom("__main__")).address();   // borrowed
            mainDict = PyModule_GetDict(Mem.ptr(main)).address();                  // borrowed
            long tb = PyImport_ImportModule(a.allocateFrom("traceback")).address();
            if (tb == 0) throw Errors.fetch(this);
            formatException = PyObject_GetAttrString(Mem.ptr(tb), a.allocateFrom("format_exception")).address();
            Py_DecRef(Mem.ptr(tb));
            excBufferError = PyExc_BufferError().address();
            excTypeError = PyExc_TypeError().address();
            excRuntimeError = PyExc_RuntimeError().address();
            excValueError = PyExc_ValueError().address();
            excMemoryError = PyExc_MemoryError().address();
            excSystemError = PyExc_SystemError().address();
        }
    }

    private static long typeOf(long obj) {
        long t = PyObject_Type(Mem.ptr(obj)).address();
        Py_DecRef(Mem.ptr(t));
        return t;
    }
}
