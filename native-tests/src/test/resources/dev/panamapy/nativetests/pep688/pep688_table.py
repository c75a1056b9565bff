# The PEP 688 differential table: one set of exporter classes x every request-flag combination.
# Run in the embedded interpreter through panamapy.Buffer (the backport on 3.9-3.11), and as a
# plain script by CPython 3.12+ executables, where Buffer is an ordinary class and CPython's own
# PEP 688 does the work. Each run prints (or returns) the same lines,
#     exporter <TAB> flags <TAB> field <TAB> value
# one per observed fact, so that the Java test can diff the two by key.
import array
import gc
import re
import sys

import _testbuffer as tb

try:
    import panamapy
    Buffer = panamapy.Buffer
except ImportError:                     # a CPython 3.12+ subprocess: PEP 688 is native
    class Buffer:
        __slots__ = ()

try:
    import numpy
except ImportError:
    numpy = None

EVENTS = []
ADDRESS = re.compile(r'0x[0-9a-fA-F]+')


def scrub(text):
    return ADDRESS.sub('0x?', str(text))


def note(event):
    EVENTS.append(event)


def describe_view(view):
    try:
        under = type(view.obj).__name__
    except ValueError as e:              # released
        under = 'released:' + scrub(e)
    return f"{type(view).__name__}(obj={under})"


# ---- exporters -----------------------------------------------------------------------------

class Delegate(Buffer):
    """__buffer__ returns a fresh memoryview of self.data each time; records what it sees."""
    def __init__(self, data):
        self.data = data

    def __buffer__(self, flags):
        note(f"buffer({flags}, {type(flags).__name__})")
        return memoryview(self.data)


class DelegateRelease(Delegate):
    """... and releases the view it gets back, as PEP 688's example does."""
    def __buffer__(self, flags):
        self.last = super().__buffer__(flags)
        return self.last

    def __release_buffer__(self, view):
        note(f"release({describe_view(view)}, same={view is self.last})")
        view.release()
        self.last = None


class Precomputed(Buffer):
    """Returns one memoryview made up front (the benchmark's plain PEP 688 class)."""
    def __init__(self, data):
        self.view = memoryview(data)

    def __buffer__(self, flags):
        note(f"buffer({flags})")
        return self.view


class PrecomputedRelease(Precomputed):
    """... and sees each release without releasing the shared view."""
    def __release_buffer__(self, view):
        note(f"release(same={view is self.view})")


class Cast(Buffer):
    """Returns a cast or a slice of a memoryview: layouts memoryview can make."""
    def __init__(self, data, how):
        self.data = data
        self.how = how

    def __buffer__(self, flags):
        note(f"buffer({flags})")
        return self.how(memoryview(self.data))


class Raising(Buffer):
    def __buffer__(self, flags):
        note(f"buffer({flags})")
        raise ValueError(f"no view for flags {flags}")


class WrongType(Buffer):
    def __init__(self, result):
        self.result = result

    def __buffer__(self, flags):
        note(f"buffer({flags})")
        return self.result


class ReleaseRaises(Delegate):
    def __release_buffer__(self, view):
        note(f"release({describe_view(view)})")
        raise KeyError("release failed")


class ReleasedView(Buffer):
    """Returns a memoryview that is already released."""
    def __buffer__(self, flags):
        note(f"buffer({flags})")
        m = memoryview(b"gone")
        m.release()
        return m


class StaticBuffer(Buffer):
    """__buffer__ is a staticmethod: looked up on the type and bound through __get__."""
    @staticmethod
    def __buffer__(flags):
        note(f"static({flags})")
        return memoryview(b"static")


class CallableAttr(Buffer):
    """__buffer__ is an object with __call__ and no __get__: called without self."""
    class _Call:
        def __call__(self, flags):
            note(f"callable({flags})")
            return memoryview(b"callable")
    __buffer__ = _Call()


class NoBuffer(Buffer):
    """A Buffer subclass that defines no __buffer__."""


class KeepsView(Delegate):
    """__release_buffer__ keeps the memoryview (using it after the release)."""
    def __release_buffer__(self, view):
        note(f"release(len={len(view)}, ro={view.readonly})")
        self.kept = view


def pil_like():
    # suboffsets: a layout memoryview cannot make itself, delegated through memoryview(ndarray)
    return tb.ndarray(list(range(12)), shape=[3, 4], format="i", flags=tb.ND_PIL | tb.ND_WRITABLE)


def exporters():
    t = [
        ("bytes", lambda: Delegate(b"abcdefgh")),
        ("bytearray", lambda: Delegate(bytearray(b"abcdefgh"))),
        ("bytearray+release", lambda: DelegateRelease(bytearray(b"abcdefgh"))),
        ("array-i", lambda: Delegate(array.array("i", [1, -2, 3, -4]))),
        ("array-d+release", lambda: DelegateRelease(array.array("d", [0.5, 1.5, 2.5]))),
        ("empty-bytes", lambda: Delegate(b"")),
        ("precomputed-bytearray", lambda: Precomputed(bytearray(b"0123456789"))),
        ("precomputed+release", lambda: PrecomputedRelease(bytearray(b"0123456789"))),
        ("cast-2d-int", lambda: Cast(bytearray(range(24)), lambda m: m.cast("i", (2, 3)))),
        ("cast-readonly-2d", lambda: Cast(bytes(range(12)), lambda m: m.cast("B", (3, 4)))),
        ("slice-negative-step", lambda: Cast(bytearray(b"abcdefgh"), lambda m: m[::-2])),
        ("cast-0d", lambda: Cast(bytearray(8), lambda m: m.cast("d", ()))),
        ("testbuffer-pil", lambda: Cast(pil_like(), lambda m: m)),
        ("testbuffer-fortran", lambda: Cast(tb.ndarray(list(range(6)), shape=[2, 3], format="h",
                                                       flags=tb.ND_FORTRAN), lambda m: m)),
        ("nested", lambda: Delegate(Delegate(bytearray(b"nested!")))),
        ("nested+release", lambda: DelegateRelease(DelegateRelease(bytearray(b"nested!")))),
        ("raising", lambda: Raising()),
        ("wrong-type-bytes", lambda: WrongType(b"abc")),
        ("wrong-type-none", lambda: WrongType(None)),
        ("wrong-type-bytearray", lambda: WrongType(bytearray(b"abc"))),
        ("release-raises", lambda: ReleaseRaises(bytearray(b"abc"))),
        ("released-view", lambda: ReleasedView()),
        ("staticmethod", lambda: StaticBuffer()),
        ("callable-attr", lambda: CallableAttr()),
        ("no-buffer", lambda: NoBuffer()),
        ("keeps-view", lambda: KeepsView(bytearray(b"kept"))),
    ]
    for name, make in numpy_arrays():
        t.append((name, lambda make=make: Delegate(make())))
    return t


def numpy_arrays():
    """numpy layouts, where numpy is installed (no 3.12+ oracle has it: see direct_rows)."""
    if numpy is None:
        return []
    return [
        ("numpy-2d", lambda: numpy.arange(12, dtype=numpy.int32).reshape(3, 4)),
        ("numpy-strided", lambda: numpy.arange(24.0).reshape(4, 6)[::2, ::-3]),
        ("numpy-readonly", lambda: numpy.frombuffer(b"abcdefgh", dtype=numpy.uint16)),
    ]


def direct_rows():
    """The oracle for the numpy rows, in this same process: PEP 688's slot re-exports the
    memoryview __buffer__ returns with the consumer's flags, so a Buffer delegating to an array
    must give the fields of memoryview(array) asked directly (rows named '<exporter>@direct')."""
    out = []
    for name, make in numpy_arrays():
        for flags in FLAGS:
            facts = {}
            try:
                nd = tb.ndarray(memoryview(make()), getbuf=flags)
            except Exception as e:
                facts["error"] = f"{type(e).__name__}: {scrub(e)}"
            else:
                facts.update(fields(nd))
                del nd
            for field, value in facts.items():
                out.append(f"{name}@direct\t{flags}\t{field}\t{scrub(value)}")
    return out


FLAGS = [f for f in range(0x200) if not f & 0x2]


def fields(nd):
    out = {
        "obj": type(nd.obj).__name__,
        "len": nd.nbytes, "readonly": nd.readonly, "itemsize": nd.itemsize, "format": nd.format,
        "ndim": nd.ndim, "shape": nd.shape, "strides": nd.strides, "suboffsets": nd.suboffsets,
        "contiguous": (nd.c_contiguous, nd.f_contiguous, nd.contiguous),
    }
    try:
        out["bytes"] = nd.tobytes()
    except Exception as e:
        out["bytes"] = "error:" + type(e).__name__
    if nd.format:
        try:
            out["list"] = nd.tolist()
        except Exception as e:
            out["list"] = "error:" + type(e).__name__
    return out


def after_release(ex):
    """What the exporter's data says once the view is gone: a bytearray must be resizable again."""
    data = getattr(ex, "data", None)
    if isinstance(data, bytearray):
        try:
            data.append(0)
            data.pop()
            return "resizable"
        except BufferError as e:
            return "BufferError: " + scrub(e)
    return "-"


def row(name, make, flags):
    facts = {}
    unraisable = []
    old_hook = sys.unraisablehook

    def hook(u):
        unraisable.append(f"{u.exc_type.__name__}: {scrub(u.exc_value)} in {type(u.object).__name__} ({u.err_msg})")
    sys.unraisablehook = hook
    del EVENTS[:]
    try:
        ex = make()
        try:
            nd = tb.ndarray(ex, getbuf=flags)
        except Exception as e:
            facts["error"] = f"{type(e).__name__}: {scrub(e)}"
        else:
            facts.update(fields(nd))
            facts["events-while-held"] = list(EVENTS)
            del nd
        facts["events"] = list(EVENTS)
        facts["after"] = after_release(ex)
        facts["unraisable"] = unraisable
        del ex
    finally:
        sys.unraisablehook = old_hook
    return facts


def class_facts():
    """Facts about the classes themselves (flags, the view's obj, mixing with native exporters)."""
    out = []
    ex = Delegate(bytearray(b"xy"))
    m = memoryview(ex)
    out.append(("class", "memoryview.obj", type(m.obj).__name__))
    out.append(("class", "memoryview.obj-module", type(m.obj).__module__))
    out.append(("class", "memoryview.obj-is-instance", m.obj is ex))
    out.append(("class", "obj-new", _try(lambda: type(m.obj)())))
    m.release()
    out.append(("class", "bytes()", bytes(DelegateRelease(bytearray(b"to bytes")))))
    out.append(("class", "bytearray()", bytearray(Delegate(array.array("h", [1, 2])))))
    out.append(("class", "isinstance-Buffer", isinstance(ex, Buffer)))
    out.append(("class", "direct-__buffer__", _try(lambda: ex.__buffer__(0).tobytes())))
    for base in ("bytearray", "array.array"):
        out.append(("class", f"mix-first-{base}", _try(lambda: _mix(base, first=True))))
        out.append(("class", f"mix-second-{base}", _try(lambda: _mix(base, first=False))))
    return out


def _mix(base, first):
    b = {"bytearray": bytearray, "array.array": array.array}[base]
    bases = (Buffer, b) if first else (b, Buffer)

    class Mixed(*bases):
        def __buffer__(self, flags):
            return memoryview(b"mixed")
    return bytes(memoryview(Mixed(b"ab") if b is bytearray else Mixed("b", b"ab")))


def _try(fn):
    try:
        return fn()
    except Exception as e:
        return f"{type(e).__name__}: {scrub(e)}"


def lines():
    out = []
    for name, make in exporters():
        for flags in FLAGS:
            for field, value in row(name, make, flags).items():
                out.append(f"{name}\t{flags}\t{field}\t{scrub(value)}")
        gc.collect()
    for name, field, value in class_facts():
        out.append(f"{name}\t-\t{field}\t{scrub(value)}")
    out.extend(direct_rows())
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(lines() + "\n")
