package dev.panamapy.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.panamapy.bindings.Python_h.*;

/**
 * The C-API calls behind {@code CPython}'s top-level methods: running source code in
 * {@code __main__}, its global names, and imports. Names and code are checked by the caller
 * ({@link Text}); each method returns a new reference the caller owns (or nothing), throws the
 * pending Python error as a {@link dev.panamapy.PythonException}, and leaves no error pending
 * and no reference behind. All require the GIL.
 */
public final class MainModule {
    private MainModule() { }

    /** Runs statements in {@code __main__}. */
    public static void exec(Constants c, String code) {
        Py_DecRef(Mem.ptr(run(c, code, false)));       // None
    }

    /** Evaluates an expression in {@code __main__}: its value, a new reference. */
    public static long eval(Constants c, String expression) {
        return run(c, expression, true);
    }

    /** Compiles and runs code in {@code __main__}'s namespace as statements or as an expression. A new reference. */
    private static long run(Constants c, String code, boolean eval) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment compiled = Py_CompileString(a.allocateFrom(code), a.allocateFrom("<panamapy>"),
                    eval ? Py_eval_input() : Py_file_input());
            Errors.check(c, compiled);
            try {
                MemorySegment globals = Mem.ptr(c.mainDict);
                return Errors.check(c, PyEval_EvalCode(compiled, globals, globals));
            } finally {
                Py_DecRef(compiled);
            }
        }
    }

    /** {@code import name}: the module (the leaf module for dotted names), a new reference. */
    public static long importModule(Constants c, String name) {
        long n = Text.toPython(c, name);
        try {
            return Errors.check(c, PyImport_Import(Mem.ptr(n)));
        } finally {
            Py_DecRef(Mem.ptr(n));
        }
    }

    /** Binds a global in {@code __main__} to a converted Java value; on failure nothing is bound. */
    public static void setGlobal(Constants c, String name, Object value) {
        long v = Convert.toPython(c, value);
        try {
            long n = Text.toPython(c, name);
            int rc = PyDict_SetItem(Mem.ptr(c.mainDict), Mem.ptr(n), Mem.ptr(v));
            Py_DecRef(Mem.ptr(n));
            Errors.checkInt(c, rc);
        } finally {
            Py_DecRef(Mem.ptr(v));
        }
    }

    /** A new reference to the global bound to {@code name} in {@code __main__}, or 0 if it is not bound. */
    public static long getGlobal(Constants c, String name) {
        long n = Text.toPython(c, name);
        MemorySegment v = PyDict_GetItem(Mem.ptr(c.mainDict), Mem.ptr(n));   // borrowed
        Py_DecRef(Mem.ptr(n));
        if (v.address() == 0) return 0;
        return ObjectProtocol.newReference(v.address());
    }
}
