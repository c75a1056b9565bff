package dev.panamapy;

import dev.panamapy.internal.Convert;
import dev.panamapy.internal.Interpreter;
import dev.panamapy.internal.Mem;

import java.lang.foreign.MemorySegment;

import static dev.panamapy.bindings.Python_h.*;

/** Argument tuples for calls into Python. Requires the GIL. */
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
}
