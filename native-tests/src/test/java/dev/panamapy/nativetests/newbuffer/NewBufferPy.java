package dev.panamapy.nativetests.newbuffer;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Shared bits of the newbuffer tests: the Python exporters of {@code src/test/python/nb_exporters.py}
 * importable, expressions evaluated to strings, and expected Python exceptions.
 */
final class NewBufferPy {
    private NewBufferPy() { }

    /** Puts src/test/python on sys.path and imports nb_exporters (as nbx) and the module (as nb) into __main__. */
    static void setUp(CPython py) {
        String dir = Path.of("src/test/python").toAbsolutePath().toString().replace("\\", "\\\\");
        py.exec("import sys, gc\nif " + q(dir) + " not in sys.path: sys.path.insert(0, " + q(dir) + ")\n"
                + "import nb_exporters as nbx\nimport panamapy.newbuffer as nb\nfrom panamapy.newbuffer import *");
    }

    static String q(String s) {
        return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    /** str(eval(expr)). */
    static String eval(CPython py, String expr) {
        try (PyObject o = py.eval(expr)) {
            return o.toString();
        }
    }

    /** Runs statements that must raise; returns the Python exception. */
    static PythonException raises(CPython py, String statements) {
        return assertThrows(PythonException.class, () -> py.exec(statements));
    }
}
