package dev.panamapy;

import dev.panamapy.SpecModel.Layout;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.statistics.Statistics;

import java.math.BigInteger;
import java.util.Arrays;
import java.util.List;
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
 * the field, with exact numbers. Seeds are fixed: every run generates the same cases.
 */
class BufferSpecBoundsProperties {

    /** Enumerate every element of accepted specs up to this many; check the corners above it. */
    private static final long ENUMERATE_UP_TO = 4096;

    private static final long P31 = 1L << 31, P32 = 1L << 32, P62 = 1L << 62;

    /** Formats and their struct.calcsize: 0, 1, 2, 4, 8, 24, 100, 2^31 - 1 and 2^34 - 8 bytes. */
    private static final String[] FORMATS = {"0B", "B", "?", "h", "e", "i", "f", "d", "q", "3d", "100s", "2147483647s",
            "2147483647q"};

    // ---- the properties ----------------------------------------------------------------------

    @Property(tries = 6000, seed = "3118")
    void aCheckedSpecIsAcceptedExactlyWhenEveryElementLiesInside(@ForAll("edgyLayouts") Layout l) {
        String expected = SpecModel.expectedRefusal(l);
        Statistics.label("outcome").collect(expected == null ? "accepted" : "refused: " + expected.replaceAll("[ =\\d-].*", ""));
        checkAgainstModel(l);
    }

    @Property(tries = 4000, seed = "3119")
    void validLayoutsAreAcceptedWhereverTheyLie(@ForAll("validLayouts") Layout l) {
        assertNull(SpecModel.expectedRefusal(l), "the generator builds valid layouts only");
        checkAgainstModel(l);
    }

    @Property(tries = 4000, seed = "3120")
    void aLayoutOneByteTooLongOrTooEarlyIsRefused(@ForAll("tightLayouts") Tuple.Tuple2<Layout, Boolean> t) {
        Layout tight = t.get1();
        Layout broken = t.get2()
                ? new Layout(tight.byteSize() - 1, tight.format(), tight.itemsize(), tight.offset(), tight.shape(), tight.strides())
                : new Layout(tight.byteSize(), tight.format(), tight.itemsize(), tight.offset() - 1, tight.shape(), tight.strides());
        if (broken.byteSize() < 0) return;
        assertNull(SpecModel.expectedRefusal(tight), "tight layouts are valid");
        assertNotNull(SpecModel.expectedRefusal(broken), "one byte less room must not fit");
        checkAgainstModel(tight);
        checkAgainstModel(broken);
    }

    @Property(tries = 3000, seed = "3121")
    void theShapeStepGivesExactCStridesOrRefuses(@ForAll("shapes") long[] shape, @ForAll("formats") String format,
                                                 @ForAll("byteSizes") long byteSize) {
        long itemsize = BufferSpec.unchecked(SpecModel.segmentOfSize(0), format).itemsize();
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
    }

    @Property(tries = 3000, seed = "3122")
    void cAndFortranStridesAreExactOrRefusedNamingTheDimension(@ForAll("shapes") long[] shape,
                                                               @ForAll("edgeLongs") long itemsize) {
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
    }

    @Property(tries = 3000, seed = "3123")
    void contiguityIsDecidedWithoutWrapAround(@ForAll("edgyLayouts") Layout l) {
        BufferSpec s = BufferSpec.unchecked(SpecModel.segmentOfSize(l.byteSize()), l.format())
                .layout(l.offset(), l.shape(), l.strides());
        assertEquals(SpecModel.contiguous(l.shape(), l.strides(), l.itemsize(), true), s.isCContiguous(), "C");
        assertEquals(SpecModel.contiguous(l.shape(), l.strides(), l.itemsize(), false), s.isFContiguous(), "Fortran");
    }

    @Property(tries = 2000, seed = "3124")
    void sizesOfUncheckedSpecsAreExactOrRefused(@ForAll("shapes") long[] shape, @ForAll("formats") String format) {
        BufferSpec s = BufferSpec.unchecked(SpecModel.segmentOfSize(16), format).layout(0, shape, new long[shape.length]);
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
    // No flatMap: jqwik then computes the edge cases of every arbitrary once, not per value.
    // Values that depend on the segment's size or the item size (strides and offsets near
    // them) are generated as named choices and resolved when the layout is assembled.

    /** A stride, offset or extent chosen relative to the segment's size and the item size. */
    record Pick(String name, long constant, int sizeFactor, int itemFactor) {
        long of(long size, long item) { return constant + sizeFactor * size + itemFactor * item; }
        @Override public String toString() { return name; }
    }

    private static Pick constant(long v) { return new Pick(Long.toString(v), v, 0, 0); }

    private static Arbitrary<Pick> constants(long... values) {
        return Arbitraries.of(Arrays.stream(values).mapToObj(BufferSpecBoundsProperties::constant).toList());
    }

    private static Arbitrary<Pick> randomPicks(long min, long max) {
        return Arbitraries.longs().between(min, max).map(BufferSpecBoundsProperties::constant);
    }

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

    private static Arbitrary<Pick> picks(long randomMin, long randomMax) {
        return Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.of(RELATIVE)),
                Tuple.of(3, constants(EDGES)),
                Tuple.of(3, randomPicks(randomMin, randomMax)),
                Tuple.of(1, Arbitraries.longs().map(BufferSpecBoundsProperties::constant)));
    }

    private static long[] resolve(List<Pick> picks, int n, long size, long item) {
        long[] out = new long[n];
        for (int i = 0; i < n; i++) out[i] = picks.get(i).of(size, item);
        return out;
    }

    @Provide
    Arbitrary<Long> edgeLongs() {
        return Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.of(Arrays.stream(EDGES).boxed().toList())),
                Tuple.of(2, Arbitraries.longs().between(-64, 64)),
                Tuple.of(1, Arbitraries.longs()));
    }

    @Provide
    Arbitrary<String> formats() {
        return Arbitraries.of(FORMATS);
    }

    @Provide
    Arbitrary<Long> byteSizes() {
        return Arbitraries.frequencyOf(
                Tuple.of(4, Arbitraries.longs().between(0, 256)),
                Tuple.of(2, Arbitraries.of(0L, 1L, 8L, 16L, 4096L, P31, P31 - 1, P32, P62, Long.MAX_VALUE, Long.MAX_VALUE - 1,
                        17_179_869_176L, 17_179_869_175L)),
                Tuple.of(1, Arbitraries.longs().between(0, Long.MAX_VALUE)));
    }

    private static Arbitrary<Long> extents() {
        return Arbitraries.frequencyOf(
                Tuple.of(6, Arbitraries.longs().between(0, 5)),
                Tuple.of(2, Arbitraries.of(0L, 1L, 2L, 3L, P31, P32, P62, Long.MAX_VALUE, Long.MAX_VALUE / 2, -1L, Long.MIN_VALUE)),
                Tuple.of(1, Arbitraries.longs()));
    }

    /** Shapes of 0 to 6 dimensions, most of them small. */
    @Provide
    Arbitrary<long[]> shapes() {
        return extents().list().ofMaxSize(6).map(BufferSpecBoundsProperties::longs);
    }

    private static long[] longs(List<Long> values) {
        return values.stream().mapToLong(Long::longValue).toArray();
    }

    private static long itemsizeOf(String format) {
        return BufferSpec.unchecked(SpecModel.segmentOfSize(0), format).itemsize();
    }

    /** Anything: every field at an edge of long, near the segment's or the item's size, or random. */
    @Provide
    Arbitrary<Layout> edgyLayouts() {
        return Combinators.combine(byteSizes(), formats(), shapes(), picks(-64, 64).list().ofSize(6), picks(0, 256))
                .as((size, format, shape, strides, offset) -> {
                    long item = itemsizeOf(format);
                    return new Layout(size, format, item, offset.of(size, item), shape,
                            resolve(strides, shape.length, size, item));
                });
    }

    /**
     * Valid by construction: a random shape and strides, the offset their negative reach needs
     * plus a slack, the segment exactly as long as the positive reach needs plus a slack (often
     * 0), and the whole view moved up by a base anywhere up to the end of long.
     */
    @Provide
    Arbitrary<Layout> validLayouts() {
        Arbitrary<Long> base = Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.just(0L)),
                Tuple.of(1, Arbitraries.longs().between(0, Long.MAX_VALUE)),
                Tuple.of(1, Arbitraries.of(Long.MAX_VALUE, Long.MAX_VALUE - 1, P62, P31)));
        return tight(Arbitraries.longs().between(0, 3), Arbitraries.longs().between(0, 3), base);
    }

    /** Valid layouts with no room to spare at either end, not empty, and which end to take a byte from. */
    @Provide
    Arbitrary<Tuple.Tuple2<Layout, Boolean>> tightLayouts() {
        return Combinators.combine(tight(Arbitraries.just(0L), Arbitraries.just(0L), Arbitraries.just(0L))
                        .filter(l -> SpecModel.count(l.shape()).signum() != 0), Arbitraries.of(true, false))
                .as(Tuple::of);
    }

    private Arbitrary<Layout> tight(Arbitrary<Long> startSlack, Arbitrary<Long> endSlack, Arbitrary<Long> base) {
        Arbitrary<Long> stride = Arbitraries.frequencyOf(
                Tuple.of(4, Arbitraries.longs().between(-48, 48)),
                Tuple.of(1, Arbitraries.of(0L, P31, -P31, P62 / 8, -P62 / 8)));
        Arbitrary<Long> extent = Arbitraries.frequencyOf(
                Tuple.of(6, Arbitraries.longs().between(0, 6)),
                Tuple.of(1, Arbitraries.of(P31, P32, P62)));
        return Combinators.combine(formats(), extent.list().ofMaxSize(6), stride.list().ofSize(6), startSlack, endSlack, base)
                .as((format, sh, st, s0, s1, b) -> {
                    long item = itemsizeOf(format);
                    long[] shape = longs(sh), strides = Arrays.copyOf(longs(st), shape.length);
                    BigInteger count = SpecModel.count(shape);
                    if (!SpecModel.fitsLong(count) || !SpecModel.fitsLong(count.multiply(big(item)))) return null;  // no Py_buffer has it
                    BigInteger[] r = count.signum() == 0 ? new BigInteger[]{BigInteger.ZERO, BigInteger.ZERO}
                            : SpecModel.range(new Layout(0, format, item, 0, shape, strides));
                    BigInteger offset = r[0].negate().add(big(s0));                      // lowest element at s0
                    BigInteger size = count.signum() == 0 ? offset.add(big(s1))          // the offset may be the end
                            : offset.add(r[1]).add(big(item)).add(big(s1));              // highest element ends s1 before the end
                    BigInteger room = SpecModel.LONG_MAX.subtract(size);                 // move it all up, as far as long allows
                    if (room.signum() < 0) return null;
                    BigInteger shift = big(b).min(room);
                    return new Layout(size.add(shift).longValueExact(), format, item, offset.add(shift).longValueExact(),
                            shape, strides);
                })
                .filter(l -> l != null);
    }
}
