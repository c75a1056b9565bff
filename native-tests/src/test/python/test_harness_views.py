"""How consumers react to deliberately broken views (a HarnessSpec and its
steps), exported by fx.harness(name) from Java."""
import struct

import pytest


def test_inconsistent_len_shows_in_nbytes(fx):
    m = memoryview(fx.harness("len8"))         # 4 doubles, len = 8
    assert (m.nbytes, len(m), m.tolist()) == (8, 4, [1.0, 2.0, 3.0, 4.0])


def test_unknown_format_cannot_be_unpacked(fx):
    m = memoryview(fx.harness("unknown_format"))
    assert m.format == "Z"
    with pytest.raises(NotImplementedError, match="memoryview: format Z not supported"):
        m.tolist()
    assert m.cast("B").tolist() == [1, 0, 0, 0, 2, 0, 0, 0]


def test_numpy_rejects_unknown_format(fx, need):
    np = need("numpy")
    with pytest.raises(ValueError, match="'Z' is not a valid PEP 3118 buffer format string"):
        np.asarray(fx.harness("unknown_format"))


def test_sixty_four_dimensions_are_accepted(fx):
    m = memoryview(fx.harness("ndim64"))
    assert m.ndim == 64 and m.tobytes() == struct.pack("i", 7)


def test_sixty_five_dimensions_are_refused(fx):
    with pytest.raises(ValueError, match="memoryview: number of dimensions must not exceed 64"):
        memoryview(fx.harness("ndim65"))


def test_indirect_view_is_read_through_pointers(fx):
    m = memoryview(fx.harness("indirect"))
    assert m.suboffsets == (0, -1)
    assert m.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert m[1, 2] == 6


def test_indirect_view_refused_without_indirect(fx):
    with pytest.raises(BufferError, match="JavaBuffer cannot be represented without suboffsets"):
        struct.unpack_from("i", fx.harness("indirect"))


def test_numpy_refuses_suboffsets(fx, need):
    np = need("numpy")
    with pytest.raises(BufferError, match="suboffsets"):
        np.asarray(fx.harness("indirect"))


def test_null_strides_mean_c_order(fx):
    m = memoryview(fx.harness("null_strides_fortran"))
    assert m.strides == (12, 4) and m.tolist() == [[1, 2, 3], [4, 5, 6]]


def test_refused_writable_request_raises_the_exporters_message(fx):
    _testbuffer = pytest.importorskip("_testbuffer")
    x = fx.harness("refusing_writable")
    with pytest.raises(BufferError, match="^no writes$"):
        _testbuffer.ndarray(x, getbuf=_testbuffer.PyBUF_WRITABLE)
    assert memoryview(x).tolist() == [1, 2, 3]          # read-only requests succeed
