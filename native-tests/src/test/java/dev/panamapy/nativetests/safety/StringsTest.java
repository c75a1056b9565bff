package dev.panamapy.nativetests.safety;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Class 6 of issue 15, strings. Python to Java: a str arrives as exactly its UTF-16 code units,
 * lone surrogates included, through every path (asString, toString, repr, callAs, a Java
 * function's argument, exception messages and tracebacks, type names): never null, never an
 * error left pending for the next call. Java to Python: the same code points, lone surrogates
 * and NUL kept. NUL in code or a name: IllegalArgumentException naming the index, and nothing
 * reaches Python. Round trips are property-tested with seeded random strings.
 */
@Adversarial
class StringsTest {

    private static final long SEED = 0x5EED_15L;

    private final CPython py;
    private PyObject minusOne;

    StringsTest(CPython py) {
        this.py = py;
    }

    @BeforeEach
    void setUp() {
        minusOne = py.eval("-1");
    }

    @AfterEach
    void tearDown() {
        minusOne.close();
        py.exec("for _n in [n for n in globals() if n.startswith('t_')]: del globals()[_n]");
    }

    /**
     * No Python error is pending: {@code asLong()} of -1 asks {@code PyErr_Occurred} directly (a
     * pending error would be thrown there), and the next call runs and sees no exception.
     */
    private void assertNothingPending() {
        assertEquals(-1, minusOne.asLong());
        try (PyObject r = py.eval("__import__('sys').exc_info() == (None, None, None) and 6 * 7")) {
            assertEquals(42, r.asLong());
        }
    }

    // ---- Python to Java -------------------------------------------------------------------------

    @Test
    void loneSurrogateStrIsReadExactlyByEveryConversion() {
        try (PyObject s = py.eval("'a\\ud800b\\udce9'");
             PyObject id = py.eval("lambda x: x")) {
            String expected = "a\ud800b\udce9";
            assertEquals(expected, s.asString());
            assertNothingPending();
            assertEquals(expected, s.toString());
            assertNothingPending();
            assertEquals("'a\\ud800b\\udce9'", s.repr());
            assertNothingPending();
            assertEquals(expected, id.callAs(String.class, s));
            assertNothingPending();
            assertEquals(expected, id.callAs(Object.class, s));
            assertNothingPending();
        }
    }

    @Test
    void surrogateEscapedFileNameRoundTripsToTheSameFile() {
        py.exec("""
                import os, tempfile
                t_dir = tempfile.mkdtemp()
                open(os.path.join(os.fsencode(t_dir), b'caf\\xe9.txt'), 'wb').close()
                t_name = os.listdir(t_dir)[0]
                """);
        try (PyObject listed = py.getGlobal("t_name");
             PyObject exists = py.eval("lambda n: os.path.exists(os.path.join(t_dir, n)) and n == t_name")) {
            String name = listed.asString();
            assertEquals("caf\udce9.txt", name, "the Latin-1 byte arrives as its surrogateescape code unit");
            assertTrue(exists.callAs(Boolean.class, name), "the Java string names the same file in Python");
            assertNothingPending();
        } finally {
            py.exec("import shutil; shutil.rmtree(t_dir)");
        }
    }

    @Test
    void javaFunctionReceivesLoneSurrogatesExactly() {
        AtomicReference<Object> seen = new AtomicReference<>();
        try (PyObject f = py.function("t_seen", args -> { seen.set(args[0]); return args[0]; });
             PyObject call = py.eval("lambda f: f('x\\udce9\\x00y') == 'x\\udce9\\x00y'")) {
            assertTrue(call.callAs(Boolean.class, f), "what the Java function returns is the str it was given");
            assertEquals("x\udce9\0y", seen.get());
            assertNothingPending();
        }
    }

    @Test
    void exceptionMessageTypeAndTracebackKeepLoneSurrogates() {
        PythonException e = assertThrows(PythonException.class, () -> py.exec("""
                t_E = type('T_Err', (Exception,), {'__qualname__': 'T_Err\\udce9'})   # a C type name cannot hold one
                raise t_E('bad \\udce9 name')
                """));
        assertEquals("T_Err\udce9", e.pythonType());
        assertEquals("bad \udce9 name", e.pythonMessage());
        assertTrue(e.pythonTraceback().contains("T_Err\udce9: bad \udce9 name"), e.pythonTraceback());
        assertNothingPending();
    }

    @Test
    void exceptionWhoseStrRaisesHasANonNullMessage() {
        PythonException e = assertThrows(PythonException.class, () -> py.exec("""
                class T_Unprintable(Exception):
                    def __str__(self):
                        raise RuntimeError('no')
                raise T_Unprintable()
                """));
        assertEquals("T_Unprintable", e.pythonType());
        assertEquals("<exception str() failed>", e.pythonMessage());
        assertNothingPending();
    }

    @Test
    void typeNameWithLoneSurrogateIsExact() {
        try (PyObject o = py.eval("type('T', (), {'__qualname__': 'T\\ud800', '__module__': 'm\\udce9'})()")) {
            assertEquals("m\udce9.T\ud800", o.typeName());
            assertNothingPending();
        }
    }

    // ---- Java to Python -------------------------------------------------------------------------

    @Test
    void javaLoneSurrogatesAndNulReachPythonAsTheSameCodePoints() {
        String s = "a\ud800\0\udc00\ud83d\ude00\uffff";
        try (PyObject ords = py.eval("lambda s: [ord(c) for c in s] == [0x61, 0xd800, 0, 0xdc00, 0x1f600, 0xffff]")) {
            assertTrue(ords.callAs(Boolean.class, s));
        }
        py.setGlobal("t_s", s);
        try (PyObject back = py.getGlobal("t_s")) {
            assertEquals(s, back.asString());
        }
        assertNothingPending();
    }

    @Test
    void javaExceptionMessageReachesPythonExactly() {
        try (PyObject f = py.function("t_thrower", args -> { throw new IllegalStateException("bad\0\ud800"); })) {
            py.setGlobal("t_thrower", f);
            py.exec("""
                    try:
                        t_thrower()
                    except Exception as e:
                        t_msg = str(e)
                    """);
            try (PyObject msg = py.getGlobal("t_msg")) {
                assertEquals("java.lang.IllegalStateException: bad\0\ud800", msg.asString());
            }
        }
        assertNothingPending();
    }

    /** Random Java strings (lone surrogates, NUL, astral, U+FFFF) cross to Python as their code points and back unchanged. */
    @Test
    void randomJavaStringsRoundTripThroughPythonExactly() {
        Random r = new Random(SEED);
        try (PyObject id = py.eval("lambda s: s");
             PyObject ords = py.eval("lambda s: [ord(c) for c in s]");
             PyObject echo = py.function("t_echo", args -> args[0]);
             PyObject viaJava = py.eval("lambda f, s: f(s)")) {
            for (int round = 0; round < 2_000; round++) {
                String s = randomJavaString(r);
                String label = "seed " + SEED + " round " + round + ": " + escape(s);
                assertEquals(s, id.callAs(String.class, s), label);
                assertEquals(s, id.callAs(Object.class, s), label);
                try (PyObject cps = ords.call(s)) {
                    assertArrayEquals(s.codePoints().asLongStream().toArray(), longs(cps), label);
                }
                assertEquals(s, viaJava.callAs(String.class, echo, s), label);
                py.setGlobal("t_s", s);
                try (PyObject g = py.getGlobal("t_s")) {
                    assertEquals(s, g.asString(), label);
                    assertEquals(s, g.toString(), label);
                }
            }
        }
        assertNothingPending();
    }

    /** Random Python code point sequences arrive in Java as exactly their UTF-16 code units. */
    @Test
    void randomPythonStringsArriveAsTheirUtf16CodeUnits() {
        Random r = new Random(SEED + 1);
        try (PyObject make = py.eval("lambda *cps: ''.join(map(chr, cps))");
             PyObject reprOf = py.eval("lambda *cps: repr(''.join(map(chr, cps)))")) {
            for (int round = 0; round < 2_000; round++) {
                int n = r.nextInt(12);
                Object[] cps = new Object[n];
                StringBuilder expected = new StringBuilder();
                for (int i = 0; i < n; i++) {
                    int cp = randomCodePoint(r);
                    cps[i] = (long) cp;
                    expected.appendCodePoint(cp);    // a lone surrogate code point appends that one char
                }
                String label = "seed " + (SEED + 1) + " round " + round + ": " + escape(expected.toString());
                assertEquals(expected.toString(), make.callAs(String.class, cps), label);
                try (PyObject s = make.call(cps)) {
                    assertEquals(expected.toString(), s.asString(), label);
                    assertEquals(expected.toString(), s.toString(), label);
                }
                assertFalse(reprOf.callAs(String.class, cps).isEmpty(), label);
            }
        }
        assertNothingPending();
    }

    @Test
    void nulInsideAValueRoundTrips() {
        try (PyObject id = py.eval("lambda s: s");
             PyObject len = py.eval("len")) {
            assertEquals("a\0b\0", id.callAs(String.class, "a\0b\0"));
            assertEquals(4, len.callAs(Long.class, "a\0b\0"));
        }
    }

    // ---- NUL in code and names: refused before anything reaches Python ---------------------------

    @Test
    void nulInCodeIsRefusedNamingTheIndex() {
        assertRefused("code", 1, () -> py.eval("1\0+1"));
        py.exec("t_ran = False");
        assertRefused("code", 9, () -> py.exec("t_ran = 1\0; t_ran = True"));
        try (PyObject ran = py.getGlobal("t_ran")) {
            assertFalse(ran.asBoolean(), "nothing before the NUL ran either");
        }
        assertNothingPending();
    }

    @Test
    void loneSurrogateInCodeIsRefusedButEscapedOneWorks() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> py.eval("'\ud800'"));
        assertTrue(e.getMessage().contains("lone surrogate U+D800 at index 1"), e.getMessage());
        try (PyObject s = py.eval("'\\ud800'")) {
            assertEquals("\ud800", s.asString());
        }
        assertNothingPending();
    }

    @Test
    void nulInAGlobalNameIsRefusedAndNothingIsBound() {
        py.exec("globals().pop('a', None)");
        assertRefused("global name", 1, () -> py.setGlobal("a\0b", 1));
        try (PyObject bound = py.eval("'a' in globals()")) {
            assertFalse(bound.asBoolean(), "setGlobal(\"a\\0b\") must not bind 'a'");
        }
        py.exec("a = 5");
        assertRefused("global name", 1, () -> py.getGlobal("a\0b"));
        py.exec("del a");
        assertNothingPending();
    }

    @Test
    void nulInAModuleNameIsRefusedAndNothingIsImported() {
        assertRefused("module name", 2, () -> py.importModule("os\0.path"));
        assertNothingPending();
    }

    @Test
    void nulInAttributeNamesIsRefusedAndNothingIsSet() {
        py.exec("class T_O: pass\nt_o = T_O()");
        try (PyObject o = py.getGlobal("t_o")) {
            assertRefused("attribute name", 1, () -> o.setAttr("x\0y", 1));
            try (PyObject d = o.getAttr("__dict__")) {
                assertEquals(0, d.length(), "setAttr(\"x\\0y\") must not set 'x'");
            }
            py.exec("t_o.x = 1");
            assertRefused("attribute name", 1, () -> o.getAttr("x\0y"));
            assertRefused("attribute name", 1, () -> o.hasAttr("x\0y"));
            assertRefused("attribute name", 1, () -> o.callMethod("x\0y"));
        }
        assertNothingPending();
    }

    @Test
    void nulOrLoneSurrogateInAFunctionNameIsRefusedAndNothingIsDefined() {
        py.exec("globals().pop('f', None)");
        assertRefused("function name", 1, () -> py.defineFunction("f\0g", args -> null));
        assertRefused("function name", 1, () -> py.function("f\0g", args -> null));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> py.defineFunction("f\udce9", args -> null));
        assertTrue(e.getMessage().contains("lone surrogate U+DCE9 at index 1"), e.getMessage());
        try (PyObject bound = py.eval("'f' in globals() or 'f\\udce9' in globals()")) {
            assertFalse(bound.asBoolean());
        }
        assertNothingPending();
    }

    @Test
    void namesWithLoneSurrogatesAreStrNamesInPython() {
        py.setGlobal("t_\udce9", 7L);
        try (PyObject v = py.getGlobal("t_\udce9");
             PyObject viaPython = py.eval("globals()['t_\\udce9']")) {
            assertEquals(7, v.asLong());
            assertEquals(7, viaPython.asLong());
        }
        py.exec("class T_O: pass\nt_o = T_O()");
        try (PyObject o = py.getGlobal("t_o")) {
            o.setAttr("x\ud800", "v\ud800");
            assertTrue(o.hasAttr("x\ud800"));
            try (PyObject got = o.getAttr("x\ud800");
                 PyObject viaPython = py.eval("getattr(t_o, 'x\\ud800')")) {
                assertEquals("v\ud800", got.asString());
                assertEquals("v\ud800", viaPython.asString());
            }
        }
        PythonException e = assertThrows(PythonException.class, () -> py.importModule("no_such_\udce9"));
        assertTrue(e.pythonMessage().contains("'no_such_\\udce9'"), e.getMessage());
        assertThrows(NoSuchElementException.class, () -> py.getGlobal("t_missing_\udce9"));
        assertNothingPending();
    }

    // ---- helpers --------------------------------------------------------------------------------

    private void assertRefused(String what, int index, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().startsWith(what + " contains a NUL character (U+0000) at index " + index + " "),
                e.getMessage());
        assertNothingPending();
    }

    private static long[] longs(PyObject list) {
        int n = (int) list.length();
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            try (PyObject item = list.getItem(i)) {
                out[i] = item.asLong();
            }
        }
        return out;
    }

    /** Characters from every class that matters: ASCII, NUL, Latin-1, BMP, U+FFFF, lone halves, pairs. */
    private static String randomJavaString(Random r) {
        int n = r.nextInt(10);
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) {
            switch (r.nextInt(9)) {
                case 0 -> b.append((char) ('a' + r.nextInt(26)));
                case 1 -> b.append('\0');
                case 2 -> b.append((char) (0x80 + r.nextInt(0x80)));
                case 3 -> b.append((char) (0x100 + r.nextInt(0xD800 - 0x100)));
                case 4 -> b.append(r.nextBoolean() ? '\uffff' : '\ufffe');
                case 5 -> b.append((char) (0xD800 + r.nextInt(0x400)));                  // high, maybe lone
                case 6 -> b.append((char) (0xDC00 + r.nextInt(0x400)));                  // low, maybe lone
                case 7 -> b.appendCodePoint(0x10000 + r.nextInt(0x100000));             // astral pair
                default -> b.append((char) (0xE000 + r.nextInt(0x2000)));
            }
        }
        return b.toString();
    }

    private static int randomCodePoint(Random r) {
        return switch (r.nextInt(7)) {
            case 0 -> 'a' + r.nextInt(26);
            case 1 -> 0;
            case 2 -> 0xD800 + r.nextInt(0x800);          // a lone surrogate code point (either half)
            case 3 -> 0x10000 + r.nextInt(0x100000);
            case 4 -> 0xFFFF;
            case 5 -> 0x80 + r.nextInt(0x780);
            default -> 0x800 + r.nextInt(0xD000);
        };
    }

    private static String escape(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) b.append(c < 0x80 && c >= 0x20 ? String.valueOf(c) : String.format("\\u%04x", (int) c));
        return b.toString();
    }
}
