"""How memoryview, struct and numpy read and write Java memory exported as panamapy.JavaBuffer.

fx.export(fmt, data, shape, strides, offset, readonly) copies ``data`` into fresh native Java
memory and exports it with that layout (strides None: C order)."""
import array
import struct

import pytest


def test_memoryview_reads_java_doubles(fx):
    x = fx.export("d", struct.pack("4d", 1.5, 2.5, 3.5, 4.5), (4,), None, 0, False)
    m = memoryview(x)
    assert (m.format, m.itemsize, m.shape, m.readonly) == ("d", 8, (4,), False)
    assert m.tolist() == [1.5, 2.5, 3.5, 4.5]


def test_type_is_panamapy_javabuffer_and_not_instantiable(fx):
    x = fx.export("B", b"\x01", (1,), None, 0, False)
    assert type(x).__module__ + "." + type(x).__name__ == "panamapy.JavaBuffer"
    with pytest.raises(TypeError):
        type(x)()


def test_memoryview_writes_are_seen_on_the_next_view(fx):
    x = fx.export("i", struct.pack("3i", 1, 2, 3), (3,), None, 0, False)
    memoryview(x)[1] = 42
    assert memoryview(x).tolist() == [1, 42, 3]


def test_readonly_export_refuses_writes(fx):
    x = fx.export("i", struct.pack("3i", 1, 2, 3), (3,), None, 0, True)
    with pytest.raises(TypeError, match="cannot modify read-only memory"):
        memoryview(x)[0] = 5
    with pytest.raises(TypeError, match="argument must be read-write bytes-like object"):
        struct.pack_into("i", x, 0, 5)


def test_struct_unpacks_from_a_contiguous_export(fx):
    x = fx.export("<h", struct.pack("<4h", -1, 2, -3, 4), (4,), None, 0, False)
    assert struct.unpack_from("<4h", x) == (-1, 2, -3, 4)
    struct.pack_into("<h", x, 2, 7)
    assert struct.unpack_from("<4h", x) == (-1, 7, -3, 4)   # memoryview cannot unpack "<h"


def test_struct_refuses_a_strided_export(fx):
    x = fx.export("i", struct.pack("6i", *range(6)), (3,), (8,), 0, False)
    assert memoryview(x).tolist() == [0, 2, 4]
    with pytest.raises(BufferError, match="JavaBuffer is not C-contiguous"):
        struct.unpack_from("i", x)


def test_negative_strides_read_backwards(fx):
    x = fx.export("q", struct.pack("3q", 10, 20, 30), (3,), (-8,), 16, False)
    assert memoryview(x).tolist() == [30, 20, 10]
    assert bytes(x) == struct.pack("3q", 30, 20, 10)


def test_fortran_2d_layout(fx):
    # column-major 2x3: memory holds columns
    x = fx.export("i", struct.pack("6i", 1, 4, 2, 5, 3, 6), (2, 3), (4, 8), 0, False)
    m = memoryview(x)
    assert m.tolist() == [[1, 2, 3], [4, 5, 6]]
    assert (m.c_contiguous, m.f_contiguous) == (False, True)
    assert m.tobytes() == struct.pack("6i", 1, 2, 3, 4, 5, 6)


def test_memoryview_equality_with_array_module(fx):
    x = fx.export("d", struct.pack("3d", 1, 2, 3), (3,), None, 0, False)
    assert memoryview(x) == memoryview(array.array("d", [1, 2, 3]))


def test_numpy_shares_java_memory(fx, need):
    np = need("numpy")
    x = fx.export("d", struct.pack("4d", 1, 2, 3, 4), (2, 2), None, 0, False)
    a = np.asarray(x)
    assert a.dtype == np.float64 and a.shape == (2, 2)
    assert a.sum() == 10.0
    a[0, 0] = 100.0
    assert memoryview(x).tolist() == [[100.0, 2.0], [3.0, 4.0]]


def test_numpy_sees_readonly(fx, need):
    np = need("numpy")
    a = np.asarray(fx.export("i", struct.pack("2i", 1, 2), (2,), None, 0, True))
    assert not a.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        a[0] = 3


def test_numpy_big_endian_format(fx, need):
    np = need("numpy")
    a = np.asarray(fx.export(">i", struct.pack(">3i", 1, 256, -2), (3,), None, 0, False))
    assert a.dtype == np.dtype(">i4")
    assert a.tolist() == [1, 256, -2]
