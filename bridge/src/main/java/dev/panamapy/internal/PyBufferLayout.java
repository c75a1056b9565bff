package dev.panamapy.internal;

import dev.panamapy.bindings.Py_buffer;

import java.lang.foreign.MemoryLayout.PathElement;

/** Field offsets of CPython's {@code Py_buffer}, taken from the generated layout. */
public final class PyBufferLayout {
    private PyBufferLayout() { }

    public static final long SIZE = Py_buffer.layout().byteSize();
    public static final long BUF = offset("buf");
    public static final long OBJ = offset("obj");
    public static final long LEN = offset("len");
    public static final long ITEMSIZE = offset("itemsize");
    public static final long READONLY = offset("readonly");
    public static final long NDIM = offset("ndim");
    public static final long FORMAT = offset("format");
    public static final long SHAPE = offset("shape");
    public static final long STRIDES = offset("strides");
    public static final long SUBOFFSETS = offset("suboffsets");
    public static final long INTERNAL = offset("internal");

    private static long offset(String field) {
        return Py_buffer.layout().byteOffset(PathElement.groupElement(field));
    }
}
