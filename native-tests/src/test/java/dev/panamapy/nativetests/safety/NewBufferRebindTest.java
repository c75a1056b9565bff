package dev.panamapy.nativetests.safety;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A {@code Py_buffer} wrapper lent to Python for one call ({@code _get_buffer}'s view,
 * {@code _release_buffer}'s view, a wrapper whose {@code get_buffer}/{@code release_buffer} runs
 * an exporter's Python code) that Python re-binds during the call ({@code view.__init__();
 * view.get_buffer(ba)}) gives back what it then holds when the call ends: the struct it
 * allocated is freed and {@code ba}'s export released, so {@code ba} can be resized, and
 * reference counts and allocated blocks stay flat.
 */
@Adversarial
class NewBufferRebindTest {

    private static final int ROUNDS = Integer.getInteger("panamapy.test.newbuffer.rounds", 2_000);

    private final CPython py;
    @RegisterExtension
    final NothingLeftBehind nothingLeft;

    NewBufferRebindTest(CPython py) {
        this.py = py;
        this.nothingLeft = new NothingLeftBehind(py);
    }

    private String eval(String expr) {
        try (PyObject o = py.eval(expr)) {
            return o.toString();
        }
    }

    private static final String EXPORTERS = """
            import sys, gc, ctypes
            import panamapy.newbuffer as nb
            FMT = ctypes.create_string_buffer(b'B')
            class RebindInGet(nb.BufferMixin):
                def __init__(self, ba):
                    self.ba = ba
                def _get_buffer(self, view, flags):
                    view.__init__()
                    view.get_buffer(self.ba)        # the lent view now holds an export of ba
                    view.obj = self
                    view.ndim = 1
                    view.itemsize = 1
                    view.format = ctypes.addressof(FMT)
            class RebindInRelease(RebindInGet):
                def _get_buffer(self, view, flags):
                    view.obj = self
                    view.ndim = 1
                    view.itemsize = 1
                    view.format = ctypes.addressof(FMT)
                def _release_buffer(self, view):
                    view.__init__()
                    view.get_buffer(self.ba)
            class RebindOther(RebindInRelease):     # re-binds the Py_buffer whose get_buffer/release_buffer runs
                def __init__(self, ba, w, when):
                    self.ba, self.w, self.when = ba, w, when
                def _get_buffer(self, view, flags):
                    if self.when == 'get':
                        self.w.__init__()
                        self.w.get_buffer(self.ba)
                    super()._get_buffer(view, flags)
                def _release_buffer(self, view):
                    if self.when == 'release':
                        self.w.__init__()
                        self.w.get_buffer(self.ba)
            def resizable(ba):
                try:
                    ba.append(1)
                    ba.pop()
                    return True
                except BufferError:
                    return False
            def rebind_round():
                out = {}
                for name, make in [('get', RebindInGet), ('release', RebindInRelease)]:
                    ba = bytearray(b'abcd')
                    bytes(memoryview(make(ba)))
                    out[name] = resizable(ba)
                for when in ('get', 'release'):
                    ba = bytearray(b'abcd')
                    w = nb.Py_buffer()
                    w.get_buffer(RebindOther(ba, w, when))
                    w.release_buffer()
                    out['wrapper ' + when] = resizable(ba)
                return out
            """;

    @Test
    void aViewRebindDuringTheCallGivesBackWhatItHoldsThen() {
        py.exec(EXPORTERS);
        assertEquals("{'get': True, 'release': True, 'wrapper get': True, 'wrapper release': True}",
                eval("rebind_round()"));
    }

    @Test
    void rebindingLeaksNothingOverManyRounds() {
        py.exec(EXPORTERS + """
                def soak(n):
                    for _ in range(n):
                        rebind_round()
                    gc.collect()
                    return [sys.getrefcount(c) for c in (RebindInGet, RebindInRelease, RebindOther, nb.Py_buffer)]
                soak(500)
                """);
        NewBufferBadInputTest.assertSoakFlat(py, ROUNDS);
    }
}
