package dev.panamapy;

import dev.panamapy.Cases.Gen;
import dev.panamapy.SpecModel.Layout;
import org.junit.jupiter.api.Test;

import java.math.BigInteger;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static dev.panamapy.SpecModel.big;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Property tests of BufferSpec's arithmetic against the exact {@link SpecModel}: shapes, strides,
 * offsets and item sizes at the edges of {@code long} (0, 1, -1, MIN, MAX, 2^31, 2^62, around the
 * segment's size) and at random. A checked spec is accepted exactly when every element lies
 * inside its segment; an accepted spec addresses no byte outside {@code [0, byteSize)}
 * (enumerated, or at the corners for shapes too large to enumerate: positions are linear in the
 * index, so the corners bound them all); a refused one throws IllegalArgumentException naming
 * the field, with exact numbers. Seeds are fixed ({@link Cases}): every run checks the same cases.
 */
class BufferSpecBoundsPropertyTest {

    /** Enumerate every element of accepted specs up to this many; check the corners above it. */
    private static final long ENUMERATE_UP_TO = 4096;

    private static final long P31 = 1L << 31, P32 = 1L << 32, P62 = 1L << 62;

    /** Formats and their struct.calcsize: 0, 1, 2, 4, 8, 24, 100, 2^31 - 1 and 2^34 - 8 bytes. */
    private static final String[] FORMATS = {"0B", "B", "?", "h", "e", "i", "f", "d", "q", "3d", "100s", "2147483647s",
            "2147483647q"};

    // ---- the properties ----------------------------------------------------------------------

    @Test
    void aCheckedSpecIsAcceptedExactlyWhenEveryElementLiesInside() {
        AtomicInteger accepted = new AtomicInteger(), refused = new AtomicInteger();
        Cases.check(3118, 6000, BufferSpecBoundsPropertyTest::edgyLayout, l -> {
            (SpecModel.expectedRefusal(l) == null ? accepted : refused).incrementAndGet();
            checkAgainstModel(l);
        });
        // the generator reaches both sides of the boundary often
        assertTrue(accepted.get() > 300 && refused.get() > 300, accepted + " accepted, " + refused + " refused");
    }

    @Test
    void validLayoutsAreAcceptedWhereverTheyLie() {
        Cases.check(3119, 4000, BufferSpecBoundsPropertyTest::validLayout, l -> {
            assertNull(SpecModel.expectedRefusal(l), "the generator builds valid layouts only");
            checkAgainstModel(l);
        });
    }

    @Test
    void aLayoutOneByteTooLongOrTooEarlyIsRefused() {
        Cases.check(3120, 4000, g -> new Object[]{tightLayout(g), g.bool()}, t -> {
            Layout tight = (Layout) t[0];
            Layout broken = (Boolean) t[1]
                    ? new Layout(tight.byteSize() - 1, tight.format(), tight.itemsize(), tight.offset(), tight.shape(), tight.strides())
                    : new Layout(tight.byteSize(), tight.format(), tight.itemsize(), tight.offset() - 1, tight.shape(), tight.strides());
            if (broken.byteSize() < 0) return;
            assertNull(SpecModel.expectedRefusal(tight), "tight layouts are valid");
            assertNotNull(SpecModel.expectedRefusal(broken), "one byte less room must not fit");
            checkAgainstModel(tight);
            checkAgainstModel(broken);
        });
    }

    @Test
    void theShapeStepGivesExactCStridesOrRefuses() {
        Cases.check(3121, 3000, g -> new Object[]{shape(g), g.of(FORMATS), byteSize(g)}, t -> {
            long[] shape = (long[]) t[0];
            String format = (String) t[1];
            long byteSize = (Long) t[2];
            long itemsize = itemsizeOf(format);
            BigInteger[] c = SpecModel.cStrides(shape, itemsize);
            BufferSpec start = BufferSpec.of(SpecModel.segmentOfSize(byteSize), format);
            if (c == null) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> start.shape(shape));
                assertTrue(e.getMessage().startsWith("shape["), e.getMessage());
                return;
            }
            long[] strides = Arrays.stream(c).mapToLong(BigInteger::longValueExact).toArray();
            // the shape step is the layout step with C strides; the same model decides
            checkAgainstModel(new Layout(byteSize, format, itemsize, 0, shape, strides),
                    () -> start.shape(shape).requireInBounds());
        });
    }

    @Test
    void cAndFortranStridesAreExactOrRefusedNamingTheDimension() {
        Cases.check(3122, 3000, g -> new Object[]{shape(g), edgeLong(g)}, t -> {
            long[] shape = (long[]) t[0];
            long itemsize = (Long) t[1];
            BigInteger[] c = SpecModel.cStrides(shape, itemsize);
            BigInteger[] f = SpecModel.fStrides(shape, itemsize);
            if (c == null) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BufferSpec.cStrides(shape, itemsize));
                assertTrue(e.getMessage().startsWith("shape["), e.getMessage());
            } else {
                assertArrayEquals(Arrays.stream(c).mapToLong(BigInteger::longValueExact).toArray(), BufferSpec.cStrides(shape, itemsize));
            }
            if (f == null) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BufferSpec.fStrides(shape, itemsize));
                assertTrue(e.getMessage().startsWith("shape["), e.getMessage());
            } else {
                assertArrayEquals(Arrays.stream(f).mapToLong(BigInteger::longValueExact).toArray(), BufferSpec.fStrides(shape, itemsize));
            }
        });
    }

    @Test
    void contiguityIsDecidedWithoutWrapAround() {
        Cases.check(3123, 3000, BufferSpecBoundsPropertyTest::edgyLayout, l -> {
            HarnessSpec s = HarnessSpec.of(SpecModel.segmentOfSize(l.byteSize()), l.format())
                    .layout(l.offset(), l.shape(), l.strides());
            assertEquals(SpecModel.contiguous(l.shape(), l.strides(), l.itemsize(), true), s.isCContiguous(), "C");
            assertEquals(SpecModel.contiguous(l.shape(), l.strides(), l.itemsize(), false), s.isFContiguous(), "Fortran");
        });
    }

    @Test
    void sizesOfUncheckedSpecsAreExactOrRefused() {
        Cases.check(3124, 2000, g -> new Object[]{shape(g), g.of(FORMATS)}, t -> {
            long[] shape = (long[]) t[0];
            String format = (String) t[1];
            HarnessSpec s = HarnessSpec.of(SpecModel.segmentOfSize(16), format).layout(0, shape, new long[shape.length]);
            BigInteger bytes = exactPrefixes(shape, s.itemsize());
            if (bytes != null) {
                assertEquals(bytes.longValueExact(), s.byteLength());
            } else {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, s::byteLength);
                assertTrue(e.getMessage().startsWith("shape["), e.getMessage());
            }
            BigInteger count = exactPrefixes(shape, 1);
            if (count != null) {
                assertEquals(count.longValueExact(), s.itemCount());
            } else {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, s::itemCount);
                assertTrue(e.getMessage().startsWith("shape["), e.getMessage());
            }
        });
    }

    /**
     * {@code first * product(shape)} if it and every partial product in index order fit in a
     * long (only a negative extent can bring a product that left long back into it), or any
     * extent is 0; else null.
     */
    private static BigInteger exactPrefixes(long[] shape, long first) {
        if (Arrays.stream(shape).anyMatch(d -> d == 0)) return BigInteger.ZERO;
        BigInteger p = big(first);
        for (long d : shape) {
            p = p.multiply(big(d));
            if (!SpecModel.fitsLong(p)) return null;
        }
        return p;
    }

    // ---- checking one layout ------------------------------------------------------------------

    private static void checkAgainstModel(Layout l) {
        checkAgainstModel(l, () -> BufferSpec.of(SpecModel.segmentOfSize(l.byteSize()), l.format())
                .layout(l.offset(), l.shape(), l.strides()).requireInBounds());
    }

    /** Builds the spec and holds it to the model: accepted and inside, or refused naming the field. */
    private static void checkAgainstModel(Layout l, java.util.function.Supplier<BufferSpec> build) {
        String expected = SpecModel.expectedRefusal(l);
        BufferSpec spec;
        try {
            spec = build.get();
        } catch (IllegalArgumentException e) {
            if (expected == null) fail("a valid layout was refused: " + l + ": " + e.getMessage(), e);
            String m = e.getMessage();
            assertTrue(m.contains(expected), "the refusal of " + l + " must name \"" + expected + "\": " + m);
            if (expected.equals("element [")) checkNamedElement(l, m);
            if (expected.equals("shape[")) checkNamedProduct(l, m);
            return;
        } catch (RuntimeException e) {
            fail("not an IllegalArgumentException for " + l, e);
            return;
        }
        if (expected != null) fail("accepted, but the model refuses (" + expected + "): " + l);
        assertEquals(l.offset(), spec.offset());
        assertArrayEquals(l.shape(), spec.shape());
        assertArrayEquals(l.strides(), spec.strides());
        assertEquals(SpecModel.count(l.shape()).multiply(big(l.itemsize())).longValueExact(), spec.byteLength());
        assertEveryAddressedByteInside(spec);
    }

    /**
     * The proof obligation: no element of an accepted spec starts before 0 or ends after
     * byteSize. Positions are computed here in checked long arithmetic (an overflow would be
     * an element outside, and fails the test as an ArithmeticException).
     */
    private static void assertEveryAddressedByteInside(BufferSpec spec) {
        long size = spec.segment().byteSize();
        long[] shape = spec.shape(), strides = spec.strides();
        long itemsize = spec.itemsize();
        if (SpecModel.count(shape).signum() == 0) {
            assertTrue(spec.offset() >= 0 && spec.offset() <= size, "an empty view's offset lies in the segment");
            return;
        }
        java.util.function.Consumer<long[]> check = idx -> {
            long p = spec.offset();
            for (int d = 0; d < idx.length; d++) p = Math.addExact(p, Math.multiplyExact(idx[d], strides[d]));
            long end = Math.addExact(p, itemsize);
            if (p < 0 || end > size) {
                fail("element " + Arrays.toString(idx) + " of an accepted spec lies at [" + p + ", " + end
                        + ") outside [0, " + size + "): " + spec);
            }
        };
        if (SpecModel.count(shape).compareTo(big(ENUMERATE_UP_TO)) <= 0) SpecModel.forEachIndex(shape, check);
        else SpecModel.forEachCorner(shape, check);
    }

    private static final Pattern ELEMENT = Pattern.compile("element \\[([-0-9, ]*)] lies at bytes \\[(-?\\d+), (-?\\d+)\\)");

    /** The element a bounds refusal names: inside the shape, outside the segment, exact, and the first in C order. */
    private static void checkNamedElement(Layout l, String message) {
        Matcher m = ELEMENT.matcher(message);
        assertTrue(m.find(), "the refusal names the element and its bytes: " + message);
        long[] idx = m.group(1).isEmpty() ? new long[0]
                : Arrays.stream(m.group(1).split(", ")).mapToLong(Long::parseLong).toArray();
        assertEquals(l.shape().length, idx.length, message);
        for (int d = 0; d < idx.length; d++) {
            assertTrue(idx[d] >= 0 && idx[d] < l.shape()[d], "index inside the shape: " + message);
        }
        BigInteger p = SpecModel.position(l, idx);
        assertEquals(p, new BigInteger(m.group(2)), "exact start, never wrapped: " + message);
        assertEquals(p.add(big(l.itemsize())), new BigInteger(m.group(3)), "exact end, never wrapped: " + message);
        assertTrue(!SpecModel.inside(l, p), "the named element lies outside: " + message);
        if (SpecModel.count(l.shape()).compareTo(big(ENUMERATE_UP_TO)) <= 0) {
            AtomicReference<long[]> first = new AtomicReference<>();
            SpecModel.forEachIndex(l.shape(), idx2 -> {
                if (first.get() == null && !SpecModel.inside(l, idx2)) first.set(idx2);
            });
            assertArrayEquals(first.get(), idx, "the first element outside, in C order: " + message);
        }
    }

    private static final Pattern PRODUCT = Pattern.compile(
            "shape\\[(\\d+)] = (-?\\d+) makes the (byte size|item count) of shape \\[[-0-9, ]*] (-?\\d+),");

    /** A size refusal names the extent at which the count or size leaves a long, with the exact product so far. */
    private static void checkNamedProduct(Layout l, String message) {
        Matcher m = PRODUCT.matcher(message);
        assertTrue(m.find(), "the refusal names the extent: " + message);
        int i = Integer.parseInt(m.group(1));
        assertEquals(l.shape()[i], Long.parseLong(m.group(2)), message);
        BigInteger prefix = m.group(3).equals("byte size") ? big(l.itemsize()) : BigInteger.ONE;
        for (int d = 0; d <= i; d++) prefix = prefix.multiply(big(l.shape()[d]));
        assertEquals(prefix, new BigInteger(m.group(4)), "the exact product, never wrapped: " + message);
        assertTrue(!SpecModel.fitsLong(prefix), message);
    }

    // ---- generators ---------------------------------------------------------------------------
    //
    // Values that depend on the segment's size or the item size (strides and offsets near
    // them) are drawn as named choices and resolved when the layout is assembled.

    /** A stride, offset or extent chosen relative to the segment's size and the item size. */
    record Pick(String name, long constant, int sizeFactor, int itemFactor) {
        long of(long size, long item) { return constant + sizeFactor * size + itemFactor * item; }
        @Override public String toString() { return name; }
    }

    private static Pick constant(long v) { return new Pick(Long.toString(v), v, 0, 0); }

    private static final long[] EDGES = {0, 1, -1, 2, 3, 7, 8, -8, P31, -P31, P31 - 1, P32, P62, -P62, P62 - 1,
            Long.MAX_VALUE, Long.MIN_VALUE, Long.MAX_VALUE - 1, Long.MIN_VALUE + 1, Long.MAX_VALUE / 2, Long.MAX_VALUE / 3};

    /** Strides and offsets around the segment's size and the item size. */
    private static final List<Pick> RELATIVE = List.of(
            new Pick("itemsize", 0, 0, 1), new Pick("-itemsize", 0, 0, -1),
            new Pick("size", 0, 1, 0), new Pick("-size", 0, -1, 0),
            new Pick("size-1", -1, 1, 0), new Pick("1-size", 1, -1, 0),
            new Pick("size+1", 1, 1, 0), new Pick("-size-1", -1, -1, 0),
            new Pick("size-itemsize", 0, 1, -1), new Pick("itemsize-size", 0, -1, 1),
            new Pick("size-itemsize+1", 1, 1, -1));

    private static Pick pick(Gen g, long randomMin, long randomMax) {
        return g.weightedOf(
                3, () -> g.of(RELATIVE),
                3, () -> constant(g.ofLongs(EDGES)),
                3, () -> constant(g.between(randomMin, randomMax)),
                1, () -> constant(g.anyLong()));
    }

    private static long edgeLong(Gen g) {
        return g.weighted(3, () -> g.ofLongs(EDGES), 2, () -> g.between(-64, 64), 1, g::anyLong);
    }

    private static long byteSize(Gen g) {
        return g.weighted(
                4, () -> g.between(0, 256),
                2, () -> g.ofLongs(0L, 1L, 8L, 16L, 4096L, P31, P31 - 1, P32, P62, Long.MAX_VALUE, Long.MAX_VALUE - 1,
                        17_179_869_176L, 17_179_869_175L),
                1, () -> g.between(0, Long.MAX_VALUE));
    }

    private static long extent(Gen g) {
        return g.weighted(
                6, () -> g.between(0, 5),
                2, () -> g.ofLongs(0L, 1L, 2L, 3L, P31, P32, P62, Long.MAX_VALUE, Long.MAX_VALUE / 2, -1L, Long.MIN_VALUE),
                1, g::anyLong);
    }

    /** Shapes of 0 to 6 dimensions, most of them small. */
    private static long[] shape(Gen g) {
        return g.upTo(6, () -> extent(g));
    }

    private static long itemsizeOf(String format) {
        return HarnessSpec.of(SpecModel.segmentOfSize(0), format).itemsize();
    }

    /** Anything: every field at an edge of long, near the segment's or the item's size, or random. */
    private static Layout edgyLayout(Gen g) {
        long size = byteSize(g);
        String format = g.of(FORMATS);
        long[] shape = shape(g);
        long item = itemsizeOf(format);
        long[] strides = new long[shape.length];
        for (int i = 0; i < strides.length; i++) strides[i] = pick(g, -64, 64).of(size, item);
        return new Layout(size, format, item, pick(g, 0, 256).of(size, item), shape, strides);
    }

    /**
     * Valid by construction: a random shape and strides, the offset their negative reach needs
     * plus a slack, the segment exactly as long as the positive reach needs plus a slack (often
     * 0), and the whole view moved up by a base anywhere up to the end of long.
     */
    private static Layout validLayout(Gen g) {
        return g.until(() -> tight(g, g.between(0, 3), g.between(0, 3), g.weighted(
                3, () -> 0L,
                1, () -> g.between(0, Long.MAX_VALUE),
                1, () -> g.ofLongs(Long.MAX_VALUE, Long.MAX_VALUE - 1, P62, P31))));
    }

    /** A valid layout with no room to spare at either end, not empty. */
    private static Layout tightLayout(Gen g) {
        return g.until(() -> {
            Layout l = tight(g, 0, 0, 0);
            return l == null || SpecModel.count(l.shape()).signum() == 0 ? null : l;
        });
    }

    /** A valid layout with the given slack before and after it, moved up by {@code base}; null when none fits a long. */
    private static Layout tight(Gen g, long startSlack, long endSlack, long base) {
        String format = g.of(FORMATS);
        long item = itemsizeOf(format);
        long[] shape = g.upTo(6, () -> g.weighted(6, () -> g.between(0, 6), 1, () -> g.ofLongs(P31, P32, P62)));
        long[] strides = g.longs(shape.length, () -> g.weighted(4, () -> g.between(-48, 48),
                1, () -> g.ofLongs(0L, P31, -P31, P62 / 8, -P62 / 8)));
        BigInteger count = SpecModel.count(shape);
        if (!SpecModel.fitsLong(count) || !SpecModel.fitsLong(count.multiply(big(item)))) return null;  // no Py_buffer has it
        BigInteger[] r = count.signum() == 0 ? new BigInteger[]{BigInteger.ZERO, BigInteger.ZERO}
                : SpecModel.range(new Layout(0, format, item, 0, shape, strides));
        BigInteger offset = r[0].negate().add(big(startSlack));                 // lowest element at startSlack
        BigInteger size = count.signum() == 0 ? offset.add(big(endSlack))       // the offset may be the end
                : offset.add(r[1]).add(big(item)).add(big(endSlack));           // highest element ends endSlack before the end
        BigInteger room = SpecModel.LONG_MAX.subtract(size);                    // move it all up, as far as long allows
        if (room.signum() < 0) return null;
        BigInteger shift = big(base).min(room);
        return new Layout(size.add(shift).longValueExact(), format, item, offset.add(shift).longValueExact(), shape, strides);
    }
}
