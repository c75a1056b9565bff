"""Pure-Python buffer exporters on panamapy.newbuffer.BufferMixin, for the JUnit tests of
package dev.panamapy.nativetests.newbuffer. No ctypes: native memory is array.array storage
(array.buffer_info() gives its address), and raw reads go through RawMemory, itself a
BufferMixin exporter."""
import array
import struct

import panamapy.newbuffer as nb
from panamapy.newbuffer import BufferMixin, Py_buffer

SSIZE = struct.calcsize("n")

# _testbuffer's request predicates (Modules/_testbuffer.c), one a line
def req_indirect(f): return (f & nb.PyBUF_INDIRECT) == nb.PyBUF_INDIRECT
def req_c_contiguous(f): return (f & nb.PyBUF_C_CONTIGUOUS) == nb.PyBUF_C_CONTIGUOUS
def req_f_contiguous(f): return (f & nb.PyBUF_F_CONTIGUOUS) == nb.PyBUF_F_CONTIGUOUS
def req_any_contiguous(f): return (f & nb.PyBUF_ANY_CONTIGUOUS) == nb.PyBUF_ANY_CONTIGUOUS
def req_strides(f): return (f & nb.PyBUF_STRIDES) == nb.PyBUF_STRIDES
def req_shape(f): return (f & nb.PyBUF_ND) == nb.PyBUF_ND
def req_writable(f): return f & nb.PyBUF_WRITABLE
def req_format(f): return f & nb.PyBUF_FORMAT


class Native:
    """Native memory owned by a Python object: address, and the object that keeps it alive."""

    def __init__(self, data, typecode="B"):
        self.storage = array.array(typecode, data)
        self.address = self.storage.buffer_info()[0] if len(self.storage) else 0

    @staticmethod
    def ssizes(values):
        return Native(values, "q") if values is not None else None

    @staticmethod
    def cstring(text):
        return Native(text.encode("ascii") + b"\0", "B")


def addr(native):
    return None if native is None else native.address


class RawMemory(BufferMixin):
    """Read-only bytes at a raw address (dangerous by design, like ctypes)."""

    FORMAT = None                       # Native.cstring("B"), made on first use

    def __init__(self, address, length):
        self.address, self.length = address, length

    def _get_buffer(self, view, flags):
        view.obj = self
        view.buf = self.address
        view.len = self.length
        view.readonly = 1
        view.itemsize = 1
        view.ndim = 1
        if req_format(flags):
            if RawMemory.FORMAT is None:
                RawMemory.FORMAT = Native.cstring("B")
            view.format = RawMemory.FORMAT.address
        if req_writable(flags):
            raise BufferError("RawMemory is read-only")


def read_ssizes(address, n):
    if address is None:
        return None
    return list(memoryview(RawMemory(address, n * SSIZE)).cast("n")) if n else []


def read_cstring(address):
    if address is None:
        return None
    out = bytearray()
    while True:
        b = bytes(memoryview(RawMemory(address + len(out), 1)))
        if b == b"\0":
            return out.decode("ascii")
        out += b


def fields(view):
    """A filled Py_buffer's fields as plain values (arrays read out), for comparisons."""
    ndim = view.ndim
    return {
        "len": view.len, "itemsize": view.itemsize, "readonly": bool(view.readonly), "ndim": ndim,
        "format": read_cstring(view.format),
        "shape": read_ssizes(view.shape, ndim), "strides": read_ssizes(view.strides, ndim),
        "suboffsets": read_ssizes(view.suboffsets, ndim),
    }


class Layout(BufferMixin):
    """Exports a given layout with _testbuffer's request rules: base memory, byte offset of the
    first element, format, itemsize, shape, strides, optional suboffsets (PIL-style indirect),
    read-only flag. Counts live exports."""

    name = "ndarray"

    def __init__(self, memory, offset, fmt, itemsize, shape, strides, suboffsets=None, readonly=False,
                 keep=()):
        self.memory = memory               # Native or an int address (kept alive by keep)
        self.keep = keep
        self.buf = (memory.address if isinstance(memory, Native) else memory) + offset
        self.fmt = Native.cstring(fmt)
        self.itemsize = itemsize
        self.shape_values = list(shape)
        self.shape = Native.ssizes(shape)
        self.strides_values = list(strides)
        self.strides = Native.ssizes(strides)
        self.suboffsets = Native.ssizes(suboffsets)
        self.readonly = readonly
        self.exports = 0
        n = 1
        for s in shape:
            n *= s
        self.length = n * itemsize

    def c_contiguous(self):
        return contiguous(self, reversed(range(len(self.shape_values))))

    def f_contiguous(self):
        return contiguous(self, range(len(self.shape_values)))

    def _get_buffer(self, view, flags):
        n = self.name
        if req_writable(flags) and self.readonly:
            raise BufferError(n + " is not writable")
        view.buf = self.buf
        view.len = self.length
        view.itemsize = self.itemsize
        view.readonly = self.readonly
        view.ndim = len(self.shape_values)
        view.format = addr(self.fmt) if req_format(flags) else None
        view.shape = addr(self.shape)
        view.strides = addr(self.strides)
        view.suboffsets = addr(self.suboffsets)
        c, f = self.c_contiguous(), self.f_contiguous()
        if req_c_contiguous(flags) and not c:
            raise BufferError(n + " is not C-contiguous")
        if req_f_contiguous(flags) and not f:
            raise BufferError(n + " is not Fortran contiguous")
        if req_any_contiguous(flags) and not (c or f):
            raise BufferError(n + " is not contiguous")
        if not req_indirect(flags) and self.suboffsets is not None:
            raise BufferError(n + " cannot be represented without suboffsets")
        if not req_strides(flags):
            if not c:
                raise BufferError(n + " is not C-contiguous")
            view.strides = None
        if not req_shape(flags):
            if view.format is not None:
                raise BufferError(n + ": cannot cast to unsigned bytes if the format flag is present")
            view.ndim = 1
            view.shape = None
        view.obj = self
        self.exports += 1

    def _release_buffer(self, view):
        self.exports -= 1


def contiguous(lay, axes):
    """CPython's PyBuffer_IsContiguous rule: extents of 1 ignore their stride, an empty view is
    contiguous, suboffsets never are."""
    if lay.suboffsets is not None:
        return False
    if lay.length == 0:
        return True
    step = lay.itemsize
    for i in axes:
        n = lay.shape_values[i]
        if n > 1 and lay.strides_values[i] != step:
            return False
        step *= n
    return True


def c_strides(shape, itemsize):
    out, s = [], itemsize
    for n in reversed(shape):
        out.insert(0, s)
        s *= n
    return out


def f_strides(shape, itemsize):
    out, s = [], itemsize
    for n in shape:
        out.append(s)
        s *= n
    return out


def from_testbuffer(nd):
    """A Layout over a _testbuffer.ndarray's own memory (kept alive), read through Py_buffer."""
    v = Py_buffer()
    v.get_buffer(nd, nb.PyBUF_FULL_RO)
    try:
        f = fields(v)
        lay = Layout(v.buf, 0, f["format"], f["itemsize"], f["shape"] or [], f["strides"] or [], f["suboffsets"],
                     readonly=f["readonly"], keep=(nd,))
        return lay
    finally:
        v.release_buffer()


# ---- layouts memoryview cannot make -----------------------------------------------------------

def pil_2d(rows, cols):
    """A PIL-style indirect 2-d array of int64: a row-pointer array, suboffsets (0, -1)."""
    data = [Native([r * 100 + c for c in range(cols)], "q") for r in range(rows)]
    pointers = Native([d.address for d in data], "Q")
    lay = Layout(pointers, 0, "q", 8, (rows, cols), (8, 8), suboffsets=(0, -1), keep=(data,))
    return lay


def negative_with_offset(n):
    """int32 0..n-1 exported backwards: buf points at the last element, stride -4."""
    mem = Native(list(range(n)), "i")
    return Layout(mem, 4 * (n - 1), "i", 4, (n,), (-4,))


def zero_strides(rows, cols):
    """One row of int16 repeated: stride 0 on the first axis."""
    mem = Native(list(range(cols)), "h")
    return Layout(mem, 0, "h", 2, (rows, cols), (0, 2))


# views no consumer can use, which the bridge refuses after _get_buffer returns
IMPOSSIBLE = {
    "ndim65": lambda view: setattr(view, "ndim", 65),
    "negative_len": lambda view: setattr(view, "len", -8),
    "format_null": lambda view: setattr(view, "format", None),
}


class Broken(BufferMixin):
    """Deliberately broken views: each kind fills the struct in one wrong way."""

    def __init__(self, kind):
        self.kind = kind
        self.mem = Native(range(16), "B")
        self.fmt = Native.cstring("B")
        self.bad_fmt = Native.cstring("not a format")
        self.shape = Native.ssizes([16])
        self.big_shape = Native.ssizes([1 << 40])
        self.strides = Native.ssizes([1])

    def _get_buffer(self, view, flags):
        k = self.kind
        view.obj = self
        view.buf = self.mem.address
        view.len = 16
        view.itemsize = 1
        view.ndim = 1
        view.format = self.fmt.address if req_format(flags) else None
        view.shape = self.shape.address if req_shape(flags) else None
        view.strides = self.strides.address if req_strides(flags) else None
        if k in IMPOSSIBLE:
            IMPOSSIBLE[k](view)
        elif k == "bad_format":
            view.format = self.bad_fmt.address
        elif k == "itemsize_mismatch":
            view.itemsize = 3
        elif k == "len_mismatch":
            view.len = 7
        elif k == "writable_lie":
            view.readonly = 1           # then a WRITABLE request is accepted anyway
        elif k == "returns_value":
            return 1
        elif k == "raises":
            raise KeyError("exporter failed")
        elif k == "ndim0_with_shape":
            view.ndim = 0
        elif k == "no_obj":
            view.obj = None


# ---- test_buffer's spirit: a BufferMixin rebuild of _testbuffer layouts must agree -------------

REQUEST_BITS = [nb.PyBUF_WRITABLE, nb.PyBUF_FORMAT, 0x8, 0x10, 0x20, 0x40, 0x80, 0x100]


def every_request():
    """Every combination of the request bits (ND, STRIDES, C/F/ANY_CONTIGUOUS and INDIRECT as the
    single bits each of them adds), 256 in all."""
    out = []
    for mask in range(1 << len(REQUEST_BITS)):
        f = 0
        for i, bit in enumerate(REQUEST_BITS):
            if mask & (1 << i):
                f |= bit
        out.append(f)
    return out


def request_outcome(exporter, flags):
    v = Py_buffer()
    try:
        v.get_buffer(exporter, flags)
    except (BufferError, SystemError) as e:     # 3.13: SystemError for flags that equal PyBUF_READ/WRITE
        return "%s: %s" % (type(e).__name__, e)
    try:
        f = fields(v)
        f["buf"] = v.buf
        f["obj_is_exporter"] = v.obj is exporter
        if f["ndim"] == 0:
            f["shape"] = f["shape"] or []
            f["strides"] = f["strides"] or []
        return f
    finally:
        v.release_buffer()


def testbuffer_layouts():
    from _testbuffer import ndarray, ND_WRITABLE, ND_FORTRAN, ND_PIL
    base = ndarray(list(range(24)), shape=[24], format="h", flags=ND_WRITABLE)
    return {
        "1d B": ndarray(list(range(12)), shape=[12], format="B"),
        "2d i C writable": ndarray(list(range(12)), shape=[3, 4], format="i", flags=ND_WRITABLE),
        "2d i Fortran": ndarray(list(range(12)), shape=[3, 4], format="i", flags=ND_FORTRAN),
        "3d d": ndarray([float(i) for i in range(12)], shape=[2, 3, 2], format="d"),
        "2d B PIL": ndarray(list(range(12)), shape=[3, 4], format="B", flags=ND_PIL),
        "3d h PIL writable": ndarray(list(range(24)), shape=[2, 3, 4], format="h", flags=ND_PIL | ND_WRITABLE),
        "0d q": ndarray(7, shape=[], format="q"),
        "empty": ndarray(list(range(4)), shape=[4], format="i")[2:2],
        "2d empty axis": ndarray(list(range(12)), shape=[3, 4], format="i")[:, 1:1],
        "struct <ihb": ndarray([(1, 2, 3), (4, 5, 6)], shape=[2], format="<ihb"),
        "negative stride with offset": base[::-3],
        "zero strides": ndarray(list(range(4)), shape=[3, 4], strides=[0, 1], format="B"),
        "shape 1 odd stride": ndarray(list(range(4)), shape=[1, 4], strides=[99, 1], format="B"),
        "2d slice": ndarray(list(range(30)), shape=[5, 6], format="B", flags=ND_WRITABLE)[1:4:2, ::-2],
    }


def differential(refusal_name="ndarray"):
    """Compares every _testbuffer layout with its BufferMixin rebuild for every request: the
    same fields (buf address, len, itemsize, readonly, ndim, format, shape, strides, suboffsets,
    obj the exporter) or the same BufferError, and for memoryview the same tolist()/tobytes().
    Returns (comparisons, mismatches)."""
    n, mismatches = 0, []
    for name, nd in testbuffer_layouts().items():
        lay = from_testbuffer(nd)
        lay.name = refusal_name
        for flags in every_request():
            n += 1
            a, b = request_outcome(nd, flags), request_outcome(lay, flags)
            if a != b:
                mismatches.append((name, hex(flags), a, b))
        n += 1
        ma, mb = memoryview(nd), memoryview(lay)
        try:
            if (ma.tobytes(), ma.tolist(), ma.shape, ma.strides, ma.suboffsets) != \
                    (mb.tobytes(), mb.tolist(), mb.shape, mb.strides, mb.suboffsets):
                mismatches.append((name, "memoryview", ma.tolist(), mb.tolist()))
        except NotImplementedError as e:     # formats memoryview cannot unpack: compare bytes only
            if ma.tobytes() != mb.tobytes():
                mismatches.append((name, "memoryview", str(e), ""))
        ma.release()
        mb.release()
        if lay.exports != 0:
            mismatches.append((name, "exports left", lay.exports, 0))
    return n, mismatches


# ---- bad input (issue 11, item 6) ---------------------------------------------------------------

class Hostile(Layout):
    """A 1-d byte Layout whose _get_buffer first does one wrong thing."""

    def __init__(self, mistake):
        Layout.__init__(self, Native(range(8), "B"), 0, "B", 1, (8,), (1,))
        self.mistake = mistake

    def _get_buffer(self, view, flags):
        view.obj = self                        # taken first: must be given back on every failure
        m = self.mistake
        if m == "str_len":
            view.len = "8"
        elif m == "obj_then_none_ndim":
            view.ndim = None
        Layout._get_buffer(self, view, flags)
        if m == "float_buf":                   # pointers are checked when _get_buffer returns
            view.buf = 1.5
        elif m == "del_format":                # an error if it stays deleted
            del view.format
        elif m == "del_obj":
            del view.obj
        elif m == "huge_ndim":
            view.ndim = 1 << 40
        elif m in IMPOSSIBLE:
            IMPOSSIBLE[m](view)
        elif m == "negative_shape":
            view.shape = self.negative_shape.address


Hostile.negative_shape = Native([-8], "q")

MISTAKES = ["str_len", "float_buf", "obj_then_none_ndim", "del_format", "del_obj", "huge_ndim", "ndim65",
            "negative_len", "format_null", "negative_shape"]


def bad_input_round(exporters=None):
    """One round of every bad input; returns [(case, exception type, message)]."""
    out = []

    def expect(case, f):
        try:
            f()
        except Exception as e:
            out.append((case, type(e).__name__, str(e)))
        else:
            out.append((case, "no exception", ""))

    exporters = exporters or {m: Hostile(m) for m in MISTAKES}
    for m in MISTAKES:
        expect(m, lambda: memoryview(exporters[m]))
    good = exporters["str_len"]
    expect("get_buffer by hand", lambda: good._get_buffer(Py_buffer(), nb.PyBUF_FULL_RO))
    expect("abstract get_buffer by hand", lambda: BufferMixin()._get_buffer(Py_buffer(), 0))
    v = Py_buffer()
    v.get_buffer(bytearray(b"abc"), nb.PyBUF_SIMPLE)
    v.release_buffer()
    v.release_buffer()                         # a second release does nothing
    expect("released wrapper", lambda: v.len)
    v.get_buffer(b"reused", nb.PyBUF_SIMPLE)   # a released wrapper can be filled again
    out.append(("reused wrapper", "len", str(v.len)))
    v.release_buffer()
    kept = []

    class Stash(Layout):
        def _get_buffer(self, view, flags):
            kept.append(view)
            Layout._get_buffer(self, view, flags)
    s = Stash(Native(range(4), "B"), 0, "B", 1, (4,), (1,))
    memoryview(s).release()
    expect("wrapper kept from _get_buffer", lambda: setattr(kept[0], "buf", 0))
    expect("wrong constructor type", lambda: Py_buffer(1.5))
    expect("filled without address", lambda: Py_buffer(None, True))
    return out
