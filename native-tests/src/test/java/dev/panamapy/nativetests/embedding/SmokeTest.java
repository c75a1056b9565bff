package dev.panamapy.nativetests.embedding;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

@PythonTest
class SmokeTest {
    @Test
    void evalReturnsValue(CPython py) {
        try (PyObject r = py.eval("1 + 2")) {
            assertEquals(3, r.asLong());
        }
        py.exec("import sys\nx = 40");
        try (PyObject r = py.eval("x + 2")) {
            assertEquals(42, r.asLong());
        }
    }
}
