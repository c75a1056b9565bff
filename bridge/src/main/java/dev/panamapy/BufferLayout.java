package dev.panamapy;

import java.lang.foreign.MemorySegment;
import java.math.BigInteger;
import java.util.Arrays;

/**
 * What Java hands Python as one PEP 3118 buffer: the segment, a byte offset into it, a
 * struct-module format, the item size, the shape, the strides (in bytes, possibly negative or
 * zero), optional suboffsets and a read-only flag; {@code Py_buffer}'s fields before Python sees
 * them. Two kinds, both immutable, both exported the same way ({@link CPython#export}, or
 * returned by a {@link BufferExporter}):
 * <ul>
 *   <li>{@link BufferSpec}: a valid view, checked when built; what production code uses.</li>
 *   <li>{@link HarnessSpec}: any view at all, broken ones included, for test harnesses only.</li>
 * </ul>
 *
 * <p><b>Read-only memory.</b> A layout over a read-only segment ({@link MemorySegment#asReadOnly()},
 * a {@code READ_ONLY} file mapping, a read-only direct buffer) is read-only from the start, and
 * no step can make it writable: {@code readOnly(false)} on it is an
 * {@link IllegalArgumentException}, for both kinds (a write would fault, or break the promise
 * Java made when it marked the memory read-only).
 *
 * <p><b>Exact arithmetic.</b> Every product of shape, strides and item size computed here is
 * exact: one that does not fit in a {@code long} is an {@link IllegalArgumentException} naming
 * the field and its value, never wrapped and never an {@link ArithmeticException}.
 */
public abstract sealed class BufferLayout permits BufferSpec, HarnessSpec {

    // package-private: BufferSpec's checks read them in place
    final MemorySegment segment;
    final long offset;
    final String format;
    final long itemsize;
    final long[] shape;
    final long[] strides;
    final long[] suboffsets;   // null when the view has none
    final boolean readOnly;
    final MemorySegment data;  // an indirect view's data (kept alive with it), else null

    /** The fields, copied for each step; the steps both kinds share. */
    static final class Fields {
        MemorySegment segment; long offset; String format; long itemsize; long[] shape; long[] strides;
        long[] suboffsets; boolean readOnly; MemorySegment data;

        /** A one-dimensional, C-contiguous view of the whole segment, read-only if the segment is. */
        static Fields start(MemorySegment segment, String format, long itemsize) {
            Fields f = new Fields();
            f.segment = segment;
            f.format = format;
            f.itemsize = itemsize;
            long n = itemsize == 0 ? 0 : segment.byteSize() / itemsize;
            f.shape = new long[]{n};
            f.strides = new long[]{itemsize};
            f.readOnly = segment.isReadOnly();
            return f;
        }

        Fields shape(long[] shape) {
            this.shape = shape.clone();
            this.strides = cStrides(this.shape, itemsize);
            this.suboffsets = defaultSuboffsets(this.shape.length);
            return this;
        }

        Fields strides(long[] strides) {
            this.strides = strides.clone();
            return this;
        }

        Fields layout(long byteOffset, long[] shape, long[] strides) {
            this.offset = byteOffset;
            this.shape = shape.clone();
            this.strides = strides.clone();
            this.suboffsets = defaultSuboffsets(shape.length);
            return this;
        }

        Fields offset(long byteOffset) {
            this.offset = byteOffset;
            return this;
        }

        Fields itemsize(long itemsize) {
            this.itemsize = itemsize;
            return this;
        }

        Fields readOnly(boolean readOnly) {
            this.readOnly = readOnly;
            return this;
        }

        Fields suboffsets(long[] suboffsets) {
            this.suboffsets = suboffsets.clone();
            return this;
        }

        private long[] defaultSuboffsets(int ndim) {
            if (suboffsets == null) return null;
            long[] s = new long[ndim];
            Arrays.fill(s, -1);
            return s;
        }
    }

    BufferLayout(Fields f) {
        this.segment = f.segment;
        this.offset = f.offset;
        this.format = f.format;
        this.itemsize = f.itemsize;
        this.shape = f.shape;
        this.strides = f.strides;
        this.suboffsets = f.suboffsets;
        this.readOnly = f.readOnly;
        this.data = f.data;
        if (!readOnly && memoryIsReadOnly()) {
            throw new IllegalArgumentException("the memory is read-only (" + memory() + "): a view of it cannot be "
                    + "writable, Python's writes would fault or change memory Java promised not to change; "
                    + "leave the spec read-only, or export a writable segment");
        }
    }

    /** A copy of the fields, for the next step. */
    final Fields fields() {
        Fields f = new Fields();
        f.segment = segment; f.offset = offset; f.format = format; f.itemsize = itemsize; f.shape = shape;
        f.strides = strides; f.suboffsets = suboffsets; f.readOnly = readOnly; f.data = data;
        return f;
    }

    /**
     * The memory the view's items live in: {@link #segment()}, or for an indirect view
     * ({@link BufferSpec#indirect}) the data its pointer array points into. Whoever frees this
     * memory decides how long views of it may live.
     *
     * @return the memory Python reads and writes through the view
     */
    public final MemorySegment memory() {
        return data != null ? data : segment;
    }

    private boolean memoryIsReadOnly() {
        return segment.isReadOnly() || memory().isReadOnly();
    }

    // ---- what it says -----------------------------------------------------------------------

    /** The segment the view lies in. */
    public final MemorySegment segment() { return segment; }
    /** Byte offset of element [0, 0, ...] from the segment's start. */
    public final long offset() { return offset; }
    /** The struct-module format. */
    public final String format() { return format; }
    /** Bytes per item. */
    public final long itemsize() { return itemsize; }
    /** Number of dimensions (0 for a scalar). */
    public final int ndim() { return shape.length; }
    /** The shape (a copy). */
    public final long[] shape() { return shape.clone(); }
    /** The strides in bytes (a copy). */
    public final long[] strides() { return strides.clone(); }
    /** The suboffsets (a copy), or null when the view has none. */
    public final long[] suboffsets() { return suboffsets == null ? null : suboffsets.clone(); }
    /** Whether Python may not write through the view. */
    public final boolean isReadOnly() { return readOnly; }

    /**
     * {@code Py_buffer.len}: {@code itemsize * product(shape)}.
     *
     * @throws IllegalArgumentException for a {@link HarnessSpec} whose size does not fit in a
     *         {@code long} (a {@link BufferSpec} never has one)
     */
    public long byteLength() {
        return byteSize(shape, itemsize);
    }

    /**
     * Number of items: {@code product(shape)}.
     *
     * @throws IllegalArgumentException for a {@link HarnessSpec} whose item count does not fit in a {@code long}
     */
    public final long itemCount() {
        return count(shape);
    }

    /** Whether the view is C-contiguous, by CPython's {@code PyBuffer_IsContiguous(view, 'C')}. */
    public final boolean isCContiguous() { return contiguous(true); }

    /** Whether the view is Fortran-contiguous, by CPython's {@code PyBuffer_IsContiguous(view, 'F')}. */
    public final boolean isFContiguous() { return contiguous(false); }

    /**
     * CPython's {@code _IsCContiguous}/{@code _IsFortranContiguous} in exact arithmetic: a
     * running stride that no longer fits in a long cannot equal any stride, so the next
     * dimension longer than 1 makes the view non-contiguous (CPython would wrap).
     */
    private boolean contiguous(boolean cOrder) {
        if (suboffsets != null) return false;
        if (itemsize == 0) return true;                      // len == 0
        for (long d : shape) if (d == 0) return true;        // len == 0
        if (strides.length != shape.length) return false;
        long sd = itemsize;
        boolean overflowed = false;
        int n = shape.length;
        for (int k = 0; k < n; k++) {
            int i = cOrder ? n - 1 - k : k;
            long dim = shape[i];
            if (dim > 1 && (overflowed || strides[i] != sd)) return false;
            long next = sd * dim;
            if (Math.multiplyHigh(sd, dim) != (next >> 63)) overflowed = true;    // the exact product needs > 64 bits
            sd = next;
        }
        return true;
    }

    /** The fields as text, for {@code toString}. */
    final String describeFields() {
        return "format=" + format + ", itemsize=" + itemsize + ", shape=" + Arrays.toString(shape)
                + ", strides=" + Arrays.toString(strides) + ", offset=" + offset
                + (suboffsets != null ? ", suboffsets=" + Arrays.toString(suboffsets) : "")
                + (readOnly ? ", read-only" : "");
    }

    // ---- helpers ----------------------------------------------------------------------------

    /**
     * Row-major strides: the last index varies fastest. As CPython computes them
     * ({@code init_strides_from_shape}): a zero-length dimension makes the outer strides 0.
     *
     * @throws IllegalArgumentException if a stride does not fit in a {@code long} (naming the
     *         dimension), where CPython would wrap
     */
    public static long[] cStrides(long[] shape, long itemsize) {
        long[] st = new long[shape.length];
        long sd = itemsize;
        for (int i = shape.length - 1; i >= 0; i--) {
            st[i] = sd;
            if (i > 0) sd = exactProduct(sd, shape[i], i, shape, "a C-order stride");
        }
        return st;
    }

    /**
     * Column-major strides: the first index varies fastest (zero-length dimensions as in {@link #cStrides}).
     *
     * @throws IllegalArgumentException if a stride does not fit in a {@code long} (naming the dimension)
     */
    public static long[] fStrides(long[] shape, long itemsize) {
        long[] st = new long[shape.length];
        long sd = itemsize;
        for (int i = 0; i < shape.length; i++) {
            st[i] = sd;
            if (i < shape.length - 1) sd = exactProduct(sd, shape[i], i, shape, "a Fortran-order stride");
        }
        return st;
    }

    // ---- exact arithmetic -------------------------------------------------------------------

    /**
     * {@code itemsize * product(shape)}, exactly.
     *
     * @throws IllegalArgumentException naming the dimension at which it stops fitting in a {@code long}
     */
    static long byteSize(long[] shape, long itemsize) {
        return product(shape, itemsize, "the byte size");
    }

    /**
     * {@code product(shape)}, exactly.
     *
     * @throws IllegalArgumentException naming the dimension at which it stops fitting in a {@code long}
     */
    static long count(long[] shape) {
        return product(shape, 1, "the item count");
    }

    private static long product(long[] shape, long first, String what) {
        for (long d : shape) if (d == 0) return 0;            // exact whatever the other extents are
        long n = first;
        for (int i = 0; i < shape.length; i++) n = exactProduct(n, shape[i], i, shape, what);
        return n;
    }

    /**
     * {@code a * b}, or an IllegalArgumentException naming {@code shape[dim]}, what the product is
     * ({@code what}) and its exact value.
     */
    static long exactProduct(long a, long b, int dim, long[] shape, String what) {
        long hi = Math.multiplyHigh(a, b);
        long lo = a * b;
        if (hi == (lo >> 63)) return lo;
        throw new IllegalArgumentException("shape[" + dim + "] = " + b + " makes " + what + " of shape " + Arrays.toString(shape)
                + " " + BigInteger.valueOf(a).multiply(BigInteger.valueOf(b)) + ", more than a Py_ssize_t holds ("
                + Long.MAX_VALUE + ")");
    }
}
