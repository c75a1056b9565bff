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
    private final Harness harness;     // deliberate breakage, unchecked specs only; NONE otherwise

    /** What only a harness sets: fields that make the Py_buffer deliberately inconsistent. */
    record Harness(long len, boolean nullShape, boolean nullStrides, int refusedFlags, String refusal,
                   Object keepAlive) {
        static final Harness NONE = new Harness(-1, false, false, 0, null, null);
    }

    /** The fields, copied for each step. */
    private static final class F {
        MemorySegment segment; long offset; String format; long itemsize; long[] shape; long[] strides;
        long[] suboffsets; boolean readOnly; boolean checked; Harness harness = Harness.NONE;
    }

    private BufferSpec(F f) {
        this.segment = f.segment;
        this.offset = f.offset;
        this.format = f.format;
        this.itemsize = f.itemsize;
        this.shape = f.shape;
        this.strides = f.strides;
        this.suboffsets = f.suboffsets;
        this.readOnly = f.readOnly;
        this.checked = f.checked;
        this.harness = f.harness;
        if (checked) validate();
    }

    private F f() {
        F f = new F();
        f.segment = segment; f.offset = offset; f.format = format; f.itemsize = itemsize; f.shape = shape;
        f.strides = strides; f.suboffsets = suboffsets; f.readOnly = readOnly; f.checked = checked; f.harness = harness;
        return f;
    }

    private static BufferSpec start(MemorySegment segment, String format, long itemsize, boolean checked) {
        F f = new F();
        f.segment = segment;
        f.format = format;
        f.itemsize = itemsize;
        long n = itemsize == 0 ? 0 : segment.byteSize() / itemsize;
        f.shape = new long[]{n};
        f.strides = new long[]{itemsize};
        f.checked = checked;
        return new BufferSpec(f);
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
        return start(segment, format, StructFormat.parse(format).itemsize(), true);
    }

    /**
     * The same start as {@link #of} but never validated: any format string (not parsed; the
     * itemsize defaults to 1 when it cannot be parsed, so set {@link #itemsize} and then
     * {@link #shape} for an unknown format of another size), and every later step accepted as
     * given, {@code ndim > 64} included (memoryview refuses it with ValueError). For test
     * harnesses only.
     */
    public static BufferSpec unchecked(MemorySegment segment, String format) {
        Objects.requireNonNull(segment, "segment");
        long itemsize;
        try {
            itemsize = StructFormat.parse(format).itemsize();
        } catch (IllegalArgumentException | NullPointerException e) {
            itemsize = 1;
        }
        return start(segment, format, itemsize, false);
    }

    /**
     * A PIL-style indirect view of a C-contiguous N-D array ({@code shape.length >= 2}) in
     * {@code data}: the bridge allocates an array of pointers to the sub-arrays of the first
     * dimension and keeps it (and {@code data}) alive with the spec; {@code buf} points at the
     * pointer array, the suboffsets are {@code [0, -1, ...]}. Consumers must request
     * {@code PyBUF_INDIRECT} to see it. Unchecked by nature.
     */
    public static BufferSpec indirect(MemorySegment data, String format, long... shape) {
        Objects.requireNonNull(data, "data");
        requireNative(data);
        if (shape.length < 2) throw new IllegalArgumentException("an indirect view needs at least 2 dimensions");
        long itemsize = StructFormat.parse(format).itemsize();
        long[] inner = Arrays.copyOfRange(shape, 1, shape.length);
        long rowBytes = itemsize;
        for (long d : inner) rowBytes *= d;
        if (rowBytes * shape[0] > data.byteSize()) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + rowBytes * shape[0]
                    + " bytes but the segment has " + data.byteSize());
        }
        MemorySegment pointers = java.lang.foreign.Arena.ofAuto().allocate(8 * Math.max(1, shape[0]), 8);
        for (long i = 0; i < shape[0]; i++) pointers.setAtIndex(java.lang.foreign.ValueLayout.JAVA_LONG, i,
                data.address() + i * rowBytes);
        F f = new F();
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
        f.checked = false;
        f.harness = new Harness(-1, false, false, 0, null, data);
        return new BufferSpec(f);
    }

    // ---- the steps ------------------------------------------------------------------------

    /** The same spec with this shape and C-order (row-major) strides. See {@link #scalar()} for 0-d. */
    public BufferSpec shape(long... shape) {
        Objects.requireNonNull(shape, "shape");
        F f = f();
        f.shape = shape.clone();
        f.strides = cStrides(f.shape, itemsize);
        f.suboffsets = suboffsets(f.shape.length);
        return new BufferSpec(f);
    }

    /** The same spec as a 0-d scalar (one item, no dimensions); {@code shape()} with no arguments is the getter. */
    public BufferSpec scalar() {
        return shape(new long[0]);
    }

    /** The same spec with these strides, in bytes, one per dimension; negative and zero allowed. */
    public BufferSpec strides(long... strides) {
        Objects.requireNonNull(strides, "strides");
        F f = f();
        f.strides = strides.clone();
        return new BufferSpec(f);
    }

    /** The same spec with offset, shape and strides set together (negative strides and their offset, say). */
    public BufferSpec layout(long byteOffset, long[] shape, long[] strides) {
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(strides, "strides");
        F f = f();
        f.offset = byteOffset;
        f.shape = shape.clone();
        f.strides = strides.clone();
        f.suboffsets = suboffsets(shape.length);
        return new BufferSpec(f);
    }

    /** The same spec with Fortran-order (column-major) strides for its shape. */
    public BufferSpec fortran() {
        F f = f();
        f.strides = fStrides(shape, itemsize);
        return new BufferSpec(f);
    }

    /** The same spec with C-order (row-major) strides for its shape. */
    public BufferSpec cOrder() {
        F f = f();
        f.strides = cStrides(shape, itemsize);
        return new BufferSpec(f);
    }

    /** The same spec starting this many bytes into the segment ({@code buf = segment + offset}). */
    public BufferSpec offset(long byteOffset) {
        F f = f();
        f.offset = byteOffset;
        return new BufferSpec(f);
    }

    /**
     * The same spec with an explicit item size. Checked specs require it to equal the format's
     * {@code struct.calcsize}; an unchecked spec takes any value.
     */
    public BufferSpec itemsize(long itemsize) {
        F f = f();
        f.itemsize = itemsize;
        return new BufferSpec(f);
    }

    /** The same spec, read-only: Python cannot write through it (numpy's {@code writeable} is False). */
    public BufferSpec readOnly() {
        return readOnly(true);
    }

    /** The same spec, read-only or writable as given. */
    public BufferSpec readOnly(boolean readOnly) {
        F f = f();
        f.readOnly = readOnly;
        return new BufferSpec(f);
    }

    /**
     * The same spec with PIL-style suboffsets, one per dimension ({@code -1}: no indirection in
     * that dimension). A spec with suboffsets addresses memory through pointers stored in the
     * segment, which the bridge cannot bound-check: only an {@link #unchecked()} spec may have
     * them (see {@link #indirect} for one the bridge builds).
     */
    public BufferSpec suboffsets(long... suboffsets) {
        Objects.requireNonNull(suboffsets, "suboffsets");
        if (checked) {
            throw new IllegalArgumentException("suboffsets make Python follow pointers stored in the segment, which "
                    + "cannot be bounds-checked; call unchecked() first if this is a test harness");
        }
        F f = f();
        f.suboffsets = suboffsets.clone();
        return new BufferSpec(f);
    }

    /** The same spec with validation switched off. Dangerous: for test harnesses only. */
    public BufferSpec unchecked() {
        F f = f();
        f.checked = false;
        return new BufferSpec(f);
    }

    // ---- harness-only steps: a deliberately broken Py_buffer (unchecked specs only) -------------

    /**
     * Harness: {@code Py_buffer.len} as given instead of {@code itemsize * product(shape)}.
     * Consumers that copy bytes trust it: {@code memoryview(x).nbytes}, {@code bytes(x)},
     * {@code cast('B')} and {@code struct} use {@code len}, while {@code tolist()} and indexing
     * follow the shape. A {@code len} larger than the segment makes them read past it.
     */
    public BufferSpec len(long len) {
        requireUnchecked("len");
        F f = f();
        f.harness = new Harness(len, harness.nullShape(), harness.nullStrides(), harness.refusedFlags(),
                harness.refusal(), harness.keepAlive());
        return new BufferSpec(f);
    }

    /**
     * Harness: {@code shape = NULL} in every view, whatever the request. PEP 3118 allows a NULL
     * shape only with NULL strides in a one-dimensional view; combine it with
     * {@link #nullStrides()} (memoryview then takes {@code shape[0] = len / itemsize}). CPython
     * itself dereferences the shape otherwise: a NULL shape with strides ({@code bytes(x)},
     * {@code PyBuffer_IsContiguous}), or with {@code ndim > 1} ({@code memoryview(x)}) crashes
     * the process with SIGSEGV, as it would for a C exporter.
     */
    public BufferSpec nullShape() {
        requireUnchecked("nullShape");
        F f = f();
        f.harness = new Harness(harness.len(), true, harness.nullStrides(), harness.refusedFlags(),
                harness.refusal(), harness.keepAlive());
        return new BufferSpec(f);
    }

    /**
     * Harness: {@code strides = NULL} in every view, whatever the request. Consumers then assume
     * C order: a spec with Fortran strides is read as if it were row-major.
     */
    public BufferSpec nullStrides() {
        requireUnchecked("nullStrides");
        F f = f();
        f.harness = new Harness(harness.len(), harness.nullShape(), true, harness.refusedFlags(),
                harness.refusal(), harness.keepAlive());
        return new BufferSpec(f);
    }

    /**
     * Harness: refuse every request that has all the bits of {@code flags} (e.g.
     * {@code PyBUF_WRITABLE}, or {@code PyBUF_FORMAT}) with a BufferError carrying {@code message}.
     * Allowed on checked specs too: refusing is always safe.
     */
    public BufferSpec refusing(int flags, String message) {
        F f = f();
        f.harness = new Harness(harness.len(), harness.nullShape(), harness.nullStrides(), flags,
                Objects.requireNonNull(message, "message"), harness.keepAlive());
        return new BufferSpec(f);
    }

    private void requireUnchecked(String what) {
        if (checked) throw new IllegalArgumentException(what + "() breaks the Py_buffer's consistency; call unchecked() first");
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

    /** {@code Py_buffer.len}: {@code itemsize * product(shape)}, or what a harness set with {@link #len(long)}. */
    public long byteLength() {
        if (harness.len() >= 0) return harness.len();
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

    /** Harness: whether every view gives {@code shape = NULL}. */
    public boolean hasNullShape() { return harness.nullShape(); }
    /** Harness: whether every view gives {@code strides = NULL}. */
    public boolean hasNullStrides() { return harness.nullStrides(); }
    /** The request bits refused by {@link #refusing}, 0 if none. */
    public int refusedFlags() { return harness.refusedFlags(); }
    /** The message of {@link #refusing}, or null. */
    public String refusalMessage() { return harness.refusal(); }

    private boolean contiguous(boolean cOrder) {
        if (suboffsets != null) return false;
        long count = itemsize;
        for (long d : shape) count *= d;
        if (count == 0) return true;
        if (strides.length != shape.length) return false;
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

    /**
     * Row-major strides: the last index varies fastest. As CPython computes them
     * ({@code init_strides_from_shape}): a zero-length dimension makes the outer strides 0.
     */
    public static long[] cStrides(long[] shape, long itemsize) {
        long[] st = new long[shape.length];
        long sd = itemsize;
        for (int i = shape.length - 1; i >= 0; i--) {
            st[i] = sd;
            sd *= shape[i];
        }
        return st;
    }

    /** Column-major strides: the first index varies fastest (zero-length dimensions as in {@link #cStrides}). */
    public static long[] fStrides(long[] shape, long itemsize) {
        long[] st = new long[shape.length];
        long sd = itemsize;
        for (int i = 0; i < shape.length; i++) {
            st[i] = sd;
            sd *= shape[i];
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
        if (itemCount() == 0) {
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
