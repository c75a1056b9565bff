package dev.panamapy.nativetests.embedding;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** callAs converts the result in the same GIL hold, without leaking a reference. */
@PythonTest
class CallAsTest {

    private final CPython py;

    CallAsTest(CPython py) {
        this.py = py;
    }

    @Test
    void resultsArriveAsTheRequestedJavaType() {
        try (PyObject f = py.eval("lambda x: x")) {
            assertEquals(7L, f.callAs(Long.class, 7));
            assertEquals(2.5, f.callAs(Double.class, 2.5));
            assertEquals(3.0, f.callAs(Double.class, 3));           // an int has __float__... via PyFloat_AsDouble
            assertEquals("héllo ✓", f.callAs(String.class, "héllo ✓"));
            assertEquals(true, f.callAs(Boolean.class, "non-empty"));
            assertArrayEquals(new byte[]{1, 2, 3}, f.callAs(byte[].class, (Object) new byte[]{1, 2, 3}));
            assertNull(f.callAs(Object.class, (Object) null));
            assertEquals(5L, f.callAs(Object.class, 5));
            try (PyObject list = (PyObject) f.callAs(Object.class, py.eval("[1, 2]"))) {
                assertEquals("[1, 2]", list.repr());
            }
        }
    }

    @Test
    void wrongResultTypesAndUnknownTargetsAreClearErrors() {
        py.exec("calls = 0\ndef counted(x):\n    global calls\n    calls += 1\n    return x");
        try (PyObject f = py.eval("counted")) {
            PythonException e = assertThrows(PythonException.class, () -> f.callAs(Long.class, "text"));
            assertTrue(e.is("TypeError"), e.getMessage());
            assertThrows(ClassCastException.class, () -> f.callAs(String.class, 1));
            IllegalArgumentException bad = assertThrows(IllegalArgumentException.class, () -> f.callAs(Integer.class, 1));
            assertTrue(bad.getMessage().contains("Long"), bad.getMessage());
            try (PyObject calls = py.eval("calls")) {
                assertEquals(2, calls.asLong(), "an unsupported target type is refused before the call");
            }
        }
    }

    @Test
    void manyCallsLeaveNoReferenceBehind() {
        try (PyObject f = py.eval("lambda x: [x]")) {
            long before = py.diagnostics().liveReferences();
            py.exec("import sys\nprobe = object()");
            try (PyObject probe = py.eval("probe"); PyObject rc = py.eval("sys.getrefcount")) {
                long refs = rc.callAs(Long.class, probe);
                for (int i = 0; i < 100_000; i++) {
                    Object r = f.callAs(Object.class, probe);
                    ((PyObject) r).close();
                    assertInstanceOf(PyObject.class, r);
                }
                assertEquals(refs, rc.callAs(Long.class, probe));
            }
            assertEquals(before, py.diagnostics().liveReferences());
        }
    }
}
