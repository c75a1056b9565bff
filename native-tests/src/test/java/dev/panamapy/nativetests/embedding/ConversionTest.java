package dev.panamapy.nativetests.embedding;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.nativetests.exporter.PyCheck;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Java arguments of PyObject.call become the Python values they stand for, and come back unchanged. */
@PythonTest
class ConversionTest {

    private static PyObject ident;

    private static CPython py;

    @BeforeAll
    static void define(CPython python) {
        py = python;
        py.exec(String.join("\n",
                "ident_calls = 0",
                "def ident(x):",
                "    global ident_calls",
                "    ident_calls += 1",
                "    return (type(x).__name__, x)",
                ""));
        ident = py.getGlobal("ident");
    }

    private static long identCalls() {
        try (PyObject n = py.eval("ident_calls")) {
            return n.asLong();
        }
    }

    /** Calls ident(value) and checks the Python type name; returns the value as Python saw it. */
    private static PyObject roundTrip(Object value, String pythonType) {
        try (PyObject pair = ident.call(value); PyObject type = pair.getItem(0)) {
            assertEquals(pythonType, type.asString());
            return pair.getItem(1);
        }
    }

    @Test
    void nullBecomesNone() {
        try (PyObject v = roundTrip(null, "NoneType")) {
            assertTrue(v.isNone());
            assertEquals("None", v.repr());
        }
    }

    @Test
    void booleansBecomeBool() {
        try (PyObject t = roundTrip(Boolean.TRUE, "bool"); PyObject f = roundTrip(false, "bool")) {
            assertTrue(t.asBoolean());
            assertFalse(f.asBoolean());
            assertEquals("True", t.repr());
            assertEquals("False", f.repr());
        }
    }

    @Test
    void integersBecomeInt() {
        for (int i : new int[]{0, 1, -1, Integer.MAX_VALUE, Integer.MIN_VALUE}) {
            try (PyObject v = roundTrip(i, "int")) {
                assertEquals(i, v.asLong());
            }
        }
    }

    @Test
    void longsBecomeIntWithoutLoss() {
        for (long l : new long[]{0L, 1L << 40, Long.MAX_VALUE, Long.MIN_VALUE}) {
            try (PyObject v = roundTrip(l, "int")) {
                assertEquals(l, v.asLong());
                assertEquals(Long.toString(l), v.repr());
            }
        }
    }

    @Test
    void doublesBecomeFloat() {
        for (double d : new double[]{0.0, -2.5, Math.PI, Double.MAX_VALUE, Double.MIN_VALUE}) {
            try (PyObject v = roundTrip(d, "float")) {
                assertEquals(d, v.asDouble());
            }
        }
        try (PyObject inf = roundTrip(Double.POSITIVE_INFINITY, "float"); PyObject nan = roundTrip(Double.NaN, "float")) {
            assertEquals("inf", inf.repr());
            assertEquals("nan", nan.repr());
        }
    }

    @Test
    void stringsWithNonAsciiAndEmojiRoundTrip() {
        String s = "h\u00e9llo w\u00f6rld \u2713 \u65e5\u672c\u8a9e \ud83d\ude00\ud83c\udf89 \u0000end";
        try (PyObject v = roundTrip(s, "str"); PyObject len = py.eval("len").call(v)) {
            assertEquals(s, v.asString());
            assertEquals(s.codePointCount(0, s.length()), len.asLong(), "Python counts code points");
        }
        try (PyObject empty = roundTrip("", "str")) {
            assertEquals("", empty.asString());
        }
        try (PyObject emoji = roundTrip("\ud83d\ude00", "str"); PyObject ord = py.eval("ord").call(emoji)) {
            assertEquals(0x1F600, ord.asLong());
        }
    }

    @Test
    void byteArraysBecomeBytesAndRoundTrip() {
        byte[] all = new byte[256];
        for (int i = 0; i < all.length; i++) all[i] = (byte) i;
        try (PyObject v = roundTrip(all, "bytes"); PyObject len = py.eval("len").call(v)) {
            assertArrayEquals(all, v.asBytesCopy());
            assertEquals(256, len.asLong());
        }
        try (PyObject empty = roundTrip(new byte[0], "bytes")) {
            assertArrayEquals(new byte[0], empty.asBytesCopy());
        }
    }

    @Test
    void pyObjectArgumentIsPassedAsItself() {
        try (PyObject list = py.eval("[1, 2, 3]"); PyObject v = roundTrip(list, "list");
             PyObject same = py.eval("lambda a, b: a is b").call(list, v)) {
            assertTrue(same.asBoolean());
        }
    }

    @Test
    void unsupportedArgumentTypeIsRejectedBeforePythonIsCalled() {
        long before = identCalls();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ident.call(new Object()));
        assertTrue(e.getMessage().contains("cannot pass a java.lang.Object to Python"), e.getMessage());
        IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class, () -> ident.call(List.of(1, 2)));
        assertTrue(e2.getMessage().contains("cannot pass a java.util."), e2.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ident.call('c'));
        assertEquals(before, identCalls(), "ident was called although an argument could not be converted");
    }

    @Test
    void unsupportedArgumentAfterGoodOnesLeaksNothingAndCallsNothing() {
        PyObject two = py.eval("lambda a, b: (a, b)");
        long before = identCalls();
        long refs = py.diagnostics().liveReferences();
        for (int i = 0; i < 1000; i++) {
            assertThrows(IllegalArgumentException.class, () -> ident.call("fine", new StringBuilder("bad")));
            assertThrows(IllegalArgumentException.class, () -> two.call(1, new int[]{2}));
        }
        assertEquals(before, identCalls());
        // other tests' unclosed objects may be cleaned meanwhile (fewer references): never more
        long after = PyCheck.settle(d -> d.liveReferences() <= refs, Duration.ofSeconds(10)).liveReferences();
        assertTrue(after <= refs, "2,000 refused calls left " + (after - refs) + " references behind");
        two.close();
    }
}
