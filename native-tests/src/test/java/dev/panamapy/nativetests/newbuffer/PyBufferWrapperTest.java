package dev.panamapy.nativetests.newbuffer;

import dev.panamapy.CPython;
import dev.panamapy.PythonException;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static dev.panamapy.nativetests.newbuffer.NewBufferPy.eval;
import static dev.panamapy.nativetests.newbuffer.NewBufferPy.raises;
import static org.junit.jupiter.api.Assertions.*;

/** panamapy.newbuffer.Py_buffer: fields as attributes, get_buffer/release_buffer, states and their messages. */
@PythonTest
class PyBufferWrapperTest {

    private final CPython py;

    PyBufferWrapperTest(CPython py) {
        this.py = py;
    }

    @BeforeEach
    void importModule() {
        NewBufferPy.setUp(py);
    }

    @Test
    void theModuleImportsEveryWay() {
        py.exec("import panamapy.newbuffer\nimport panamapy.newbuffer as a\nfrom panamapy import newbuffer as b\n"
                + "import importlib\nc = importlib.import_module('panamapy.newbuffer')");
        assertEquals("True", eval(py, "a is b is c is panamapy.newbuffer is sys.modules['panamapy.newbuffer']"));
        assertEquals("panamapy.newbuffer", eval(py, "a.__name__"));
        assertEquals("True", eval(py, "a.Py_buffer.__module__ == 'panamapy.newbuffer' and a.BufferMixin.__name__ == 'BufferMixin'"));
    }

    @Test
    void theModuleImportsFromAThreadPythonStarted() {
        py.exec("import threading\nout = []\n"
                + "def t():\n    import panamapy.newbuffer as m\n    from panamapy import newbuffer\n"
                + "    out.append(m is newbuffer and memoryview(nbx.negative_with_offset(3)).tolist())\n"
                + "th = threading.Thread(target=t); th.start(); th.join()");
        assertEquals("[[2, 1, 0]]", eval(py, "out"));
    }

    @Test
    void constantsHaveCPythonsValues() {
        assertEquals("[0, 1, 1, 4, 8, 24, 56, 88, 152, 280, 9, 8, 25, 24, 29, 28, 285, 284, 64]", eval(py,
                "[nb.PyBUF_SIMPLE, nb.PyBUF_WRITABLE, nb.PyBUF_WRITEABLE, nb.PyBUF_FORMAT, nb.PyBUF_ND, nb.PyBUF_STRIDES, "
                + "nb.PyBUF_C_CONTIGUOUS, nb.PyBUF_F_CONTIGUOUS, nb.PyBUF_ANY_CONTIGUOUS, nb.PyBUF_INDIRECT, "
                + "nb.PyBUF_CONTIG, nb.PyBUF_CONTIG_RO, nb.PyBUF_STRIDED, nb.PyBUF_STRIDED_RO, nb.PyBUF_RECORDS, "
                + "nb.PyBUF_RECORDS_RO, nb.PyBUF_FULL, nb.PyBUF_FULL_RO, nb.PyBUF_MAX_NDIM]"));
        assertEquals("80", eval(py, "nb.PyBUFFER_SIZEOF"));
    }

    @Test
    void getBufferFillsEveryFieldAndReleaseEmptiesIt() {
        py.exec("src = bytearray(b'abcdef')\nv = Py_buffer()\nempty = bool(v)\nv.get_buffer(src, PyBUF_FULL)\n"
                + "got = (bool(v), v.obj is src, v.len, v.itemsize, v.readonly, v.ndim, nbx.read_cstring(v.format), "
                + "nbx.read_ssizes(v.shape, 1), nbx.read_ssizes(v.strides, 1), v.suboffsets, type(v.buf))\n"
                + "v.release_buffer()\nafter = bool(v)");
        assertEquals("(True, True, 6, 1, False, 1, 'B', [6], [1], None, <class 'int'>)", eval(py, "got"));
        assertEquals("False False", eval(py, "'%s %s' % (empty, after)"));
        py.exec("src.append(1)");       // no export left: the bytearray can resize again
        assertEquals("7", eval(py, "len(src)"));
    }

    @Test
    void aFilledWrapperIsReadOnlyWithTheOriginalsMessage() {
        py.exec("v = Py_buffer(); v.get_buffer(b'xy')");
        for (String f : new String[]{"obj", "buf", "len", "readonly", "format", "ndim", "shape", "strides", "suboffsets",
            "itemsize", "internal"}) {
            PythonException e = raises(py, "v." + f + " = None");
            assertEquals("AttributeError", e.pythonType());
            assertEquals("property " + f + " is read-only", e.pythonMessage());
        }
        py.exec("v.release_buffer()");
    }

    @Test
    void anUnallocatedWrapperHasNoFields() {
        py.exec("v = Py_buffer()");
        PythonException read = raises(py, "v.len");
        assertEquals("AttributeError", read.pythonType());
        assertEquals("property len is undefined for an unallocated view", read.pythonMessage());
        PythonException write = raises(py, "v.buf = 1");
        assertEquals("property buf is undefined for an unallocated view", write.pythonMessage());
        assertEquals("False", eval(py, "bool(v)"));
    }

    @Test
    void getBufferTwiceIsAValueError() {
        py.exec("v = Py_buffer(); v.get_buffer(b'xy')");
        PythonException e = raises(py, "v.get_buffer(b'zz')");
        assertEquals("ValueError", e.pythonType());
        assertEquals("The Py_buffer struct is already filled in", e.pythonMessage());
        py.exec("v.release_buffer()");
    }

    @Test
    void aRefusedGetBufferLeavesTheWrapperEmpty() {
        py.exec("v = Py_buffer()");
        PythonException e = raises(py, "v.get_buffer(b'xy', PyBUF_WRITABLE)");
        assertEquals("BufferError", e.pythonType());
        assertEquals("False", eval(py, "bool(v)"));
    }

    @Test
    void aWrapperOverCallerMemoryReadsAndWritesIt() {
        py.exec("mem = nbx.Native([0] * 80, 'B')\nv = Py_buffer(mem.address)\n"
                + "v.len = 5; v.buf = 1234; v.ndim = 2; v.readonly = 0; v.obj = mem\n"
                + "w = Py_buffer(mem.address, filled=True, preserve=True)\n"
                + "seen = (w.len, w.buf, w.ndim, w.readonly, w.obj is mem, w.format)");
        assertEquals("(5, 1234, 2, False, True, None)", eval(py, "seen"));
        assertEquals("2", eval(py, "sys.getrefcount(mem) - 1"), "the name and the struct's obj");
        py.exec("del w\nv.obj = None");
        assertEquals("1", eval(py, "sys.getrefcount(mem) - 1"));
    }

    @Test
    void wrongTypesAreTypeErrorsNamingTheProperty() {
        py.exec("mem = nbx.Native([0] * 80, 'B')\nv = Py_buffer(mem.address)");
        PythonException e = raises(py, "v.buf = 'x'");
        assertEquals("TypeError", e.pythonType());
        assertEquals("property buf must be a Python integer, not 'str'", e.pythonMessage());
        assertEquals("property len must be a Python integer, not 'float'", raises(py, "v.len = 1.5").pythonMessage());
        assertEquals("OverflowError", raises(py, "v.ndim = 1 << 40").pythonType());
        assertEquals("OverflowError", raises(py, "v.buf = 1 << 64").pythonType());
        assertEquals("property shape cannot be deleted", raises(py, "del v.shape").pythonMessage());
        assertEquals("0", eval(py, "v.len"), "nothing changed");
    }

    @Test
    void constructorArgumentsAreChecked() {
        assertEquals("argument filled cannot be True for a NULL buffer_address",
                raises(py, "Py_buffer(None, True)").pythonMessage());
        assertEquals("argument buffer_address must be an integer, not 'str'",
                raises(py, "Py_buffer('x')").pythonMessage());
        assertEquals("TypeError", raises(py, "Py_buffer(nope=1)").pythonType());
        assertEquals("TypeError", raises(py, "Py_buffer(0, 0, 0, 0)").pythonType());
    }

    @Test
    void deallocatingAFilledWrapperReleasesTheExport() {
        py.exec("src = bytearray(b'abc')\nv = Py_buffer(); v.get_buffer(src)\nrc = sys.getrefcount(src)\ndel v");
        assertEquals("1", eval(py, "rc - sys.getrefcount(src)"));
        py.exec("src.append(1)");       // resizable again: the export is gone
    }

    @Test
    void aSubclassOfPyBufferWorksAndFreesCleanly() {
        py.exec("class V(Py_buffer):\n    pass\nsrc = bytearray(b'abc')\nv = V(); v.extra = 1; v.get_buffer(src)\n"
                + "n = v.len\ndel v\ngc.collect()\nsrc.append(1)");
        assertEquals("3", eval(py, "n"));
    }
}
