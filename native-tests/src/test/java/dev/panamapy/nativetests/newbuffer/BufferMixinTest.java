package dev.panamapy.nativetests.newbuffer;

import dev.panamapy.CPython;
import dev.panamapy.PythonException;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static dev.panamapy.nativetests.newbuffer.NewBufferPy.eval;
import static dev.panamapy.nativetests.newbuffer.NewBufferPy.raises;
import static org.junit.jupiter.api.Assertions.*;

/** panamapy.newbuffer.BufferMixin: what _get_buffer and _release_buffer see, return and raise. */
@PythonTest
class BufferMixinTest {

    private final CPython py;

    BufferMixinTest(CPython py) {
        this.py = py;
    }

    @BeforeEach
    void importModule() {
        NewBufferPy.setUp(py);
    }

    @Test
    void getBufferSeesAZeroedStructAndTheRequestFlags() {
        py.exec("seen = []\nclass E(BufferMixin):\n    def _get_buffer(self, view, flags):\n"
                + "        seen.append((type(view).__name__, bool(view), view.obj, view.buf, view.len, view.readonly, view.ndim, "
                + "view.format, view.shape, view.strides, view.suboffsets, view.itemsize, view.internal, flags))\n"
                + "        raise BufferError('no')\n"
                + "try:\n    memoryview(E())\nexcept BufferError:\n    pass");
        assertEquals("[('Py_buffer', True, None, None, 0, True, 0, None, None, None, None, 0, None, 284)]", eval(py, "seen"));
    }

    @Test
    void theDefaultGetBufferIsAbstract() {
        PythonException e = raises(py, "memoryview(BufferMixin())");
        assertEquals("NotImplementedError", e.pythonType());
        assertEquals("abstract method", e.pythonMessage());
    }

    @Test
    void aResultOtherThanNoneIsAValueErrorAndDropsObj() {
        py.exec("b = nbx.Broken('returns_value')\nrc = sys.getrefcount(b)");
        PythonException e = raises(py, "memoryview(b)");
        assertEquals("ValueError", e.pythonType());
        assertEquals("_get_buffer method return value was not None", e.pythonMessage());
        assertEquals("0", eval(py, "sys.getrefcount(b) - rc"));
    }

    @Test
    void anExceptionFromGetBufferIsTheConsumersAndDropsObj() {
        py.exec("b = nbx.Broken('raises')\nrc = sys.getrefcount(b)");
        PythonException e = raises(py, "bytes(b)");
        assertEquals("KeyError", e.pythonType());
        assertEquals("'exporter failed'", e.pythonMessage());
        assertEquals("0", eval(py, "sys.getrefcount(b) - rc"));
    }

    @Test
    void releaseGetsAFilledReadOnlyWrapperOnce() {
        py.exec("log = []\nclass E(nbx.Layout):\n    def _release_buffer(self, view):\n"
                + "        log.append((view.len, view.ndim, view.obj is self, bool(view)))\n"
                + "        try:\n            view.len = 1\n        except AttributeError as e:\n            log.append(str(e))\n"
                + "        self.kept = view\n"
                + "e = E(nbx.Native(range(6), 'B'), 0, 'B', 1, (2, 3), (3, 1))\nm = memoryview(e)\nm.release()");
        assertEquals("[(6, 2, True, True), 'property len is read-only']", eval(py, "log"));
        assertEquals("False", eval(py, "bool(e.kept)"), "a wrapper kept past the call is unallocated");
    }

    @Test
    void anErrorInReleaseGoesToTheUnraisableHook() {
        py.exec("hooked = []\nold = sys.unraisablehook\nsys.unraisablehook = lambda u: hooked.append((u.exc_type.__name__, str(u.exc_value)))\n"
                + "class E(nbx.Layout):\n    def _release_buffer(self, view):\n        raise RuntimeError('release failed')\n"
                + "e = E(nbx.Native(range(4), 'B'), 0, 'B', 1, (4,), (1,))\n"
                + "try:\n    memoryview(e).release()\n    after = memoryview(e).tolist()\nfinally:\n    sys.unraisablehook = old");
        assertEquals("[('RuntimeError', 'release failed'), ('RuntimeError', 'release failed')]", eval(py, "hooked"));
        assertEquals("[0, 1, 2, 3]", eval(py, "after"));
    }

    @Test
    void aReleaseWhileAnExceptionUnwindsKeepsThatException() {
        py.exec("class E(nbx.Layout):\n    def _release_buffer(self, view):\n        self.released = sum(range(3))\n"
                + "e = E(nbx.Native(range(4), 'B'), 0, 'B', 1, (4,), (1,))\n"
                + "def f():\n    m = memoryview(e)\n    raise LookupError('outer')\n"
                + "try:\n    f()\nexcept LookupError as x:\n    caught = str(x)");
        assertEquals("'outer' 3", eval(py, "repr(caught) + ' ' + str(e.released)"));
    }

    @Test
    void subclassInstancesHaveADictAndMixinComesFirst() {
        py.exec("class Base:\n    pass\nclass E(BufferMixin, Base):\n    def _get_buffer(self, view, flags):\n"
                + "        view.obj = self; view.buf = self.mem.address; view.len = 3; view.itemsize = 1; view.ndim = 1\n"
                + "        view.format = self.fmt.address\n"
                + "e = E(); e.mem = nbx.Native(b'xyz', 'B'); e.fmt = nbx.Native.cstring('B')");
        assertEquals("b'xyz' True", eval(py, "str(bytes(e)) + ' ' + str(isinstance(e, Base))"));
    }

    @Test
    void getBufferCalledByHandOnAnUnallocatedWrapperIsAnAttributeError() {
        PythonException e = raises(py, "nbx.negative_with_offset(3)._get_buffer(Py_buffer(), PyBUF_FULL_RO)");
        assertEquals("AttributeError", e.pythonType());
        assertEquals("property buf is undefined for an unallocated view", e.pythonMessage());
        assertEquals("NotImplementedError", raises(py, "BufferMixin()._get_buffer(Py_buffer(), 0)").pythonType());
    }

    @Test
    void aWrapperKeptFromGetBufferCannotBeUsedAfterwards() {
        py.exec("class E(nbx.Layout):\n    def _get_buffer(self, view, flags):\n        self.kept = view\n"
                + "        super()._get_buffer(view, flags)\n"
                + "e = E(nbx.Native(range(4), 'B'), 0, 'B', 1, (4,), (1,))\nwith memoryview(e) as m:\n    vals = m.tolist()");
        assertEquals("[0, 1, 2, 3]", eval(py, "vals"));
        assertEquals("property len is undefined for an unallocated view", raises(py, "e.kept.len").pythonMessage());
        assertEquals("property buf is undefined for an unallocated view", raises(py, "e.kept.buf = 5").pythonMessage());
    }

    @Test
    void theGetBufferWrapperIsAPyBufferAndItsTypeIsHarmless() {
        py.exec("seen = []\nclass E(nbx.Layout):\n    def _get_buffer(self, view, flags):\n"
                + "        seen.append((isinstance(view, Py_buffer), type(view).__name__, view.get_buffer.__name__))\n"
                + "        self.vt = type(view)\n        nbx.Layout._get_buffer(self, view, flags)\n"
                + "e = E(nbx.Native(range(4), 'B'), 0, 'B', 1, (4,), (1,))\nvals = memoryview(e).tolist()\n"
                + "w = e.vt(); w.obj = e; w.buf = 5; w.len = 3\nrc = sys.getrefcount(e)\ndel w\ngc.collect()");
        assertEquals("[(True, 'Py_buffer', 'get_buffer')] [0, 1, 2, 3]", eval(py, "'%s %s' % (seen, vals)"));
        assertEquals("1", eval(py, "rc - sys.getrefcount(e)"), "a wrapper made by hand drops what its slots held");
    }
}
