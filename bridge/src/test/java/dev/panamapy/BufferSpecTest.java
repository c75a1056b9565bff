package dev.panamapy;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BufferSpecTest {

    private static MemorySegment doubles(Arena a, long n) { return a.allocate(ValueLayout.JAVA_DOUBLE, n); }

    @Test
    void ofCoversTheWholeSegmentAsOneDimension() {
        try (Arena a = Arena.ofConfined()) {
            BufferSpec s = BufferSpec.of(doubles(a, 10), "d");
            assertArrayEquals(new long[]{10}, s.shape());
            assertArrayEquals(new long[]{8}, s.strides());
            assertEquals(80, s.byteLength());
            assertTrue(s.isCContiguous());
            assertTrue(s.isFContiguous());
        }
    }

    @Test
    void shapeGivesCStridesAndFortranGivesColumnMajor() {
        try (Arena a = Arena.ofConfined()) {
            BufferSpec c = BufferSpec.of(doubles(a, 24), "d").shape(2, 3, 4);
            assertArrayEquals(new long[]{96, 32, 8}, c.strides());
            assertTrue(c.isCContiguous());
            assertFalse(c.isFContiguous());
            BufferSpec f = c.fortran();
            assertArrayEquals(new long[]{8, 16, 48}, f.strides());
            assertTrue(f.isFContiguous());
            assertFalse(f.isCContiguous());
        }
    }

    @Test
    void outOfBoundsShapeNamesTheFirstBadIndex() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = doubles(a, 10);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> BufferSpec.of(seg, "d").shape(3, 4).requireInBounds());
            assertTrue(e.getMessage().contains("element [2, 2]"), e.getMessage());
            assertTrue(e.getMessage().contains("80 bytes"), e.getMessage());
        }
    }

    @Test
    void negativeStridesNeedTheirOffsetAndAreCheckedAtBothEnds() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = doubles(a, 12);
            BufferSpec ok = BufferSpec.of(seg, "d").layout(88, new long[]{3, 4}, new long[]{-32, -8}).requireInBounds();
            assertEquals(88, ok.offset());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> BufferSpec.of(seg, "d").layout(80, new long[]{3, 4}, new long[]{-32, -8}).requireInBounds());
            assertTrue(e.getMessage().contains("element [2, 3]"), e.getMessage());
        }
    }

    @Test
    void zeroSizeViewsAddressNothingAndAreValid() {
        try (Arena a = Arena.ofConfined()) {
            BufferSpec s = BufferSpec.of(doubles(a, 1), "d").shape(5, 0);
            assertEquals(0, s.byteLength());
            assertArrayEquals(new long[]{0, 8}, s.strides());
        }
    }

    @Test
    void scalarHasNoDimensions() {
        try (Arena a = Arena.ofConfined()) {
            BufferSpec s = BufferSpec.of(doubles(a, 1), "d").scalar();
            assertEquals(0, s.ndim());
            assertEquals(8, s.byteLength());
        }
    }

    @Test
    void badFormatNamesTheOffendingCharacter() {
        try (Arena a = Arena.ofConfined()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> BufferSpec.of(doubles(a, 1), "dz"));
            assertTrue(e.getMessage().contains("'z'"), e.getMessage());
            assertTrue(e.getMessage().contains("index 1"), e.getMessage());
        }
    }

    @Test
    void wrongItemsizeIsRejectedButAHarnessSpecTakesIt() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = doubles(a, 4);
            assertThrows(IllegalArgumentException.class, () -> BufferSpec.of(seg, "d").itemsize(4));
            HarnessSpec u = HarnessSpec.from(BufferSpec.of(seg, "d")).itemsize(4).shape(100);
            assertEquals(4, u.itemsize());
            assertEquals(400, u.byteLength());
        }
    }

    @Test
    void heapSegmentsAreRefusedWithAHint() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BufferSpec.of(MemorySegment.ofArray(new double[4]), "d"));
        assertTrue(e.getMessage().contains("Arena"), e.getMessage());
    }

    @Test
    void suboffsetsAreSetOnlyByAHarnessSpec() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment seg = doubles(a, 4);
            HarnessSpec s = HarnessSpec.of(seg, "d").suboffsets(0);
            assertArrayEquals(new long[]{0}, s.suboffsets());
            assertNull(BufferSpec.of(seg, "d").suboffsets());
        }
    }

    @Test
    void stridesMustMatchTheShape() {
        try (Arena a = Arena.ofConfined()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> BufferSpec.of(doubles(a, 4), "d").shape(2, 2).strides(8));
            assertTrue(e.getMessage().contains("set the shape first"), e.getMessage());
        }
    }

    @Test
    void aBufferSpecHasNoHarnessKnobs() {
        for (String knob : List.of("unchecked", "len", "nullShape", "nullStrides", "suboffsets", "refusing",
                "isChecked", "hasNullShape", "hasNullStrides", "refusedFlags", "refusalMessage")) {
            for (var m : BufferSpec.class.getMethods()) {
                if (m.getName().equals("suboffsets") && m.getParameterCount() == 0) continue;   // the getter stays
                assertNotEquals(knob, m.getName(), "BufferSpec." + knob + " belongs to HarnessSpec: " + m);
            }
        }
        assertTrue(Arrays.stream(HarnessSpec.class.getMethods()).anyMatch(m -> m.getName().equals("refusing")));
    }

    @Test
    void anIndirectSpecKeepsItsLayout() {
        try (Arena a = Arena.ofConfined()) {
            BufferSpec s = BufferSpec.indirect(a.allocate(48), "i", 3, 4);
            assertSame(s, s.requireInBounds());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> s.shape(12));
            assertTrue(e.getMessage().contains("indirect"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> s.offset(4));
            assertTrue(s.readOnly().isReadOnly());
            assertArrayEquals(new long[]{0, -1}, s.suboffsets());
        }
    }
}
