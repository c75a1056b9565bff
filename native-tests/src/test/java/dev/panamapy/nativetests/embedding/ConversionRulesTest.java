package dev.panamapy.nativetests.embedding;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Python to Java conversion has one set of rules: {@code callAs(T)} answers as the matching
 * {@code as*} method, and {@code callAs(Object.class)} as a Java function's arguments arrive,
 * for subclasses and near-miss types alike (before, {@code callAs(byte[].class)} refused a
 * bytes subclass that {@code asBytesCopy()} accepted).
 */
@PythonTest
class ConversionRulesTest {

    private static PyObject make;       // make(expr) evaluates expr in a namespace with the subclasses below

    @BeforeAll
    static void define(CPython py) {
        py.exec(String.join("\n",
                "class _RB(bytes): pass",
                "class _RS(str): pass",
                "class _RI(int): pass",
                "class _RF(float): pass",
                "def _rules_make(expr):",
                "    return eval(expr)",
                ""));
        make = py.getGlobal("_rules_make");
    }

    @AfterAll
    static void forget(CPython py) {
        make.close();
        py.exec("del _RB, _RS, _RI, _RF, _rules_make");
    }

    /** The value, or the exception's class (and Python type), so two conversions can be compared. */
    private static Object outcome(Supplier<?> conversion) {
        try {
            Object v = conversion.get();
            return v instanceof byte[] b ? Arrays.toString(b) : v;
        } catch (PythonException e) {
            return "PythonException " + e.pythonType();
        } catch (RuntimeException e) {
            return e.getClass().getSimpleName();
        }
    }

    private static <T> void sameAnswer(String expr, Class<T> type, java.util.function.Function<PyObject, T> as) {
        Object viaCallAs = outcome(() -> make.callAs(type, expr));
        Object viaAs;
        try (PyObject v = make.call(expr)) {
            viaAs = outcome(() -> as.apply(v));
        }
        assertEquals(viaAs, viaCallAs, "callAs(" + type.getSimpleName() + ") and as* on " + expr);
    }

    @Test
    void bytesSubclassIsBytesForCallAsAndAsBytesCopy() {
        byte[] expected = {'a', 0, 'b'};
        assertArrayEquals(expected, make.callAs(byte[].class, "_RB(b'a\\x00b')"));
        try (PyObject v = make.call("_RB(b'a\\x00b')")) {
            assertArrayEquals(expected, v.asBytesCopy());
        }
    }

    @Test
    void mutableBuffersAreNotBytesForEitherRule() {
        for (String expr : List.of("bytearray(b'ab')", "memoryview(b'ab')", "'ab'")) {
            ClassCastException viaCallAs = assertThrows(ClassCastException.class, () -> make.callAs(byte[].class, expr));
            try (PyObject v = make.call(expr)) {
                ClassCastException viaAs = assertThrows(ClassCastException.class, v::asBytesCopy);
                assertEquals(viaAs.getMessage(), viaCallAs.getMessage(), expr);
            }
            assertTrue(viaCallAs.getMessage().contains("is not bytes"), viaCallAs.getMessage());
        }
    }

    @Test
    void strSubclassWithLoneSurrogatesArrivesExactlyEitherWay() {
        String expr = "_RS('a\\udcff\\x00z')";
        assertEquals("a\uDCFF\u0000z", make.callAs(String.class, expr));
        sameAnswer(expr, String.class, PyObject::asString);
        sameAnswer("b'not a str'", String.class, PyObject::asString);
    }

    @Test
    void numbersAnswerTheSameThroughCallAsAndAs() {
        for (String expr : List.of("5", "_RI(5)", "True", "2.5", "_RF(2.5)", "2**70", "'7'", "None")) {
            sameAnswer(expr, Long.class, PyObject::asLong);
            sameAnswer(expr, Double.class, PyObject::asDouble);
            sameAnswer(expr, Boolean.class, PyObject::asBoolean);
        }
        assertEquals(1L, make.callAs(Long.class, "True"), "bool is an int for the index rule");
        assertEquals(3.0, make.callAs(Double.class, "3"), "an int is a float for the float rule");
        assertEquals(5L, make.callAs(Long.class, "_RI(5)"));
    }

    @Test
    void callAsObjectGivesWhatAJavaFunctionReceives(CPython py) {
        AtomicReference<Object> received = new AtomicReference<>();
        List<PyObject> owned = new ArrayList<>();
        try (PyObject f = py.function("_rules_probe", args -> {
            Object a = args[0];
            received.set(a instanceof PyObject p ? "PyObject " + p.typeName() : a);
            return null;
        })) {
            for (String expr : List.of("None", "True", "5", "_RI(5)", "2**70", "1.5", "_RF(1.5)", "'x\\udc80'",
                    "_RS('x')", "b'y'", "_RB(b'y')", "bytearray(b'q')")) {
                try (PyObject v = make.call(expr); PyObject ignored = f.call(v)) {
                    Object viaCallAs = make.callAs(Object.class, expr);
                    Object asArgument = received.get();
                    if (viaCallAs instanceof PyObject p) {
                        owned.add(p);
                        assertEquals(asArgument, "PyObject " + p.typeName(), expr);
                    } else if (viaCallAs instanceof byte[] b) {
                        assertInstanceOf(byte[].class, asArgument, expr);
                        assertArrayEquals((byte[]) asArgument, b, expr);
                    } else {
                        assertEquals(asArgument, viaCallAs, expr);
                    }
                }
            }
        } finally {
            owned.forEach(PyObject::close);
        }
        assertEquals(Boolean.TRUE, make.callAs(Object.class, "True"), "bool stays Boolean, not Long");
        assertEquals(5L, make.callAs(Object.class, "5"));
        try (PyObject sub = (PyObject) make.callAs(Object.class, "_RI(5)")) {
            assertEquals("__main__._RI", sub.typeName(), "an int subclass stays a Python object");
        }
    }
}
