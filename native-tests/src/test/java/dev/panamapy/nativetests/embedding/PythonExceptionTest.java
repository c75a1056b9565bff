package dev.panamapy.nativetests.embedding;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Python exceptions reach Java as PythonException with type, message and traceback, and leave no pending error. */
@PythonTest
class PythonExceptionTest {

    // line numbers matter: the tracebacks below name them
    private static final String CODE = String.join("\n",
            "def divide(a, b):",                         // 1
            "    return a / b",                          // 2
            "",                                          // 3
            "class PanamapyProbeError(Exception):",      // 4
            "    pass",                                  // 5
            "",                                          // 6
            "def fail_custom(msg):",                     // 7
            "    helper_raise(msg)",                     // 8
            "",                                          // 9
            "def helper_raise(msg):",                    // 10
            "    raise PanamapyProbeError('custom: ' + msg)",  // 11
            "");

    private static CPython py;
    private static PyObject divide, failCustom;

    @BeforeAll
    static void define(CPython python) {
        py = python;
        py.exec(CODE);
        divide = py.getGlobal("divide");
        failCustom = py.getGlobal("fail_custom");
    }

    @Test
    void zeroDivisionErrorCarriesTypeMessageAndTraceback() {
        PythonException e = assertThrows(PythonException.class, () -> divide.call(1, 0));
        assertEquals("ZeroDivisionError", e.pythonType());
        assertEquals("division by zero", e.pythonMessage());
        assertTrue(e.is("ZeroDivisionError"));
        String tb = e.pythonTraceback();
        assertTrue(tb.startsWith("Traceback (most recent call last):"), tb);
        assertTrue(tb.contains("File \"<panamapy>\", line 2, in divide"), tb);
        assertTrue(tb.stripTrailing().endsWith("ZeroDivisionError: division by zero"), tb);
        assertTrue(e.getMessage().startsWith("ZeroDivisionError: division by zero\nTraceback"), e.getMessage());
    }

    @Test
    void customExceptionClassCarriesItsNameAndEveryFrame() {
        PythonException e = assertThrows(PythonException.class, () -> failCustom.call("boom"));
        assertEquals("PanamapyProbeError", e.pythonType());
        assertEquals("custom: boom", e.pythonMessage());
        String tb = e.pythonTraceback();
        int outer = tb.indexOf("File \"<panamapy>\", line 8, in fail_custom");
        int inner = tb.indexOf("File \"<panamapy>\", line 11, in helper_raise");
        assertTrue(outer >= 0 && inner > outer, "frames missing or out of order:\n" + tb);
        assertTrue(tb.stripTrailing().endsWith("PanamapyProbeError: custom: boom"), tb);
    }

    @Test
    void exceptionFromEvalIsReported() {
        PythonException e = assertThrows(PythonException.class, () -> py.eval("{}['missing_key']"));
        assertEquals("KeyError", e.pythonType());
        assertEquals("'missing_key'", e.pythonMessage());
    }

    @Test
    void interpreterStaysUsableAfterExceptions() {
        for (int i = 0; i < 100; i++) {
            assertThrows(PythonException.class, () -> divide.call(1, 0));
            assertThrows(PythonException.class, () -> failCustom.call("again"));
            // a leaked pending error would make the next call fail with SystemError
            try (PyObject r = py.eval("sum(range(10))"); PyObject q = divide.call(9, 3)) {
                assertEquals(45, r.asLong());
                assertEquals(3.0, q.asDouble());
            }
        }
        try (PyObject excInfo = py.eval("__import__('sys').exc_info()[0] is None")) {
            assertTrue(excInfo.asBoolean(), "an exception is still being handled");
        }
    }

    @Test
    void syntaxErrorInExecIsSyntaxError() {
        PythonException e = assertThrows(PythonException.class, () -> py.exec("def ("));
        assertEquals("SyntaxError", e.pythonType());
        assertTrue(e.pythonMessage().contains("<panamapy>, line 1"), e.pythonMessage());
        try (PyObject r = py.eval("6 * 7")) {
            assertEquals(42, r.asLong());
        }
    }

    @Test
    void syntaxErrorInEvalIsSyntaxError() {
        PythonException e = assertThrows(PythonException.class, () -> py.eval("x = 1"));
        assertEquals("SyntaxError", e.pythonType());
    }

    @Test
    void missingModuleIsModuleNotFoundErrorNamingIt() {
        PythonException e = assertThrows(PythonException.class, () -> py.importModule("no_such_module_xyz"));
        assertEquals("ModuleNotFoundError", e.pythonType());
        assertEquals("No module named 'no_such_module_xyz'", e.pythonMessage());
        try (PyObject json = py.importModule("json"); PyObject name = json.getAttr("__name__")) {
            assertEquals("json", name.asString());
        }
    }
}
