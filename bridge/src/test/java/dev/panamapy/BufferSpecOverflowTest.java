package dev.panamapy;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The reproductions of issue 15 class 1: layouts whose arithmetic overflows a long are refused
 * with an IllegalArgumentException that names the field and prints exact numbers, never
 * accepted after wrapping, never an ArithmeticException.
 */
class BufferSpecOverflowTest {

    private static IllegalArgumentException refused(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run);
    }

    @Test
    void stridesWhoseSumWrapsAreRefusedAtTheFirstElementOutside() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(16);
            // (1 << 62) + (1 << 62) wraps to Long.MIN_VALUE: it was accepted, and memoryview(b)[1, 1] was SIGSEGV
            BufferSpec spec = BufferSpec.of(seg, "B").shape(2, 2).strides(1L << 62, 1L << 62);
            IllegalArgumentException e = refused(spec::requireInBounds);
            assertTrue(e.getMessage().contains("element [0, 1] lies at bytes [4611686018427387904, 4611686018427387905)"),
                    e.getMessage());
            assertTrue(e.getMessage().contains("1 * strides[1] 4611686018427387904"), e.getMessage());
            assertTrue(e.getMessage().contains("segment of 16 bytes"), e.getMessage());
        }
    }

    @Test
    void aShapeWhoseByteSizeOverflowsIsRefusedNamingTheExtent() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(16);
            IllegalArgumentException e = refused(() -> BufferSpec.of(seg, "d").shape(Long.MAX_VALUE));
            assertEquals("shape[0] = 9223372036854775807 makes the byte size of shape [9223372036854775807] "
                    + "73786976294838206456, more than a Py_ssize_t holds (9223372036854775807)", e.getMessage());
        }
    }

    @Test
    void aStrideWhoseSpanOverflowsIsRefusedWithTheExactRange() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(16);
            BufferSpec spec = BufferSpec.of(seg, "B").shape(3).strides(Long.MAX_VALUE);
            IllegalArgumentException e = refused(spec::requireInBounds);
            assertTrue(e.getMessage().startsWith("element [1] lies at bytes [9223372036854775807, 9223372036854775808)"),
                    e.getMessage());
            IllegalArgumentException neg = refused(() -> BufferSpec.of(seg, "B").layout(15, new long[]{3},
                    new long[]{Long.MIN_VALUE}).requireInBounds());
            assertTrue(neg.getMessage().startsWith("element [1] lies at bytes [-9223372036854775793, -9223372036854775792)"),
                    neg.getMessage());
        }
    }

    @Test
    void anOffsetNearLongMaxIsRefusedWithoutAWrappedRange() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(16);
            // Long.MAX_VALUE + 15 wrapped negative and passed the old check for 16 one-byte items
            IllegalArgumentException e = refused(() -> BufferSpec.of(seg, "B").offset(Long.MAX_VALUE).requireInBounds());
            assertTrue(e.getMessage().startsWith("element [0] lies at bytes [9223372036854775807, 9223372036854775808)"),
                    e.getMessage());
            IllegalArgumentException one = refused(() -> BufferSpec.of(seg, "B").shape(1).offset(Long.MAX_VALUE)
                    .requireInBounds());
            assertFalse(one.getMessage().contains("-9223372036854775808"), one.getMessage());
            IllegalArgumentException empty = refused(() -> BufferSpec.of(seg, "B").shape(0).offset(Long.MAX_VALUE)
                    .requireInBounds());
            assertEquals("offset = 9223372036854775807 lies beyond the segment of 16 bytes", empty.getMessage());
            assertEquals("offset = -1 is negative", refused(() -> BufferSpec.of(seg, "B").offset(-1)).getMessage());
        }
    }

    @Test
    void anItemLargerThanTheSegmentIsRefusedSayingSo() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(4);
            IllegalArgumentException e = refused(() -> BufferSpec.of(seg, "d").shape(1).requireInBounds());
            assertTrue(e.getMessage().contains("itemsize 8 is larger than the segment"), e.getMessage());
        }
    }

    @Test
    void aSegmentOfAnySizeGivesExactBoundsAtTheEndOfLong() {
        MemorySegment huge = SpecModel.segmentOfSize(Long.MAX_VALUE);
        BufferSpec last = BufferSpec.of(huge, "B").layout(Long.MAX_VALUE - 1, new long[]{1}, new long[]{1}).requireInBounds();
        assertEquals(Long.MAX_VALUE - 1, last.offset());
        refused(() -> BufferSpec.of(huge, "B").layout(Long.MAX_VALUE - 1, new long[]{2}, new long[]{1}).requireInBounds());
        BufferSpec down = BufferSpec.of(huge, "B").layout(Long.MAX_VALUE - 1, new long[]{2, 2},
                new long[]{-(Long.MAX_VALUE - 1) / 2, -(Long.MAX_VALUE - 1) / 2}).requireInBounds();
        assertEquals(2, down.ndim());
    }

    @Test
    void zeroLengthViewsAcceptAnyStridesButNoOffsetPastTheEnd() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(16);
            BufferSpec s = BufferSpec.of(seg, "B").layout(16, new long[]{0, 1L << 62}, new long[]{Long.MIN_VALUE, Long.MAX_VALUE})
                    .requireInBounds();
            assertEquals(0, s.byteLength());
            assertEquals(0, s.itemCount());
        }
    }

    @Test
    void cOrderStridesThatOverflowAreRefusedNotWrapped() {
        // an empty shape (a 0 extent) still makes CPython compute every C stride: (1 << 40) * (1 << 40) wrapped
        IllegalArgumentException e = refused(() -> BufferSpec.cStrides(new long[]{0, 1L << 40, 1L << 40}, 1));
        assertTrue(e.getMessage().startsWith("shape[1] = 1099511627776 makes a C-order stride"), e.getMessage());
        refused(() -> BufferSpec.fStrides(new long[]{1L << 40, 1L << 40, 0}, 1));
        assertArrayEquals(new long[]{0, 8L << 40, 8}, BufferSpec.cStrides(new long[]{1L << 62, 0, 1L << 40}, 8));
    }

    @Test
    void anItemCountThatOverflowsIsRefusedEvenForZeroSizeItems() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(16);
            // format "0B" has itemsize 0: the byte size is 0, but the item count 2^63 is no Py_ssize_t
            IllegalArgumentException e = refused(() -> BufferSpec.of(seg, "0B").layout(0, new long[]{2, 1L << 62},
                    new long[]{0, 0}));
            assertTrue(e.getMessage().startsWith("shape[1] = 4611686018427387904 makes the item count"), e.getMessage());
        }
    }

    @Test
    void uncheckedSizesAreExactOrRefusedBeforeAnythingIsExported() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(16);
            HarnessSpec u = HarnessSpec.of(seg, "d").layout(0, new long[]{1L << 62}, new long[]{0});
            IllegalArgumentException e = refused(u::byteLength);
            assertTrue(e.getMessage().startsWith("shape[0] = 4611686018427387904 makes the byte size"), e.getMessage());
            assertEquals(1L << 62, u.itemCount());
            assertEquals(16, u.len(16).byteLength(), "a harness sets len explicitly for an overflowing shape");
        }
    }

    @Test
    void contiguityIsNotFooledByAWrappedStride() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = a.allocate(16);
            // C order: 1, then 2, then 2 * 2^62 = 2^63, which wrapped to Long.MIN_VALUE and matched this stride
            HarnessSpec u = HarnessSpec.of(seg, "B").layout(0, new long[]{2, 1L << 62, 2},
                    new long[]{Long.MIN_VALUE, 2, 1});
            assertFalse(u.isCContiguous());
        }
    }

    @Test
    void indirectShapesAreExactAndBounded() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment data = a.allocate(64);
            // rowBytes * shape[0] = 2^64 * 8 wrapped to 0 and passed the size check
            IllegalArgumentException e = refused(() -> BufferSpec.indirect(data, "d", 1L << 32, 1L << 32));
            assertTrue(e.getMessage().startsWith("shape[1] = 4294967296 makes the byte size"), e.getMessage());
            assertEquals("shape[0] = -2 is negative", refused(() -> BufferSpec.indirect(data, "d", -2, -2)).getMessage());
            assertTrue(refused(() -> BufferSpec.indirect(data, "d", 3, 3)).getMessage().contains("needs 72 bytes"));
            BufferSpec ok = BufferSpec.indirect(data, "d", 2, 4);
            assertEquals(64, ok.byteLength());
        }
    }
}
