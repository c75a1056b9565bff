package dev.panamapy.arrow;

import dev.panamapy.CPython;
import dev.panamapy.PythonException;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Python-side assertions. */
final class PyObjectAssert {
    private PyObjectAssert() { }

    /** Evaluating {@code expression} raises, with {@code fragment} in the message. */
    static PythonException raises(CPython py, String expression, String fragment) {
        PythonException e = assertThrows(PythonException.class, () -> py.eval(expression).close());
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
        return e;
    }
}
