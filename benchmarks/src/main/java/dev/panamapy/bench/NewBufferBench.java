package dev.panamapy.bench;

import dev.panamapy.CPython;

/**
 * Issue 11, item 5 (the BufferMixin half): {@code memoryview(x).release()} for a pure-Python
 * {@code panamapy.newbuffer.BufferMixin} exporter whose {@code _get_buffer} sets nine fields
 * from precomputed values, against {@code bytearray} and, on CPython 3.12+, against a plain
 * PEP 688 class whose {@code __buffer__} returns a precomputed memoryview, all timed
 * interleaved in one run. Beside them, the parts the time goes to: the Python body of
 * {@code _get_buffer} called directly on an object with nine slots, and a request that the
 * exporter refuses at once (upcall, method call and BufferError, no fields).
 */
final class NewBufferBench {
    private NewBufferBench() { }

    static void measure(Bench b, CPython py, boolean quick) {
        int number = quick ? 20_000 : 200_000, repeat = quick ? 3 : 9;
        py.exec("""
                import sys
                from array import array
                from panamapy.newbuffer import BufferMixin
                class _NbExporter(BufferMixin):
                    def __init__(self, n):
                        self.mem = array('B', bytes(n)); self.addr = self.mem.buffer_info()[0]; self.n = n
                        self.fmt_mem = array('b', b'B\\0'); self.fmt = self.fmt_mem.buffer_info()[0]
                        self.shape_mem = array('q', [n]); self.shape = self.shape_mem.buffer_info()[0]
                        self.strides_mem = array('q', [1]); self.strides = self.strides_mem.buffer_info()[0]
                    def _get_buffer(self, view, flags):
                        view.obj = self; view.buf = self.addr; view.len = self.n; view.readonly = 0
                        view.itemsize = 1; view.format = self.fmt; view.ndim = 1
                        view.shape = self.shape; view.strides = self.strides
                class _NbRefusing(BufferMixin):
                    def _get_buffer(self, view, flags):
                        raise BufferError
                class _NbSlots:
                    __slots__ = ('obj', 'buf', 'len', 'readonly', 'itemsize', 'format', 'ndim', 'shape', 'strides')
                class _Pep688:
                    def __init__(self, n): self.mv = memoryview(bytearray(n))
                    def __buffer__(self, flags): return self.mv
                def _nb_refused():
                    try:
                        memoryview(nb_refusing)
                    except BufferError:
                        pass
                nb_x, nb_refusing, nb_slots, nb_ba = _NbExporter(4096), _NbRefusing(), _NbSlots(), bytearray(4096)
                nb_pep = _Pep688(4096) if sys.version_info >= (3, 12) else None
                """);
        boolean pep688;
        try (var v = py.eval("nb_pep is not None")) {
            pep688 = v.asBoolean();
        }
        String[] stmts = pep688
                ? new String[]{"memoryview(nb_ba).release()", "memoryview(nb_x).release()", "memoryview(nb_pep).release()",
                    "nb_x._get_buffer(nb_slots, 284)", "_nb_refused()"}
                : new String[]{"memoryview(nb_ba).release()", "memoryview(nb_x).release()",
                    "nb_x._get_buffer(nb_slots, 284)", "_nb_refused()"};
        Bench.Stat[] st = b.pyTimeInterleaved(number, repeat, stmts);
        Bench.Stat ba = st[0], nb = st[1];
        Bench.Stat body = st[pep688 ? 3 : 2], refused = st[pep688 ? 4 : 3];
        b.add("newbuffer-vs-bytearray", "memoryview(x).release(), 4 KiB: BufferMixin (_get_buffer sets 9 fields) vs bytearray",
                "ns/op", nb, "newbuffer.BufferMixin", ba, "bytearray", nb.median() / ba.median(), "time ratio (lower is better)",
                "informative", null);
        if (pep688) {
            Bench.Stat pep = st[2];
            b.add("newbuffer-vs-pep688", "memoryview(x).release(), 4 KiB: BufferMixin vs a plain PEP 688 class "
                    + "(__buffer__ returns a precomputed memoryview)", "ns/op", nb, "newbuffer.BufferMixin", pep,
                    "PEP 688 class", nb.median() / pep.median(), "time ratio (lower is better)", "<= 1.5",
                    nb.median() / pep.median() <= 1.5);
        }
        b.add("newbuffer-body", "where the time goes: _get_buffer's Python body alone (9 slot stores) vs the whole export",
                "ns/op", body, "_get_buffer(slots, flags)", nb, "memoryview(x).release()", body.median() / nb.median(),
                "share of the export", "informative", null);
        b.add("newbuffer-refused", "where the time goes: a request refused at once (getbuffer upcall, method call, "
                + "BufferError caught) vs the whole export", "ns/op", refused, "refused request", nb,
                "memoryview(x).release()", refused.median() / nb.median(), "share of the export", "informative", null);
        py.exec("del nb_x, nb_refusing, nb_slots, nb_ba, nb_pep, _NbExporter, _NbRefusing, _NbSlots, _Pep688, _nb_refused");
    }
}
