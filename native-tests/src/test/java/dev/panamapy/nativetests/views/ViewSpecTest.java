package dev.panamapy.nativetests.views;

import dev.panamapy.BufferLayout;
import dev.panamapy.BufferRequest;
import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.PyBufferView;
import dev.panamapy.PyObject;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A view describes its layout as a BufferSpec, in the same words the view's own accessors use. */
@PythonTest
class ViewSpecTest {

    @Test
    void specOfANegativelyStridedViewMatchesTheViewsAccessors(CPython py) {
        try (PyObject m = py.eval("memoryview(bytearray(range(24))).cast('i')[::-2]");
             PyBufferView v = m.getBuffer(BufferRequest.FULL_RO)) {
            BufferSpec s = assertInstanceOf(BufferSpec.class, v.spec(),
                    "a struct format without suboffsets is described as a checked BufferSpec");
            assertSame(v.segment().scope(), s.segment().scope(), "the spec lies over the view's own segment");
            assertEquals(v.segment().byteSize(), s.segment().byteSize());
            assertEquals(v.offset(), s.offset());
            assertEquals(16, v.offset(), "element [0] is the last int, the segment starts at the first one addressed");
            assertEquals("i", s.format());
            assertEquals(v.itemsize(), s.itemsize());
            assertArrayEquals(v.shape(), s.shape());
            assertArrayEquals(new long[]{-8}, s.strides());
            assertEquals(v.itemCount(), s.itemCount());
            assertEquals(v.isCContiguous(), s.isCContiguous());
            assertFalse(v.isReadOnly());
            assertEquals(v.isReadOnly(), s.isReadOnly());
            assertEquals(v.getAsLong(1), s.segment().get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED,
                    s.offset() + s.strides()[0]), "the spec addresses the same items");
        }
    }

    @Test
    void specOfReadOnlyBytesIsReadOnly(CPython py) {
        try (PyObject b = py.eval("b'abcdef'"); PyBufferView v = b.getBuffer(BufferRequest.SIMPLE)) {
            BufferLayout s = v.spec();
            assertTrue(v.isReadOnly());
            assertEquals(v.readOnly(), v.isReadOnly());
            assertTrue(s.isReadOnly());
            assertTrue(s.segment().isReadOnly());
            assertEquals("B", s.format());
            assertArrayEquals(new long[]{6}, s.shape());
            assertEquals(6, s.byteLength());
        }
    }

    @Test
    void specAfterCloseSaysTheViewIsClosed(CPython py) {
        try (PyObject b = py.eval("bytearray(4)")) {
            PyBufferView v = b.getBuffer(BufferRequest.FULL);
            v.close();
            IllegalStateException e = assertThrows(IllegalStateException.class, v::spec);
            assertEquals("view is closed", e.getMessage());
        }
    }
}
