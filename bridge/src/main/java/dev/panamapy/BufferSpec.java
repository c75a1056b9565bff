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
 * <p>{@link #unchecked()} switches validation off, for test harnesses that must hand a
 * consumer a deliberately broken view (wrong itemsize, strides out of bounds, any format).
 * Exporting an unchecked spec can make Python read or write outside the segment: never use it
 * in production code.
 *
 * <p><b>Exact arithmetic.</b> Every product and sum of shape, strides, item size and offset is
 * computed exactly: a layout whose size or whose element positions do not fit in a {@code long}
 * is refused with an {@link IllegalArgumentException} naming the field and its value, never
 * wrapped and never an {@link ArithmeticException}. A checked spec that {@link #requireInBounds()}
 * accepts addresses no byte outside {@code [0, segment.byteSize())}.
 *
 * <p><b>Read-only memory.</b> A spec over a read-only segment ({@link MemorySegment#asReadOnly()},
 * a {@code READ_ONLY} file mapping, a read-only direct buffer) is read-only from the start, and
 * no step can make it writable: {@link #readOnly(boolean) readOnly(false)} on it is an
 * {@link IllegalArgumentException}, for checked and unchecked specs alike (a write would fault,
 * or break the promise Java made when it marked the memory read-only).
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
        if (!readOnly && memoryIsReadOnly()) {
            throw new IllegalArgumentException("the memory is read-only (" + memory() + "): a view of it cannot be "
                    + "writable, Python's writes would fault or change memory Java promised not to change; "
                    + "leave the spec read-only, or export a writable segment");
        }
        if (checked) validate();
    }

    /** The memory Python reads through the view: the segment, or the data behind an {@link #indirect} pointer array. */
    private MemorySegment memory() {
        return harness.keepAlive() instanceof MemorySegment data ? data : segment;
    }

    private boolean memoryIsReadOnly() {
        return segment.isReadOnly() || memory().isReadOnly();
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
        f.readOnly = segment.isReadOnly();
        f.checked = checked;
        return new BufferSpec(f);
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
        return start(segment, format, StructFormat.parse(format).itemsize(), true);
    }

    /**
     * The same start as {@link #of} but never validated: any format string (not parsed; the
     * itemsize defaults to 1 when it cannot be parsed, so set {@link #itemsize} and then
     * {@link #shape} for an unknown format of another size), and every later step accepted as
     * given, {@code ndim > 64} included (memoryview refuses it with ValueError). For test
     * harnesses only. Read-only memory stays read-only here too (see {@link #readOnly(boolean)}).
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
     * {@code PyBUF_INDIRECT} to see it. Unchecked by nature (Python follows pointers), but the
     * array itself must fit in {@code data}, computed exactly; read-only if {@code data} is.
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
        f.readOnly = data.isReadOnly();
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

    /**
     * The same spec, read-only or writable as given.
     *
     * @throws IllegalArgumentException for {@code readOnly(false)} when the segment (or an
     *         {@link #indirect} spec's data) is read-only, checked or unchecked: Python's writes
     *         would fault or change memory Java promised not to change
     */
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

    /**
     * {@code Py_buffer.len}: {@code itemsize * product(shape)}, or what a harness set with {@link #len(long)}.
     *
     * @throws IllegalArgumentException for an unchecked spec whose size does not fit in a
     *         {@code long} (a checked spec never has one): set {@link #len(long)} explicitly
     *         for a deliberately overflowing harness
     */
    public long byteLength() {
        if (harness.len() >= 0) return harness.len();
        return byteSize(shape, itemsize);
    }

    /**
     * Number of items: {@code product(shape)}.
     *
     * @throws IllegalArgumentException for an unchecked spec whose item count does not fit in a {@code long}
     */
    public long itemCount() {
        return count(shape);
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
    private static long byteSize(long[] shape, long itemsize) {
        return product(shape, itemsize, "the byte size");
    }

    /**
     * {@code product(shape)}, exactly.
     *
     * @throws IllegalArgumentException naming the dimension at which it stops fitting in a {@code long}
     */
    private static long count(long[] shape) {
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
    private static long exactProduct(long a, long b, int dim, long[] shape, String what) {
        long hi = Math.multiplyHigh(a, b);
        long lo = a * b;
        if (hi == (lo >> 63)) return lo;
        throw new IllegalArgumentException("shape[" + dim + "] = " + b + " makes " + what + " of shape " + Arrays.toString(shape)
                + " " + BigInteger.valueOf(a).multiply(BigInteger.valueOf(b)) + ", more than a Py_ssize_t holds ("
                + Long.MAX_VALUE + ")");
    }

    private static void requireNonNegative(long[] shape) {
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 0) throw new IllegalArgumentException("shape[" + i + "] = " + shape[i] + " is negative");
        }
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
        if (offset < 0) throw new IllegalArgumentException("offset = " + offset + " is negative");
        requireNonNegative(shape);
        count(shape);                  // the item count and Py_buffer.len must fit in a Py_ssize_t
        byteSize(shape, itemsize);
    }

    /**
     * Checks that every element this spec can address lies inside its segment (for an empty
     * view: that the offset does). Does nothing for an {@link #unchecked()} spec. The test is
     * exact: no sum or product of shape, strides, offset and item size wraps.
     *
     * @return this spec
     * @throws IllegalArgumentException naming the first element, in C index order, outside the
     *         segment, its exact byte range and the fields that put it there
     */
    public BufferSpec requireInBounds() {
        if (!checked) return this;
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
        return "BufferSpec[format=" + format + ", itemsize=" + itemsize + ", shape=" + Arrays.toString(shape)
                + ", strides=" + Arrays.toString(strides) + ", offset=" + offset
                + (suboffsets != null ? ", suboffsets=" + Arrays.toString(suboffsets) : "")
                + (readOnly ? ", read-only" : "") + (checked ? "" : ", UNCHECKED") + "]";
    }
}
