package dev.panamapy.internal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.panamapy.bindings.Python_h.*;

/**
 * The bridge's own bits of Python code (start-up and finalization chores), run in a namespace
 * of their own so that {@code __main__} never sees them. They must not fail the caller: an
 * error is logged and cleared.
 */
final class Snippets {
    private Snippets() { }

    private static final Logger LOG = LoggerFactory.getLogger(Snippets.class);

    /**
     * Runs statements under the GIL and answers {@code str(result)} if the code bound
     * {@code result}, else "". Never leaves an error pending; answers "" on failure.
     */
    static String run(String code) {
        return run(code, null, MemorySegment.NULL);
    }

    /** Like {@link #run(String)}, with one object (borrowed) bound to a name in the namespace. */
    static String run(String code, String name, MemorySegment value) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment compiled = Py_CompileString(a.allocateFrom(code), a.allocateFrom("<panamapy>"), Py_file_input());
            if (compiled.address() == 0) return failed();
            MemorySegment ns = PyDict_New();
            try {
                PyDict_SetItemString(ns, a.allocateFrom("__builtins__"), PyEval_GetBuiltins());
                if (name != null) PyDict_SetItemString(ns, a.allocateFrom(name), value);
                MemorySegment r = PyEval_EvalCode(compiled, ns, ns);
                if (r.address() == 0) return failed();
                Py_DecRef(r);
                MemorySegment result = PyDict_GetItemString(ns, a.allocateFrom("result"));   // borrowed
                String text = result.address() == 0 ? "" : Errors.str(result);
                return text == null ? "" : text;
            } finally {
                Py_DecRef(ns);
                Py_DecRef(compiled);
            }
        } catch (RuntimeException e) {
            PyErr_Clear();
            LOG.warn("the bridge's own Python code failed", e);
            return "";
        }
    }

    /** Logs and clears the pending error; answers "". */
    static String failed() {
        LOG.warn("the bridge's own Python code failed: {}", Errors.fetch(null).getMessage());
        return "";
    }
}
