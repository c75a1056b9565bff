package dev.panamapy;

import java.lang.foreign.MemorySegment;
import java.math.BigInteger;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * The exact (BigInteger) model of a checked {@link BufferSpec}, written independently of it:
 * which layouts it must accept, where each element lies, which field a refusal must name.
 * The property tests compare the spec against it.
 */
final class SpecModel {
    private SpecModel() { }

    static final BigInteger LONG_MIN = BigInteger.valueOf(Long.MIN_VALUE);
    static final BigInteger LONG_MAX = BigInteger.valueOf(Long.MAX_VALUE);

    /** A layout over a segment of {@code byteSize} bytes, as {@code BufferSpec.of(seg, format).layout(...)} gets it. */
    record Layout(long byteSize, String format, long itemsize, long offset, long[] shape, long[] strides) {
        @Override public String toString() {
            return "Layout[byteSize=" + byteSize + ", format=" + format + " (itemsize " + itemsize + "), offset=" + offset
                    + ", shape=" + Arrays.toString(shape) + ", strides=" + Arrays.toString(strides) + "]";
        }

        long ndim() { return shape.length; }
    }

    /**
     * A native segment of any size that is never dereferenced: BufferSpec only computes with its
     * size, so a reinterpreted address stands in for memory we could not allocate.
     */
    static MemorySegment segmentOfSize(long byteSize) {
        return MemorySegment.ofAddress(1L << 20).reinterpret(byteSize);
    }

    static BigInteger big(long v) { return BigInteger.valueOf(v); }

    static boolean fitsLong(BigInteger v) { return v.compareTo(LONG_MIN) >= 0 && v.compareTo(LONG_MAX) <= 0; }

    /** {@code product(shape)}, exactly. */
    static BigInteger count(long[] shape) {
        BigInteger n = BigInteger.ONE;
        for (long d : shape) n = n.multiply(big(d));
        return n;
    }

    /** Where element {@code index} starts: {@code offset + sum(index[d] * strides[d])}, exactly. */
    static BigInteger position(Layout l, long[] index) {
        BigInteger p = big(l.offset());
        for (int d = 0; d < index.length; d++) p = p.add(big(index[d]).multiply(big(l.strides()[d])));
        return p;
    }

    /** Whether the element at this position lies wholly inside the segment. */
    static boolean inside(Layout l, BigInteger position) {
        return position.signum() >= 0 && position.add(big(l.itemsize())).compareTo(big(l.byteSize())) <= 0;
    }

    /** Whether the element at this index lies wholly inside the segment (long arithmetic while it is exact). */
    static boolean inside(Layout l, long[] index) {
        long p = l.offset();
        for (int d = 0; d < index.length; d++) {
            long s = l.strides()[d];
            long t = index[d] * s;
            long q = p + t;
            if (Math.multiplyHigh(index[d], s) != (t >> 63) || ((p ^ q) & (t ^ q)) < 0) {
                return inside(l, position(l, index));        // leaves long: exact, the slow way
            }
            p = q;
        }
        long end = p + l.itemsize();
        if (((p ^ end) & (l.itemsize() ^ end)) < 0) return inside(l, position(l, index));
        return p >= 0 && end <= l.byteSize();
    }

    /** The least and greatest element positions of a non-empty layout (attained at corners). */
    static BigInteger[] range(Layout l) {
        BigInteger lo = big(l.offset()), hi = big(l.offset());
        for (int d = 0; d < l.shape().length; d++) {
            BigInteger span = big(l.shape()[d] - 1).multiply(big(l.strides()[d]));
            if (span.signum() < 0) lo = lo.add(span); else hi = hi.add(span);
        }
        return new BigInteger[]{lo, hi};
    }

    /**
     * What a checked spec must do with this layout: null to accept, else the text its
     * IllegalArgumentException must contain (the field it names), in the order the spec checks.
     */
    static String expectedRefusal(Layout l) {
        if (l.offset() < 0) return "offset = " + l.offset();
        for (int i = 0; i < l.shape().length; i++) {
            if (l.shape()[i] < 0) return "shape[" + i + "] = " + l.shape()[i];
        }
        BigInteger count = count(l.shape());
        if (!fitsLong(count) || !fitsLong(count.multiply(big(l.itemsize())))) return "shape[";
        if (count.signum() == 0) {
            return l.offset() > l.byteSize() ? "offset = " + l.offset() : null;
        }
        BigInteger[] r = range(l);
        return inside(l, r[0]) && inside(l, r[1]) ? null : "element [";
    }

    /** Calls {@code each} with every index of the shape in C (row-major) order. */
    static void forEachIndex(long[] shape, Consumer<long[]> each) {
        for (long d : shape) if (d == 0) return;
        long[] idx = new long[shape.length];
        while (true) {
            each.accept(idx.clone());
            int d = shape.length - 1;
            while (d >= 0 && ++idx[d] == shape[d]) idx[d--] = 0;
            if (d < 0) return;
        }
    }

    /** Calls {@code each} with every corner index ({@code 0} or {@code shape[d] - 1} in each dimension). */
    static void forEachCorner(long[] shape, Consumer<long[]> each) {
        for (long d : shape) if (d == 0) return;
        int n = shape.length;
        for (long mask = 0; mask < (1L << n); mask++) {
            long[] idx = new long[n];
            for (int d = 0; d < n; d++) idx[d] = (mask >>> d & 1) == 1 ? shape[d] - 1 : 0;
            each.accept(idx);
        }
    }

    /** C-order strides in exact arithmetic, or null if one (or a running product CPython computes) leaves a long. */
    static BigInteger[] cStrides(long[] shape, long itemsize) {
        int n = shape.length;
        BigInteger[] st = new BigInteger[n];
        BigInteger sd = big(itemsize);
        for (int i = n - 1; i >= 0; i--) {
            st[i] = sd;
            if (i > 0) {
                sd = sd.multiply(big(shape[i]));
                if (!fitsLong(sd)) return null;
            }
        }
        return st;
    }

    /** Fortran-order strides in exact arithmetic, or null as for {@link #cStrides}. */
    static BigInteger[] fStrides(long[] shape, long itemsize) {
        int n = shape.length;
        BigInteger[] st = new BigInteger[n];
        BigInteger sd = big(itemsize);
        for (int i = 0; i < n; i++) {
            st[i] = sd;
            if (i < n - 1) {
                sd = sd.multiply(big(shape[i]));
                if (!fitsLong(sd)) return null;
            }
        }
        return st;
    }

    /** CPython's {@code PyBuffer_IsContiguous} for a view without suboffsets, with no wrap-around. */
    static boolean contiguous(long[] shape, long[] strides, long itemsize, boolean cOrder) {
        if (count(shape).multiply(big(itemsize)).signum() == 0) return true;
        BigInteger sd = big(itemsize);
        int n = shape.length;
        for (int k = 0; k < n; k++) {
            int i = cOrder ? n - 1 - k : k;
            if (shape[i] > 1 && !big(strides[i]).equals(sd)) return false;
            sd = sd.multiply(big(shape[i]));
        }
        return true;
    }
}
