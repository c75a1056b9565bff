package dev.panamapy.nativetests.safety;

import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Issue 15, class 12: whatever Python does to the {@code panamapy.JavaBuffer} types (reassign an
 * instance's {@code __class__}, subclass them, set or delete their attributes, call
 * {@code __new__}, copy or pickle an instance), it gets a TypeError and the view counts stay
 * right, so {@code close()} works once Python let go. Replacing {@code __new__} on 3.9 (the one
 * version whose types stay mutable) runs in a child JVM: {@link TypeMutationMain}.
 */
@Adversarial
class JavaBufferTypeTest {

    private final CPython py;
    private Arena arena;
    private JavaBuffer tracked, untracked;
    private CPython.Diagnostics baseline;

    JavaBufferTypeTest(CPython py) {
        this.py = py;
    }

    @BeforeEach
    void exportOneOfEachKind() {
        py.exec("import gc, copy, pickle, panamapy\ngc.collect()");
        baseline = py.diagnostics();
        arena = py.arena();
        MemorySegment seg = arena.allocate(JAVA_LONG, 4);
        for (int i = 0; i < 4; i++) seg.setAtIndex(JAVA_LONG, i, 10 + i);
        tracked = py.export(BufferSpec.of(seg, "q"));
        untracked = py.exportUntracked(BufferSpec.of(seg, "q"));
        py.setGlobal("t_tracked", tracked);
        py.setGlobal("t_untracked", untracked);
    }

    @AfterEach
    void countsAreBackToBaseline() {
        py.exec("for _n in [n for n in globals() if n.startswith('t_')]: del globals()[_n]\ngc.collect()");
        tracked.close();
        untracked.close();
        arena.close();
        CPython.Diagnostics d = py.diagnostics();
        assertEquals(baseline.liveViews(), d.liveViews(), "views: " + d);
        assertEquals(baseline.liveExporters(), d.liveExporters(), "exporters: " + d);
        assertEquals(baseline.liveReferences(), d.liveReferences(), "references: " + d);
    }

    private PythonException raises(String code) {
        return assertThrows(PythonException.class, () -> py.exec(code), () -> "expected an exception from: " + code);
    }

    private void assertTypeError(String code) {
        PythonException e = raises(code);
        assertTrue(e.is("TypeError"), code + " raised " + e.getMessage());
    }

    private boolean isTrue(String expr) {
        try (PyObject r = py.eval(expr)) {
            return r.asBoolean();
        }
    }

    private String str(String expr) {
        try (PyObject r = py.eval(expr)) {
            return r.toString();
        }
    }

    /** A view taken before the abuse, released after it, is counted out: close() works. */
    private void assertCountsStayRight(String abuse) {
        py.exec("t_m = memoryview(t_tracked)\nt_u = memoryview(t_untracked)");
        assertEquals(1, tracked.exportCount());
        PythonException e = raises(abuse);
        assertTrue(e.is("TypeError"), abuse + " raised " + e.getMessage());
        assertEquals(1, tracked.exportCount(), "the abuse changed nothing");
        assertEquals("[10, 11, 12, 13] [10, 11, 12, 13]", str("f'{t_m.tolist()} {t_u.tolist()}'"));
        py.exec("t_m.release()\nt_u.release()");
        assertEquals(0, tracked.exportCount(), "the release reached Java");
        assertEquals(baseline.liveViews(), py.diagnostics().liveViews());
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
            "t_tracked.__class__ = type(t_untracked)",
            "t_untracked.__class__ = type(t_tracked)",
            "t_tracked.__class__ = panamapy.JavaBuffer",
            "t_untracked.__class__ = panamapy.JavaBuffer",
            "class t_S(panamapy.JavaBuffer): __slots__ = ()\nt_untracked.__class__ = t_S",
            "class t_S(panamapy.JavaBuffer): __slots__ = ()\nt_tracked.__class__ = t_S",
            "class t_D(panamapy.JavaBuffer): pass\nt_tracked.__class__ = t_D",
            "class t_O: __slots__ = ()\nt_tracked.__class__ = t_O",
            "object.__setattr__(t_tracked, '__class__', type(t_untracked))",
    })
    void classReassignmentIsATypeErrorAndCountsStayRight(String abuse) {
        String before = str("(type(t_tracked), type(t_untracked))");
        assertCountsStayRight(abuse);
        assertEquals(before, str("(type(t_tracked), type(t_untracked))"), "types unchanged");
        assertTrue(isTrue("type(t_tracked) is not type(t_untracked)"));
    }

    @Test
    void instancesHaveTypesOfTheirOwnUnderTheModulesJavaBuffer() {
        assertTrue(isTrue("isinstance(t_tracked, panamapy.JavaBuffer) and isinstance(t_untracked, panamapy.JavaBuffer)"));
        assertEquals("JavaBuffer JavaBuffer panamapy panamapy",
                str("f'{type(t_tracked).__name__} {type(t_untracked).__name__} {type(t_tracked).__module__} "
                        + "{type(t_untracked).__module__}'"));
        assertTrue(isTrue("type(t_tracked) is not panamapy.JavaBuffer and type(t_untracked) is not panamapy.JavaBuffer"),
                "the module's JavaBuffer is the shared base, never instantiated");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"panamapy.JavaBuffer", "type(t_tracked)", "type(t_untracked)", "t_S"})
    void noJavaBufferTypeOrSubclassCanBeInstantiatedFromPython(String type) {
        py.exec("class t_S(panamapy.JavaBuffer): __slots__ = ()");
        py.exec("t_T = " + type);
        assertTypeError("t_T()");
        assertTypeError("t_T.__new__(t_T)");
        assertTypeError("object.__new__(t_T)");
        assertTypeError("type(t_tracked).__new__(t_T)");
        assertTypeError("class t_N(t_T):\n    def __new__(cls): return super().__new__(cls)\nt_N()");
        assertTypeError("class t_M(t_T):\n    def __new__(cls): return object.__new__(cls)\nt_M()");
        assertEquals(baseline.liveExporters() + 2, py.diagnostics().liveExporters(), "nothing was made");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"t_tracked", "t_untracked"})
    void copyingOrPicklingAJavaBufferIsATypeError(String name) {
        assertTypeError("copy.copy(" + name + ")");
        assertTypeError("copy.deepcopy(" + name + ")");
        for (int protocol = 0; protocol <= 5; protocol++) {
            assertTypeError("pickle.dumps(" + name + ", protocol=min(" + protocol + ", pickle.HIGHEST_PROTOCOL))");
        }
        assertTypeError(name + ".__reduce_ex__(2)");
        assertEquals(baseline.liveExporters() + 2, py.diagnostics().liveExporters(), "nothing was made");
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {
            "panamapy.JavaBuffer.__buffer__ = lambda self, flags: memoryview(b'x')",
            "panamapy.JavaBuffer.__repr__ = lambda self: 'x'",
            "panamapy.JavaBuffer.__new__ = staticmethod(lambda cls: object.__new__(cls))",
            "del panamapy.JavaBuffer.__repr__",
            "del panamapy.JavaBuffer.__new__",
            "type(t_tracked).__release_buffer__ = lambda self, view: None",
            "type(t_tracked).__class_getitem__ = classmethod(lambda cls, x: x)",
            "setattr(type(t_untracked), 'x', 1)",
            "type(t_tracked).__bases__ = (object,)",
            "type(t_tracked).__bases__ = (type(t_untracked),)",
            "type(t_untracked).__name__ = 'Other'",
    })
    void theTypesAreImmutableFromPython310(String abuse) {
        assumeTrue(py.minorVersion() >= 10, "Py_TPFLAGS_IMMUTABLETYPE exists from CPython 3.10 on; 3.9: TypeMutationMain");
        String before = str("(panamapy.JavaBuffer.__dict__.keys(), type(t_tracked).__dict__.keys(), "
                + "type(t_untracked).__dict__.keys(), type(t_tracked).__bases__)");
        assertCountsStayRight(abuse);
        assertEquals(before, str("(panamapy.JavaBuffer.__dict__.keys(), type(t_tracked).__dict__.keys(), "
                + "type(t_untracked).__dict__.keys(), type(t_tracked).__bases__)"), "nothing changed");
        assertTrue(str("repr(t_tracked)").startsWith("<panamapy.JavaBuffer format='q'"));
    }

    @Test
    void bufferDunderCalledByHandIsCountedLikeMemoryview() {
        assumeTrue(py.minorVersion() >= 12, "__buffer__ and __release_buffer__ (PEP 688) exist from 3.12 on");
        py.exec("t_v = type(t_tracked).__buffer__(t_tracked, 0)");
        assertEquals(1, tracked.exportCount());
        py.exec("type(t_tracked).__release_buffer__(t_tracked, t_v)");
        assertEquals(0, tracked.exportCount(), "released once, through the memoryview");
        py.exec("try:\n    type(t_tracked).__release_buffer__(t_tracked, t_v)\nexcept ValueError:\n    pass");
        assertEquals(0, tracked.exportCount(), "a second release (a no-op, or a ValueError from 3.13 on) changes nothing");
        py.exec("t_w = memoryview(t_tracked)\nt_other = memoryview(bytearray(4))");
        PythonException e = raises("type(t_tracked).__release_buffer__(t_tracked, t_other)");
        assertTrue(e.is("ValueError"), e.getMessage());
        py.exec("t_s = t_w[1:]\ntype(t_tracked).__release_buffer__(t_tracked, t_w)");
        assertEquals(1, tracked.exportCount(), "the slice still holds the view");
        assertEquals("[11, 12, 13]", str("t_s.tolist()"));
        py.exec("t_s.release()");
        assertEquals(0, tracked.exportCount());
        py.exec("t_w = memoryview(t_tracked)\nt_p = pickle.PickleBuffer(t_w)");      // an export of t_w itself
        PythonException busy = raises("type(t_tracked).__release_buffer__(t_tracked, t_w)");
        assertTrue(busy.is("BufferError"), "a memoryview with exports of its own stays: " + busy.getMessage());
        assertEquals(1, tracked.exportCount());
        py.exec("del t_p\nt_w.release()");
        assertEquals(0, tracked.exportCount());
    }

    @Test
    void onPython39ClassReassignmentIsRefusedByLayout() {
        assumeTrue(py.minorVersion() == 9, "3.10+ refuses it as an immutable type");
        PythonException e = raises("t_tracked.__class__ = type(t_untracked)");
        assertTrue(e.pythonMessage().contains("layout differs"), e.pythonMessage());
    }

    @Test
    void typeMutationOnAnyVersionNeverCrashesOrMakesAWorkingObject() throws Exception {
        ChildJvm.main(TypeMutationMain.class).timeout(120).run().assertExit(0).assertOutputContains("type mutation: ok");
    }
}
