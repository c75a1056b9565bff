package dev.panamapy;

import dev.panamapy.internal.StructFormat;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;

/**
 * An immutable description of one PEP 3118 buffer over Java memory: the segment, a byte
 * offset into it, a struct-module format, the item size, the shape, the strides (in bytes,
 * possibly negative or zero), optional suboffsets and a read-only flag. It is what a
 * {@code Py_buffer} says, before Python sees it.
 *
 * <p>{@link #of(MemorySegment, String)} starts from a one-dimensional, C-contiguous view of
 * the whole segment; each step returns a new spec and checks what it can check alone (format,
 * item size, ndim, shape and strides agreeing). Whether every element the view can address lies
 * inside the segment is checked by {@link #requireInBounds()}, which {@link CPython#export}
 * calls, and which the bridge calls on each spec a {@link BufferExporter} returns: a spec Python
 * sees is a spec Python may safely read, otherwise {@link IllegalArgumentException} names the
 * first bad index. The bounds are checked on the finished spec, not after each step, because a
 * valid layout may pass through invalid ones on the way ({@code shape(3).strides(-8).offset(16)}
 * starts two items before the segment until the offset is set). Setting a shape resets the
 * strides to C order; call {@link #strides} or {@link #fortran} after it.
 *
 * <p>{@link #unchecked()} switches validation off, for test harnesses that must hand a
 * consumer a deliberately broken view (wrong itemsize, strides out of bounds, any format).
 * Exporting an unchecked spec can make Python read or write outside the segment: never use it
 * in production code.
 *
 * <p>Zero-copy needs native memory: the segment must be native ({@link MemorySegment#isNative()}).
 */
public final class BufferSpec {

    /** Python's own limit on buffer dimensions ({@code PyBUF_MAX_NDIM}). */
    public static final int MAX_NDIM = 64;

    private final MemorySegment segment;
    private final long offset;
    private final String format;
    private final long itemsize;
    private final long[] shape;
    private final long[] strides;
    private final long[] suboffsets;   // null when the view has none
    private final boolean readOnly;
    private final boolean checked;

    private BufferSpec(MemorySegment segment, long offset, String format, long itemsize, long[] shape,
                       long[] strides, long[] suboffsets, boolean readOnly, boolean checked) {
        this.segment = segment;
        this.offset = offset;
        this.format = format;
        this.itemsize = itemsize;
        this.shape = shape;
        this.strides = strides;
        this.suboffsets = suboffsets;
        this.readOnly = readOnly;
        this.checked = checked;
        if (checked) validate();
    }

    /**
     * A one-dimensional, C-contiguous, writable view of the whole segment as items of the given
     * struct format ({@code "d"}, {@code "<i"}, {@code "B"}, {@code "3f"} ...). The length is
     * {@code segment.byteSize() / itemsize}.
     *
     * @throws IllegalArgumentException if the format is not a struct-module format (naming the
     *         offending character) or the segment is not native
     */
    public static BufferSpec of(MemorySegment segment, String format) {
        Objects.requireNonNull(segment, "segment");
        requireNative(segment);
        long itemsize = StructFormat.parse(format).itemsize();
        long n = itemsize == 0 ? 0 : segment.byteSize() / itemsize;
        return new BufferSpec(segment, 0, format, itemsize, new long[]{n}, new long[]{itemsize}, null, false, true);
    }

    /**
     * The same start as {@link #of} but never validated: any format string (not parsed; the
     * itemsize defaults to 1 when it cannot be parsed), and every later step accepted as given.
     * For test harnesses only.
     */
    public static BufferSpec unchecked(MemorySegment segment, String format) {
        Objects.requireNonNull(segment, "segment");
        long itemsize;
        try {
            itemsize = StructFormat.parse(format).itemsize();
        } catch (IllegalArgumentException e) {
            itemsize = 1;
        }
        long n = itemsize == 0 ? 0 : segment.byteSize() / itemsize;
        return new BufferSpec(segment, 0, format, itemsize, new long[]{n}, new long[]{itemsize}, null, false, false);
    }

    // ---- the steps ------------------------------------------------------------------------

    /** The same spec with this shape and C-order (row-major) strides. A 0-d scalar has no dims. */
    public BufferSpec shape(long... shape) {
        Objects.requireNonNull(shape, "shape");
        long[] s = shape.clone();
        return new BufferSpec(segment, offset, format, itemsize, s, cStrides(s, itemsize), suboffsets(s.length),
                readOnly, checked);
    }

    /** The same spec with these strides, in bytes, one per dimension; negative and zero allowed. */
    public BufferSpec strides(long... strides) {
        Objects.requireNonNull(strides, "strides");
        return new BufferSpec(segment, offset, format, itemsize, shape, strides.clone(), suboffsets, readOnly, checked);
    }

    /** The same spec with Fortran-order (column-major) strides for its shape. */
    public BufferSpec fortran() {
        return new BufferSpec(segment, offset, format, itemsize, shape, fStrides(shape, itemsize), suboffsets,
                readOnly, checked);
    }

    /** The same spec with C-order (row-major) strides for its shape. */
    public BufferSpec cOrder() {
        return new BufferSpec(segment, offset, format, itemsize, shape, cStrides(shape, itemsize), suboffsets,
                readOnly, checked);
    }

    /** The same spec starting this many bytes into the segment ({@code buf = segment + offset}). */
    public BufferSpec offset(long byteOffset) {
        return new BufferSpec(segment, byteOffset, format, itemsize, shape, strides, suboffsets, readOnly, checked);
    }

    /**
     * The same spec with an explicit item size. Checked specs require it to equal the format's
     * {@code struct.calcsize}; an unchecked spec takes any value.
     */
    public BufferSpec itemsize(long itemsize) {
        return new BufferSpec(segment, offset, format, itemsize, shape, strides, suboffsets, readOnly, checked);
    }

    /** The same spec, read-only: Python cannot write through it (numpy's {@code writeable} is False). */
    public BufferSpec readOnly() {
        return new BufferSpec(segment, offset, format, itemsize, shape, strides, suboffsets, true, checked);
    }

    /** The same spec, read-only or writable as given. */
    public BufferSpec readOnly(boolean readOnly) {
        return new BufferSpec(segment, offset, format, itemsize, shape, strides, suboffsets, readOnly, checked);
    }

    /**
     * The same spec with PIL-style suboffsets, one per dimension ({@code -1}: no indirection in
     * that dimension). A spec with suboffsets addresses memory through pointers stored in the
     * segment, which the bridge cannot bound-check: only an {@link #unchecked()} spec may have them.
     */
    public BufferSpec suboffsets(long... suboffsets) {
        Objects.requireNonNull(suboffsets, "suboffsets");
        if (checked) {
            throw new IllegalArgumentException("suboffsets make Python follow pointers stored in the segment, which "
                    + "cannot be bounds-checked; call unchecked() first if this is a test harness");
        }
        return new BufferSpec(segment, offset, format, itemsize, shape, strides, suboffsets.clone(), readOnly, false);
    }

    /** The same spec with validation switched off. Dangerous: for test harnesses only. */
    public BufferSpec unchecked() {
        return new BufferSpec(segment, offset, format, itemsize, shape, strides, suboffsets, readOnly, false);
    }

    // ---- what it says -----------------------------------------------------------------------

    /** The segment the view lies in. */
    public MemorySegment segment() { return segment; }
    /** Byte offset of element [0, 0, ...] from the segment's start. */
    public long offset() { return offset; }
    /** The struct-module format. */
    public String format() { return format; }
    /** Bytes per item. */
    public long itemsize() { return itemsize; }
    /** Number of dimensions (0 for a scalar). */
    public int ndim() { return shape.length; }
    /** The shape (a copy). */
    public long[] shape() { return shape.clone(); }
    /** The strides in bytes (a copy). */
    public long[] strides() { return strides.clone(); }
    /** The suboffsets (a copy), or null when the view has none. */
    public long[] suboffsets() { return suboffsets == null ? null : suboffsets.clone(); }
    /** Whether Python may not write through the view. */
    public boolean isReadOnly() { return readOnly; }
    /** Whether this spec was validated (false after {@link #unchecked()}). */
    public boolean isChecked() { return checked; }

    /** {@code itemsize * product(shape)}: {@code Py_buffer.len}. */
    public long byteLength() {
        long n = itemsize;
        for (long d : shape) n *= d;
        return n;
    }

    /** Number of items: {@code product(shape)}. */
    public long itemCount() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    /** Whether the view is C-contiguous, by CPython's {@code PyBuffer_IsContiguous(view, 'C')}. */
    public boolean isCContiguous() { return contiguous(true); }

    /** Whether the view is Fortran-contiguous, by CPython's {@code PyBuffer_IsContiguous(view, 'F')}. */
    public boolean isFContiguous() { return contiguous(false); }

    // the raw arrays, for the exporter (package-private: never handed out)
    long[] shapeArray() { return shape; }
    long[] stridesArray() { return strides; }
    long[] suboffsetsArray() { return suboffsets; }

    private boolean contiguous(boolean cOrder) {
        if (suboffsets != null) return false;
        if (byteLength() == 0) return true;
        long sd = itemsize;
        int n = shape.length;
        for (int k = 0; k < n; k++) {
            int i = cOrder ? n - 1 - k : k;
            long dim = shape[i];
            if (dim > 1 && strides[i] != sd) return false;
            sd *= dim;
        }
        return true;
    }

    // ---- helpers ----------------------------------------------------------------------------

    /** Row-major strides: the last index varies fastest. */
    public static long[] cStrides(long[] shape, long itemsize) {
        long[] st = new long[shape.length];
        long sd = itemsize;
        for (int i = shape.length - 1; i >= 0; i--) {
            st[i] = sd;
            sd *= Math.max(shape[i], 1);
        }
        return st;
    }

    /** Column-major strides: the first index varies fastest. */
    public static long[] fStrides(long[] shape, long itemsize) {
        long[] st = new long[shape.length];
        long sd = itemsize;
        for (int i = 0; i < shape.length; i++) {
            st[i] = sd;
            sd *= Math.max(shape[i], 1);
        }
        return st;
    }

    private long[] suboffsets(int ndim) {
        if (suboffsets == null) return null;
        long[] s = new long[ndim];
        Arrays.fill(s, -1);
        return s;
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
                    + "\" (struct.calcsize = " + calc + "); use unchecked() for a deliberately wrong itemsize");
        }
        if (offset < 0) throw new IllegalArgumentException("offset " + offset + " is negative");
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 0) {
                throw new IllegalArgumentException("shape[" + i + "] = " + shape[i] + " is negative");
            }
            count = Math.multiplyExact(count, shape[i]);
        }
        Math.multiplyExact(count, itemsize);
    }

    /**
     * Checks that every element this spec can address lies inside its segment (for an empty
     * view: that the offset does). Does nothing for an {@link #unchecked()} spec.
     *
     * @return this spec
     * @throws IllegalArgumentException naming the first element, in C index order, outside the segment
     */
    public BufferSpec requireInBounds() {
        if (!checked) return this;
        long count = itemCount();
        if (count == 0) {
            if (offset > segment.byteSize()) {
                throw new IllegalArgumentException("offset " + offset + " lies beyond the segment of "
                        + segment.byteSize() + " bytes");
            }
            return this;   // nothing addressable
        }
        checkBounds();
        return this;
    }

    /**
     * Finds the first element, in C (row-major) index order, whose bytes are not all inside the
     * segment. The range a subtree of indices can reach is attained at its corners, so one pass
     * per dimension finds it: O(sum of the shape), not O(product).
     */
    private void checkBounds() {
        int n = shape.length;
        long limit = segment.byteSize() - itemsize;   // last valid start of an item
        long[] minRest = new long[n + 1];
        long[] maxRest = new long[n + 1];
        for (int i = n - 1; i >= 0; i--) {
            long span = Math.multiplyExact(shape[i] - 1, strides[i]);
            minRest[i] = minRest[i + 1] + Math.min(0, span);
            maxRest[i] = maxRest[i + 1] + Math.max(0, span);
        }
        if (offset + minRest[0] >= 0 && offset + maxRest[0] <= limit) return;
        long[] index = new long[n];
        long base = offset;
        for (int d = 0; d < n; d++) {
            long i = 0;
            for (; i < shape[d]; i++) {
                long b = base + i * strides[d];
                if (b + minRest[d + 1] < 0 || b + maxRest[d + 1] > limit) break;
            }
            index[d] = i;
            base += i * strides[d];
        }
        // base is now the start of the first bad element
        throw new IllegalArgumentException("element " + Arrays.toString(index) + " lies at bytes [" + base + ", "
                + (base + itemsize) + ") which is outside the segment of " + segment.byteSize() + " bytes (shape "
                + Arrays.toString(shape) + ", strides " + Arrays.toString(strides) + ", offset " + offset + ")");
    }

    @Override
    public String toString() {
        return "BufferSpec[format=" + format + ", itemsize=" + itemsize + ", shape=" + Arrays.toString(shape)
                + ", strides=" + Arrays.toString(strides) + ", offset=" + offset
                + (suboffsets != null ? ", suboffsets=" + Arrays.toString(suboffsets) : "")
                + (readOnly ? ", read-only" : "") + (checked ? "" : ", UNCHECKED") + "]";
    }
}
