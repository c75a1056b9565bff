package dev.panamapy;

import dev.panamapy.internal.StructFormat;

import java.lang.foreign.MemorySegment;
import java.math.BigInteger;
import java.util.Arrays;
import java.util.Objects;

/**
 * An immutable description of one PEP 3118 buffer over Java memory: the segment, a byte
 * offset into it, a struct-module format, the item size, the shape, the strides (in bytes,
 * possibly negative or zero), optional suboffsets and a read-only flag. It is what a
 * {@code Py_buffer} says, before Python sees it.
 *
 * <p>{@link #of(MemorySegment, String)} starts from a one-dimensional, C-contiguous view of
 * the whole segment; each step returns a new spec and checks what it can check alone (the
 * format, the item size, ndim, shape and strides agreeing). Whether every element the view can
 * address lies inside the segment is checked on the finished spec by {@link #requireInBounds()},
 * which {@link CPython#export} calls, and which the bridge calls on every spec a
 * {@link BufferExporter} returns: a spec Python sees is a spec Python may safely read, otherwise
 * {@link IllegalArgumentException} names the first bad index, before anything reaches Python.
 * Bounds wait for the finished spec because a valid layout may pass through invalid ones on the
 * way ({@code shape(3).strides(-8).offset(16)} starts before the segment until the offset is
 * set). Setting a shape resets the strides to C order; call {@link #strides} or
 * {@link #fortran} after it, or set offset, shape and strides at once with {@link #layout}.
 *
 * <p>A spec is always valid: a test harness that must hand a consumer a deliberately broken
 * view (wrong itemsize, strides out of bounds, any format, a wrong {@code len}) builds a
 * {@link HarnessSpec} instead, which exports the same way.
 *
 * <p><b>Exact arithmetic.</b> Every product and sum of shape, strides, item size and offset is
 * computed exactly: a layout whose size or whose element positions do not fit in a {@code long}
 * is refused with an {@link IllegalArgumentException} naming the field and its value, never
 * wrapped and never an {@link ArithmeticException}. A spec that {@link #requireInBounds()}
 * accepts addresses no byte outside {@code [0, segment.byteSize())}.
 *
 * <p><b>Read-only memory.</b> A spec over a read-only segment ({@link MemorySegment#asReadOnly()},
 * a {@code READ_ONLY} file mapping, a read-only direct buffer) is read-only from the start, and
 * no step can make it writable: {@link #readOnly(boolean) readOnly(false)} on it is an
 * {@link IllegalArgumentException} (a write would fault, or break the promise Java made when it
 * marked the memory read-only).
 *
 * <p>Zero-copy needs native memory: the segment must be native ({@link MemorySegment#isNative()}).
 */
public final class BufferSpec extends BufferLayout {

    /** Python's own limit on buffer dimensions ({@code PyBUF_MAX_NDIM}). */
    public static final int MAX_NDIM = 64;

    private BufferSpec(Fields f) {
        super(f);
        validate();
    }

    /**
     * A one-dimensional, C-contiguous view of the whole segment as items of the given struct
     * format ({@code "d"}, {@code "<i"}, {@code "B"}, {@code "3f"} ...). The length is
     * {@code segment.byteSize() / itemsize}. It is writable unless the segment is read-only
     * ({@link MemorySegment#isReadOnly()}): then it is read-only, and stays so.
     *
     * @throws IllegalArgumentException if the format is not a struct-module format (naming the
     *         offending character) or the segment is not native
     */
    public static BufferSpec of(MemorySegment segment, String format) {
        Objects.requireNonNull(segment, "segment");
        requireNative(segment);
        return new BufferSpec(Fields.start(segment, format, StructFormat.parse(format).itemsize()));
    }

    /**
     * A PIL-style indirect view of a C-contiguous N-D array ({@code shape.length >= 2}) in
     * {@code data}: the bridge allocates an array of pointers to the sub-arrays of the first
     * dimension and keeps it (and {@code data}) alive with the spec; {@code buf} points at the
     * pointer array, the suboffsets are {@code [0, -1, ...]}. Consumers must request
     * {@code PyBUF_INDIRECT} to see it. Valid by construction: the bridge made every pointer, and
     * the array itself must fit in {@code data}, computed exactly; read-only if {@code data} is.
     * Its layout is fixed: the layout steps ({@link #shape}, {@link #strides}, {@link #offset} ...)
     * refuse it; {@link #readOnly()} works.
     *
     * @throws IllegalArgumentException if the shape has fewer than 2 or more than {@link #MAX_NDIM}
     *         dimensions, a negative extent, a size that overflows a {@code long}, or needs more
     *         bytes than {@code data} has (each naming the field); for a bad format or heap memory
     */
    public static BufferSpec indirect(MemorySegment data, String format, long... shape) {
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(shape, "shape");
        requireNative(data);
        if (shape.length < 2) throw new IllegalArgumentException("an indirect view needs at least 2 dimensions");
        if (shape.length > MAX_NDIM) {
            throw new IllegalArgumentException("ndim " + shape.length + " exceeds Python's limit of " + MAX_NDIM);
        }
        long itemsize = StructFormat.parse(format).itemsize();
        requireNonNegative(shape);
        long total = byteSize(shape, itemsize);                 // exact, or refused naming the shape
        if (total > data.byteSize()) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + total
                    + " bytes but the segment has " + data.byteSize());
        }
        long[] inner = Arrays.copyOfRange(shape, 1, shape.length);
        long rowBytes = byteSize(inner, itemsize);               // <= total: exact
        long pointerBytes = exactProduct(8, Math.max(1, shape[0]), 0, shape, "the pointer array");
        MemorySegment pointers = java.lang.foreign.Arena.ofAuto().allocate(pointerBytes, 8);
        for (long i = 0; i < shape[0]; i++) pointers.setAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, i,
                data.address() + i * rowBytes);                 // i * rowBytes < total <= data.byteSize()
        Fields f = new Fields();
        f.segment = pointers;
        f.format = format;
        f.itemsize = itemsize;
        f.shape = shape.clone();
        long[] st = new long[shape.length];
        st[0] = 8;
        long[] innerStrides = cStrides(inner, itemsize);
        System.arraycopy(innerStrides, 0, st, 1, inner.length);
        f.strides = st;
        long[] sub = new long[shape.length];
        Arrays.fill(sub, -1);
        sub[0] = 0;
        f.suboffsets = sub;
        f.readOnly = data.isReadOnly();
        f.data = data;
        return new BufferSpec(f);
    }

    // ---- the steps ------------------------------------------------------------------------

    /** The same spec with this shape and C-order (row-major) strides. See {@link #scalar()} for 0-d. */
    public BufferSpec shape(long... shape) {
        Objects.requireNonNull(shape, "shape");
        return new BufferSpec(direct("shape").shape(shape));
    }

    /** The same spec as a 0-d scalar (one item, no dimensions); {@code shape()} with no arguments is the getter. */
    public BufferSpec scalar() {
        return shape(new long[0]);
    }

    /** The same spec with these strides, in bytes, one per dimension; negative and zero allowed. */
    public BufferSpec strides(long... strides) {
        Objects.requireNonNull(strides, "strides");
        return new BufferSpec(direct("strides").strides(strides));
    }

    /** The same spec with offset, shape and strides set together (negative strides and their offset, say). */
    public BufferSpec layout(long byteOffset, long[] shape, long[] strides) {
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(strides, "strides");
        return new BufferSpec(direct("layout").layout(byteOffset, shape, strides));
    }

    /** The same spec with Fortran-order (column-major) strides for its shape. */
    public BufferSpec fortran() {
        return new BufferSpec(direct("fortran").strides(fStrides(shape, itemsize)));
    }

    /** The same spec with C-order (row-major) strides for its shape. */
    public BufferSpec cOrder() {
        return new BufferSpec(direct("cOrder").strides(cStrides(shape, itemsize)));
    }

    /** The same spec starting this many bytes into the segment ({@code buf = segment + offset}). */
    public BufferSpec offset(long byteOffset) {
        return new BufferSpec(direct("offset").offset(byteOffset));
    }

    /**
     * The same spec with an explicit item size, which must equal the format's
     * {@code struct.calcsize} (a {@link HarnessSpec} takes any value).
     */
    public BufferSpec itemsize(long itemsize) {
        return new BufferSpec(direct("itemsize").itemsize(itemsize));
    }

    /** The same spec, read-only: Python cannot write through it (numpy's {@code writeable} is False). */
    public BufferSpec readOnly() {
        return readOnly(true);
    }

    /**
     * The same spec, read-only or writable as given.
     *
     * @throws IllegalArgumentException for {@code readOnly(false)} when the segment (or an
     *         {@link #indirect} spec's data) is read-only: Python's writes would fault or change
     *         memory Java promised not to change
     */
    public BufferSpec readOnly(boolean readOnly) {
        return new BufferSpec(fields().readOnly(readOnly));
    }

    /** The fields for a layout step; an indirect spec's layout is fixed. */
    private Fields direct(String step) {
        if (data != null) {
            throw new IllegalArgumentException(step + "() would change the layout of an indirect view, whose pointers "
                    + "the bridge made for its shape: make another with BufferSpec.indirect");
        }
        return fields();
    }

    private static void requireNonNegative(long[] shape) {
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 0) throw new IllegalArgumentException("shape[" + i + "] = " + shape[i] + " is negative");
        }
    }

    private static void requireNative(MemorySegment segment) {
        if (!segment.isNative()) {
            throw new IllegalArgumentException("segment is on the Java heap (" + segment + "): heap memory can move, "
                    + "so Python cannot see it in place; allocate it from an Arena (or CPython.arena()) "
                    + "or wrap a direct ByteBuffer");
        }
    }

    private void validate() {
        requireNative(segment);
        if (shape.length > MAX_NDIM) {
            throw new IllegalArgumentException("ndim " + shape.length + " exceeds Python's limit of " + MAX_NDIM);
        }
        if (strides.length != shape.length) {
            throw new IllegalArgumentException("strides have " + strides.length + " entries but the shape has "
                    + shape.length + " dimensions; set the shape first, then the strides");
        }
        long calc = StructFormat.parse(format).itemsize();
        if (itemsize != calc) {
            throw new IllegalArgumentException("itemsize " + itemsize + " does not match format \"" + format
                    + "\" (struct.calcsize = " + calc + "); use a HarnessSpec for a deliberately wrong itemsize");
        }
        if (offset < 0) throw new IllegalArgumentException("offset = " + offset + " is negative");
        requireNonNegative(shape);
        count(shape);                  // the item count and Py_buffer.len must fit in a Py_ssize_t
        byteSize(shape, itemsize);
    }

    /**
     * Checks that every element this spec can address lies inside its segment (for an empty
     * view: that the offset does); an {@link #indirect} spec was checked when made. The test is
     * exact: no sum or product of shape, strides, offset and item size wraps.
     *
     * @return this spec
     * @throws IllegalArgumentException naming the first element, in C index order, outside the
     *         segment, its exact byte range and the fields that put it there
     */
    public BufferSpec requireInBounds() {
        if (data != null) return this;     // indirect: indirect() proved that every row it points to lies in data
        long size = segment.byteSize();
        if (count(shape) == 0) {
            if (offset > size) {
                throw new IllegalArgumentException("offset = " + offset + " lies beyond the segment of " + size + " bytes");
            }
            return this;   // nothing addressable
        }
        if (!inBounds(size)) throw outOfBounds(size);
        return this;
    }

    /**
     * Whether every element's bytes lie in {@code [0, size)}, for a non-empty view, without
     * overflow: the positions an index can reach are {@code offset + sum(i[d] * strides[d])},
     * whose least and greatest values are attained at corners, so the view is inside iff
     * {@code offset + sum(min(0, span[d])) >= 0} and {@code offset + sum(max(0, span[d])) <= size - itemsize}
     * with {@code span[d] = (shape[d] - 1) * strides[d]}. Each partial sum is kept inside
     * {@code [0, size - itemsize]}; the first one that would leave it answers false.
     */
    private boolean inBounds(long size) {
        if (itemsize > size) return false;
        long limit = size - itemsize;                        // last valid start of an item; >= 0
        if (offset > limit) return false;
        long lo = offset, hi = offset;                       // both in [0, limit]
        for (int i = 0; i < shape.length; i++) {
            long d = shape[i] - 1;                           // >= 0: the view is not empty
            long s = strides[i];
            if (d == 0 || s == 0) continue;
            if (s > limit || s < -limit) return false;       // one step leaves [0, limit]
            long step = Math.abs(s);                         // exact: |s| <= limit
            if (step > limit / d) return false;              // |d * s| > limit: the span alone is too wide
            long span = d * s;                               // exact: |span| <= limit
            if (span < 0) {
                lo += span;                                  // lo >= 0 and span >= -limit: no overflow
                if (lo < 0) return false;
            } else {
                if (span > limit - hi) return false;         // limit - hi >= 0: no overflow
                hi += span;
            }
        }
        return true;
    }

    /**
     * The error for a view that leaves its segment: finds the first element, in C (row-major)
     * index order, whose bytes are not all inside, in exact (BigInteger) arithmetic. The
     * positions a subtree of indices can reach form the interval between its corners, so one
     * step per dimension finds it: the first index whose subtree is not inside is 0 or follows
     * the last one inside, which a division gives.
     */
    private IllegalArgumentException outOfBounds(long size) {
        int n = shape.length;
        BigInteger limit = BigInteger.valueOf(size).subtract(BigInteger.valueOf(itemsize));
        BigInteger[] minRest = new BigInteger[n + 1];
        BigInteger[] maxRest = new BigInteger[n + 1];
        minRest[n] = maxRest[n] = BigInteger.ZERO;
        for (int i = n - 1; i >= 0; i--) {
            BigInteger span = BigInteger.valueOf(shape[i] - 1).multiply(BigInteger.valueOf(strides[i]));
            minRest[i] = minRest[i + 1].add(span.min(BigInteger.ZERO));
            maxRest[i] = maxRest[i + 1].add(span.max(BigInteger.ZERO));
        }
        long[] index = new long[n];
        BigInteger base = BigInteger.valueOf(offset);
        for (int d = 0; d < n; d++) {
            BigInteger s = BigInteger.valueOf(strides[d]);
            BigInteger low = base.add(minRest[d + 1]);       // the subtree of index i spans [low + i*s, high + i*s]
            BigInteger high = base.add(maxRest[d + 1]);
            long i;
            if (low.signum() < 0 || high.compareTo(limit) > 0 || s.signum() == 0) {
                i = 0;
            } else if (s.signum() > 0) {                     // the upper end leaves first
                i = limit.subtract(high).divide(s).longValueExact() + 1;
            } else {                                         // the lower end leaves first
                i = low.divide(s.negate()).longValueExact() + 1;
            }
            i = Math.min(i, shape[d] - 1);                   // never needed: the subtree at d is not inside
            index[d] = i;
            base = base.add(BigInteger.valueOf(i).multiply(s));
        }
        StringBuilder how = new StringBuilder("offset " + offset);
        for (int d = 0; d < n; d++) {
            if (index[d] != 0) how.append(" + ").append(index[d]).append(" * strides[").append(d).append("] ").append(strides[d]);
        }
        String why = itemsize > size ? " (itemsize " + itemsize + " is larger than the segment)" : "";
        return new IllegalArgumentException("element " + Arrays.toString(index) + " lies at bytes [" + base + ", "
                + base.add(BigInteger.valueOf(itemsize)) + ") (" + how + ") which is outside the segment of " + size
                + " bytes" + why + " (shape " + Arrays.toString(shape) + ", strides " + Arrays.toString(strides)
                + ", offset " + offset + ")");
    }

    @Override
    public String toString() {
        return "BufferSpec[" + describeFields() + "]";
    }
}
