package dev.panamapy.nativetests.pep688;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code panamapy.Buffer} on every CPython from 3.9 on: PEP 688's {@code __buffer__} /
 * {@code __release_buffer__} semantics as CPython 3.12 implements them (the differential table,
 * {@link Pep688DifferentialTest}, compares every request; these name single behaviours), and
 * {@code panamapy.BufferFlags}.
 */
@PythonTest
class BufferClassTest {

    private final CPython py;

    BufferClassTest(CPython py) {
        this.py = py;
    }

    @BeforeEach
    void defineExporters() throws java.io.IOException {
        py.exec(Pep688DifferentialTest.resource("exporters.py"));
    }

    private String str(String expr) {
        try (PyObject r = py.eval(expr)) {
            return r.asString();
        }
    }

    private PythonException raises(String code) {
        return assertThrows(PythonException.class, () -> py.exec(code), code);
    }

    @Test
    void writesThroughTheViewReachTheDelegate() {
        py.exec("b = bytearray(4); x = Delegating(b)\nwith memoryview(x) as m: m[1] = 7");
        assertEquals("bytearray(b'\\x00\\x07\\x00\\x00')", str("repr(b)"));
    }

    @Test
    void theViewsObjIsABufferWrapperAsOnCPython312() {
        py.exec("x = Delegating(b'ab'); m = memoryview(x)");
        assertEquals("_buffer_wrapper builtins False", str("f'{type(m.obj).__name__} {type(m.obj).__module__} {m.obj is x}'"));
        py.exec("m.release()");
    }

    @Test
    void releaseBufferGetsTheMemoryviewBufferReturnedAfterTheConsumerReleases() {
        py.exec("x = Delegating(bytearray(b'abc')); m = memoryview(x); held = list(x.seen); m.release()");
        assertEquals("[284] [284, ('release', True)]", str("f'{held} {x.seen}'"));
        // released: the bytearray can be resized again
        py.exec("x.data.append(1)");
        assertEquals("4", str("str(len(x.data))"));
    }

    @Test
    void theFlagsAreTheConsumersRequestAsAnInt() {
        py.exec("import _testbuffer\nx = Delegating(b'abcd')\n"
                + "for f in (0, 8, 0x18, 0x1c, 0x11c): _testbuffer.ndarray(x, getbuf=f)");
        assertEquals("[0, ('release', True), 8, ('release', True), 24, ('release', True), 28, ('release', True), "
                + "284, ('release', True)] int", str("f'{x.seen} {type(x.seen[0]).__name__}'"));
    }

    @Test
    void anExceptionFromBufferIsTheConsumersException() {
        py.exec("""
                class Refusing(panamapy.Buffer):
                    def __buffer__(self, flags):
                        raise LookupError('no view today')
                """);
        PythonException e = raises("memoryview(Refusing())");
        assertTrue(e.is("LookupError"), e.getMessage());
        assertEquals("no view today", e.pythonMessage());
        assertTrue(e.pythonTraceback().contains("__buffer__"), e.pythonTraceback());
        assertEquals("None", str("repr(sys.exc_info()[0])"), "nothing left pending");
    }

    @Test
    void aResultThatIsNoMemoryviewIsTypeError() {
        PythonException e = raises("bytes(Fixed(bytearray(b'not a view')))");
        assertTrue(e.is("TypeError"), e.getMessage());
        assertEquals("__buffer__ returned non-memoryview object", e.pythonMessage());
    }

    @Test
    void anErrorInReleaseBufferGoesToTheUnraisableHookAndAPendingExceptionSurvives() {
        py.exec("""
                def hold_and_fail():
                    global outer
                    try:
                        with memoryview(Fixed(b'xy', KeyError('in release'))) as m:
                            raise ValueError('while holding the view')
                    except ValueError as e:
                        outer = str(e)
                caught = unraisable_during(hold_and_fail)
                """);
        assertEquals("[('KeyError', \"'in release'\")] while holding the view", str("f'{caught} {outer}'"));
    }

    @Test
    void bufferFlagsHasInspectsMembers() {
        assertEquals("SIMPLE=0 WRITABLE=1 FORMAT=4 ND=8 STRIDES=24 C_CONTIGUOUS=56 F_CONTIGUOUS=88 ANY_CONTIGUOUS=152 "
                        + "INDIRECT=280 CONTIG=9 CONTIG_RO=8 STRIDED=25 STRIDED_RO=24 RECORDS=29 RECORDS_RO=28 FULL=285 "
                        + "FULL_RO=284 READ=256 WRITE=512",
                str("' '.join(f'{n}={int(v)}' for n, v in panamapy.BufferFlags.__members__.items())"));
        assertEquals("True True", str("f'{issubclass(panamapy.BufferFlags, __import__(\"enum\").IntFlag)} "
                + "{panamapy.BufferFlags.FULL_RO == 284}'"));
        if (py.minorVersion() >= 12) {
            assertEquals("True", str("str(panamapy.BufferFlags is __import__('inspect').BufferFlags)"));
        }
    }

    @Test
    void onCPython312AndLaterBufferAddsNothingToNativePep688() {
        String expected = py.minorVersion() >= 12 ? "(<class 'object'>,) True" : "(<class 'panamapy._BufferBase'>,) False";
        assertEquals(expected, str("f'{panamapy.Buffer.__bases__} {panamapy.Buffer.__bases__ == (object,)}'"));
    }

    @Test
    void combiningWithATypeThatExportsItsOwnBufferIsRefusedBefore312() {
        String code = """
                class Mixed(panamapy.Buffer, bytearray):
                    def __buffer__(self, flags):
                        return memoryview(b'mine')
                mixed = bytes(Mixed(b'theirs'))
                """;
        if (py.minorVersion() >= 12) {
            py.exec(code);
            assertEquals("b'mine'", str("repr(mixed)"));
        } else {
            PythonException e = raises(code);
            assertTrue(e.is("TypeError"), e.getMessage());
            assertTrue(e.pythonMessage().startsWith("panamapy.Buffer cannot be combined with builtins.bytearray, which "
                    + "exports a buffer of its own"), e.pythonMessage());
        }
    }

    @Test
    void aSubclassWithoutBufferIsNoBytesLikeObject() {
        py.exec("class Empty(panamapy.Buffer): pass");
        PythonException e = raises("memoryview(Empty())");
        assertTrue(e.is("TypeError"), e.getMessage());
        assertTrue(e.pythonMessage().contains("a bytes-like object is required, not 'Empty'"), e.pythonMessage());
    }

    @Test
    void itWorksFromAThreadPythonStarted() {
        py.exec("""
                out = []
                def work():
                    import panamapy
                    out.append((bytes(Fixed(b'thread')), isinstance(Fixed(b''), panamapy.Buffer)))
                t = threading.Thread(target=work); t.start(); t.join()
                """);
        assertEquals("[(b'thread', True)]", str("repr(out)"));
    }

    @Test
    void nestedDelegationReleasesOuterThenInner() {
        py.exec("""
                order = []
                class Named(panamapy.Buffer):
                    def __init__(self, name, inner):
                        self.name, self.inner = name, inner
                    def __buffer__(self, flags):
                        order.append('get ' + self.name)
                        return memoryview(self.inner)
                    def __release_buffer__(self, view):
                        order.append('release ' + self.name)
                with memoryview(Named('outer', Named('inner', b'data'))) as m:
                    got = bytes(m)
                """);
        assertEquals("b'data' ['get outer', 'get inner', 'release outer', 'release inner']", str("f'{got} {order}'"));
    }
}
