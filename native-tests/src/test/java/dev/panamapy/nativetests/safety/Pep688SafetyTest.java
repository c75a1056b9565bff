package dev.panamapy.nativetests.safety;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;
import dev.panamapy.nativetests.pep688.Pep688DifferentialTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code panamapy.Buffer} under hostile use: recursion through {@code __buffer__}, every
 * deallocation order of instance, view, memoryview and wrapper, reference cycles through a view,
 * {@code __class__} reassigned while a view lives, errors of every kind in both methods, and
 * counts flat over many rounds of each. On 3.12+ this is CPython's own PEP 688, which must pass
 * the same tests.
 */
@Adversarial
class Pep688SafetyTest {

    /** Rounds per leak check; more with -Dpanamapy.pep688.rounds (the soak: 100000). */
    private static final int ROUNDS = Integer.getInteger("panamapy.pep688.rounds", 20_000);

    private final CPython py;

    @RegisterExtension
    final NothingLeftBehind nothingLeftBehind;

    Pep688SafetyTest(CPython py) throws java.io.IOException {
        this.py = py;
        py.exec(Pep688DifferentialTest.resource("exporters.py"));
        this.nothingLeftBehind = new NothingLeftBehind(py);
    }

    @BeforeEach
    void collect() {
        py.exec("gc.collect()");
    }

    private String str(String expr) {
        try (PyObject r = py.eval(expr)) {
            return r.asString();
        }
    }

    @Test
    void recursionThroughBufferEndsInRecursionErrorAndPythonGoesOn() {
        py.exec("""
                class Itself(panamapy.Buffer):
                    def __buffer__(self, flags):
                        return memoryview(self)
                """);
        PythonException e = assertThrows(PythonException.class, () -> py.exec("memoryview(Itself())"));
        assertTrue(e.is("RecursionError"), e.getMessage());
        assertEquals("b'still fine'", str("repr(bytes(Delegating(bytearray(b'still fine'))))"));
    }

    @Test
    void theViewKeepsTheInstanceAliveAndTheReleaseComesBeforeItGoes() {
        py.exec("""
                x = Delegating(bytearray(b'abc'))
                m = memoryview(x)
                alive = forget('x')
                during = alive() is not None
                count = alive().released
                m.release()
                after_release = alive() is None
                """);
        assertEquals("True 0 True", str("f'{during} {count} {after_release}'"));
    }

    @Test
    void aWrapperKeptPastTheReleaseHoldsNothing() {
        py.exec("""
                data = bytearray(b'abc')
                x = Delegating(data)
                base = sys.getrefcount(x)
                m = memoryview(x)
                w = m.obj
                m.release()
                data.append(0)                      # resizable: the memoryview __buffer__ made is gone
                refs = sys.getrefcount(x) - base
                repr(w); hash(w); w == w
                """);
        assertEquals("0 1", str("f'{refs} {x.released}'"));
        py.exec("del data, x, base, m, w, refs");
    }

    @Test
    void aViewOfItselfIsACycleTheCollectorFrees() {
        py.exec("""
                x = Delegating(bytearray(b'cycle'))
                x.self_view = memoryview(x)
                freed = forget('x')() is None
                """);
        assertEquals("True", str("str(freed)"));
    }

    @Test
    void reassigningClassWhileAViewLivesCallsTheNewClassesRelease() {
        py.exec("""
                calls = []
                class A(panamapy.Buffer):
                    def __buffer__(self, flags):
                        return memoryview(b'a')
                    def __release_buffer__(self, view):
                        calls.append('A')
                class B(panamapy.Buffer):
                    def __buffer__(self, flags):
                        return memoryview(b'b')
                    def __release_buffer__(self, view):
                        calls.append('B')
                x = A()
                m = memoryview(x)
                x.__class__ = B
                m.release()
                del A.__release_buffer__
                m = memoryview(x)
                del B.__release_buffer__
                m.release()
                """);
        assertEquals("['B'] B", str("f'{calls} {type(x).__name__}'"));
        py.exec("del calls, A, B, x, m");
    }

    @Test
    void theWrapperCannotBeMadeFromPython() {
        py.exec("m = memoryview(Delegating(b'x')); W = type(m.obj)");
        PythonException e = assertThrows(PythonException.class, () -> py.exec("W()"));
        assertTrue(e.is("TypeError") && e.pythonMessage().contains("cannot create '_buffer_wrapper' instances"),
                e.getMessage());
        py.exec("m.release(); del m, W");
    }

    @Test
    void systemExitInReleaseIsUnraisableNotAnExit() {
        py.exec("seen = unraisable_during(lambda: memoryview(Fixed(b'x', SystemExit(3))).release())");
        assertEquals("[('SystemExit', '3')]", str("repr(seen)"));
        py.exec("del seen");
    }

    /** Counts flat: each kind of exporter, used and failed ROUNDS times, twice; the second batch changes nothing. */
    @ParameterizedTest
    @ValueSource(strings = {"delegating", "raising", "wrong-type", "release-raises", "nested", "refused-request"})
    void countsStayFlatOverManyRounds(String kind) {
        py.exec("""
                class Raising(panamapy.Buffer):
                    def __buffer__(self, flags):
                        raise ValueError('no')
                class WrongType(panamapy.Buffer):
                    def __buffer__(self, flags):
                        return b'no'
                class ReleaseRaises(Delegating):
                    def __release_buffer__(self, view):
                        raise KeyError('no')
                data = bytearray(b'0123456789')
                ex = {'delegating': Delegating(data), 'raising': Raising(), 'wrong-type': WrongType(),
                      'release-raises': ReleaseRaises(data), 'nested': Delegating(Delegating(data)),
                      'refused-request': Delegating(b'read-only')}[KIND]
                import _testbuffer
                def one():
                    try:
                        if KIND == 'refused-request':
                            _testbuffer.ndarray(ex, getbuf=1)     # WRITABLE on bytes: BufferError
                        else:
                            memoryview(ex).release()
                    except (ValueError, TypeError, BufferError):
                        pass
                def rounds(n):
                    unraisable_during(lambda: [one() for _ in range(n)])
                def counts():
                    gc.collect()
                    return (sys.getrefcount(ex), sys.getrefcount(data), len(gc.get_objects()))
                """.replace("KIND", "'" + kind + "'"));
        CPython.Diagnostics d0 = py.diagnostics();
        py.exec("rounds(" + ROUNDS + ")\nbefore, after = None, None\n"
                + "def measure():\n    b = counts()\n    rounds(" + ROUNDS + ")\n    return b, counts()\n"
                + "before, after = measure()");
        CPython.Diagnostics d1 = py.diagnostics();
        assertEquals(str("repr(before[:2])"), str("repr(after[:2])"), "refcounts of exporter and data");
        // objects the collector tracks: none more (a couple fewer is CPython settling its caches)
        assertEquals("True", str("str(after[2] <= before[2])"), () -> "GC objects " + str("repr((before, after))"));
        assertEquals(d0.liveReferences(), d1.liveReferences());
        assertEquals(d0.liveViews(), d1.liveViews());
        assertEquals("True", str("str(data.append(0) is None)"), "the bytearray has no export left");
        py.exec("del Raising, WrongType, ReleaseRaises, data, ex, one, rounds, counts, before, after, measure");
    }
}
