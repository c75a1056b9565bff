package dev.panamapy.nativetests.safety;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Issue 11, item 6: bad input to panamapy.newbuffer (wrong attribute types, deleted attributes,
 * ndim beyond 64, a negative len or extent, format NULL with PyBUF_FORMAT, a released or kept
 * wrapper reused, _get_buffer called by hand) is a clear Python exception, never a crash, and
 * leaks nothing: the exporters' reference counts, the interpreter's allocated blocks and the
 * bridge's counts stay flat over many rounds. Rounds: {@code -Dpanamapy.test.newbuffer.rounds}
 * (default 2,000 for CI; the soak is 100,000).
 */
@Adversarial
class NewBufferBadInputTest {

    private static final int ROUNDS = Integer.getInteger("panamapy.test.newbuffer.rounds", 2_000);

    private final CPython py;
    @RegisterExtension
    final NothingLeftBehind nothingLeft;

    NewBufferBadInputTest(CPython py) {
        this.py = py;
        this.nothingLeft = new NothingLeftBehind(py);
    }

    @BeforeEach
    void importExporters() {
        String dir = Path.of("src/test/python").toAbsolutePath().toString();
        py.exec("import sys, gc\nif '" + dir + "' not in sys.path: sys.path.insert(0, '" + dir + "')\n"
                + "import nb_exporters as nbx");
    }

    private String outcome(String key) {
        return eval("{c: '%s: %s' % (t, m) for c, t, m in nbx.bad_input_round()}['" + key + "']");
    }

    private String eval(String expr) {
        try (PyObject o = py.eval(expr)) {
            return o.toString();
        }
    }

    @Test
    void wrongAttributeTypesAreTypeErrors() {
        assertTrue(outcome("str_len").startsWith("TypeError: "), "len is a Py_ssize_t member: CPython's own TypeError");
        assertEquals("TypeError: property buf must be a Python integer, not 'float'", outcome("float_buf"));
        assertTrue(outcome("obj_then_none_ndim").startsWith("TypeError: "), outcome("obj_then_none_ndim"));
        assertEquals("BufferError: _get_buffer set ndim to 1099511627776: a buffer has 0 to 64 (PyBUF_MAX_NDIM) dimensions",
                outcome("huge_ndim"));
    }

    @Test
    void deletingAttributesIsAnAttributeError() {
        assertEquals("AttributeError: property format cannot be deleted", outcome("del_format"));
        assertEquals("AttributeError: property obj cannot be deleted", outcome("del_obj"));
    }

    @Test
    void impossibleViewsAreBufferErrors() {
        assertEquals("BufferError: _get_buffer set ndim to 65: a buffer has 0 to 64 (PyBUF_MAX_NDIM) dimensions",
                outcome("ndim65"));
        assertEquals("BufferError: _get_buffer set len to -8: a buffer's length in bytes is never negative",
                outcome("negative_len"));
        assertTrue(outcome("format_null").startsWith("BufferError: _get_buffer left format None (NULL) but the request "
                + "has PyBUF_FORMAT"));
        assertEquals("BufferError: _get_buffer set shape[0] to -8: an extent is never negative", outcome("negative_shape"));
    }

    @Test
    void reusedAndHandCalledWrappersAreRefused() {
        assertEquals("AttributeError: property obj is undefined for an unallocated view", outcome("get_buffer by hand"));
        assertEquals("NotImplementedError: abstract method", outcome("abstract get_buffer by hand"));
        assertEquals("AttributeError: property len is undefined for an unallocated view", outcome("released wrapper"));
        assertEquals("len: 6", outcome("reused wrapper"));
        assertEquals("AttributeError: property buf is undefined for an unallocated view",
                outcome("wrapper kept from _get_buffer"));
        assertEquals("TypeError: argument buffer_address must be an integer, not 'float'", outcome("wrong constructor type"));
        assertEquals("ValueError: argument filled cannot be True for a NULL buffer_address", outcome("filled without address"));
    }

    @Test
    void badInputLeaksNothingOverManyRounds() {
        py.exec("ex = {m: nbx.Hostile(m) for m in nbx.MISTAKES}\nok = [nbx.pil_2d(2, 3), nbx.negative_with_offset(4)]\n"
                + "def soak(n):\n    for _ in range(n):\n        nbx.bad_input_round(ex)\n"
                + "        for o in ok:\n            with memoryview(o) as m:\n                m.tolist()\n    gc.collect()\n"
                + "    return [sys.getrefcount(e) for e in list(ex.values()) + ok] + [sys.getrefcount(nbx.Hostile)]\n"
                + "soak(1000)");
        assertSoakFlat(py, ROUNDS);
        py.exec("del ex, ok");
    }

    /**
     * Runs the Python function {@code soak(n)} (which returns the reference counts to watch)
     * once as a baseline, then {@code rounds} times: those counts, the bridge's counts and, up to
     * caches, the interpreter's allocated blocks stay flat. Deletes {@code soak} after.
     */
    static void assertSoakFlat(CPython py, int rounds) {
        py.exec("refs0 = soak(1)\nblocks0 = sys.getallocatedblocks()");
        CPython.Diagnostics d0 = py.diagnostics();
        py.exec("refs1 = soak(" + rounds + ")\nblocks1 = sys.getallocatedblocks()");
        CPython.Diagnostics d1 = py.diagnostics();
        try (PyObject r0 = py.eval("refs0"); PyObject r1 = py.eval("refs1"); PyObject g = py.eval("blocks1 - blocks0")) {
            assertEquals(r0.toString(), r1.toString(), "reference counts watched by soak()");
            long grown = g.asLong();
            // caches and free lists move by some dozens of blocks; a leak of one block a round is `rounds`
            assertTrue(grown < 300, "allocated blocks grew by " + grown + " over " + rounds + " rounds");
        }
        assertEquals(d0.liveReferences(), d1.liveReferences());
        assertEquals(d0.liveViews(), d1.liveViews());
        py.exec("del refs0, refs1, blocks0, blocks1, soak");
    }
}
