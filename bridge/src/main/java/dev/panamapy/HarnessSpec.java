package dev.panamapy;

import dev.panamapy.internal.StructFormat;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * <b>Dangerous by design:</b> a view for test harnesses, which may be anything a C exporter
 * could hand a consumer, broken ones included. Nothing is validated: any format string, any
 * item size, strides and offsets outside the segment, {@code ndim > 64}, suboffsets Python
 * follows as pointers, and knobs that make the {@code Py_buffer} inconsistent on purpose
 * ({@link #len}, {@link #nullShape}, {@link #nullStrides}) or refuse requests
 * ({@link #refusing}). Exporting one ({@link CPython#export(BufferLayout)}, or returning it from
 * a {@link BufferExporter}) can make Python read or write outside the segment, or crash the
 * process: never use it in production code; use {@link BufferSpec}, which is always valid.
 *
 * <p>Immutable; each step returns a new spec. Two things still hold: read-only memory stays
 * read-only ({@link #readOnly(boolean) readOnly(false)} on it is an
 * {@link IllegalArgumentException}), and {@link #byteLength()} is exact (a size that does not fit
 * in a {@code long} is an {@link IllegalArgumentException} before anything reaches Python; set
 * {@link #len} explicitly for a deliberately overflowing shape).
 */
public final class HarnessSpec extends BufferLayout {

    private final long len;             // -1: itemsize * product(shape)
    private final boolean nullShape;
    private final boolean nullStrides;
    private final int refusedFlags;     // 0: refuses nothing
    private final String refusal;

    private HarnessSpec(Fields f, long len, boolean nullShape, boolean nullStrides, int refusedFlags, String refusal) {
        super(f);
        this.len = len;
        this.nullShape = nullShape;
        this.nullStrides = nullStrides;
        this.refusedFlags = refusedFlags;
        this.refusal = refusal;
    }

    /** The same knobs over new fields. */
    private HarnessSpec with(Fields f) {
        return new HarnessSpec(f, len, nullShape, nullStrides, refusedFlags, refusal);
    }

    /**
     * A one-dimensional, C-contiguous view of the whole segment, as {@link BufferSpec#of} makes
     * it, but with any format string (not parsed; the itemsize defaults to 1 when it cannot be
     * parsed, so set {@link #itemsize} and then {@link #shape} for an unknown format of another
     * size). Read-only if the segment is.
     */
    public static HarnessSpec of(MemorySegment segment, String format) {
        Objects.requireNonNull(segment, "segment");
        long itemsize;
        try {
            itemsize = StructFormat.parse(format).itemsize();
        } catch (IllegalArgumentException | NullPointerException e) {
            itemsize = 1;
        }
        return new HarnessSpec(Fields.start(segment, format, itemsize), -1, false, false, 0, null);
    }

    /** The same view as a valid spec (an {@link BufferSpec#indirect} one included), to break from there. */
    public static HarnessSpec from(BufferSpec spec) {
        Objects.requireNonNull(spec, "spec");
        return new HarnessSpec(spec.fields(), -1, false, false, 0, null);
    }

    // ---- the steps of BufferSpec, unchecked ---------------------------------------------------

    /** The same spec with this shape and C-order strides (as given: no check). */
    public HarnessSpec shape(long... shape) {
        Objects.requireNonNull(shape, "shape");
        return with(fields().shape(shape));
    }

    /** The same spec as a 0-d scalar. */
    public HarnessSpec scalar() {
        return shape(new long[0]);
    }

    /** The same spec with these strides in bytes, any number of them. */
    public HarnessSpec strides(long... strides) {
        Objects.requireNonNull(strides, "strides");
        return with(fields().strides(strides));
    }

    /** The same spec with offset, shape and strides set together. */
    public HarnessSpec layout(long byteOffset, long[] shape, long[] strides) {
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(strides, "strides");
        return with(fields().layout(byteOffset, shape, strides));
    }

    /** The same spec with Fortran-order strides for its shape. */
    public HarnessSpec fortran() {
        return with(fields().strides(fStrides(shape, itemsize)));
    }

    /** The same spec with C-order strides for its shape. */
    public HarnessSpec cOrder() {
        return with(fields().strides(cStrides(shape, itemsize)));
    }

    /** The same spec starting this many bytes into the segment, any offset. */
    public HarnessSpec offset(long byteOffset) {
        return with(fields().offset(byteOffset));
    }

    /** The same spec with this item size, whatever the format says. */
    public HarnessSpec itemsize(long itemsize) {
        return with(fields().itemsize(itemsize));
    }

    /** The same spec, read-only. */
    public HarnessSpec readOnly() {
        return readOnly(true);
    }

    /**
     * The same spec, read-only or writable as given.
     *
     * @throws IllegalArgumentException for {@code readOnly(false)} when the segment (or an
     *         indirect spec's data) is read-only
     */
    public HarnessSpec readOnly(boolean readOnly) {
        return with(fields().readOnly(readOnly));
    }

    // ---- what only a harness sets ---------------------------------------------------------------

    /**
     * The same spec with PIL-style suboffsets, one per dimension ({@code -1}: no indirection in
     * that dimension). Python follows pointers stored in the segment, which nothing checks
     * ({@link BufferSpec#indirect} builds a valid one).
     */
    public HarnessSpec suboffsets(long... suboffsets) {
        Objects.requireNonNull(suboffsets, "suboffsets");
        return with(fields().suboffsets(suboffsets));
    }

    /**
     * {@code Py_buffer.len} as given instead of {@code itemsize * product(shape)}.
     * Consumers that copy bytes trust it: {@code memoryview(x).nbytes}, {@code bytes(x)},
     * {@code cast('B')} and {@code struct} use {@code len}, while {@code tolist()} and indexing
     * follow the shape. A {@code len} larger than the segment makes them read past it.
     */
    public HarnessSpec len(long len) {
        return new HarnessSpec(fields(), len, nullShape, nullStrides, refusedFlags, refusal);
    }

    /**
     * {@code shape = NULL} in every view, whatever the request. PEP 3118 allows a NULL
     * shape only with NULL strides in a one-dimensional view; combine it with
     * {@link #nullStrides()} (memoryview then takes {@code shape[0] = len / itemsize}). CPython
     * itself dereferences the shape otherwise: a NULL shape with strides ({@code bytes(x)},
     * {@code PyBuffer_IsContiguous}), or with {@code ndim > 1} ({@code memoryview(x)}) crashes
     * the process with SIGSEGV, as it would for a C exporter.
     */
    public HarnessSpec nullShape() {
        return new HarnessSpec(fields(), len, true, nullStrides, refusedFlags, refusal);
    }

    /**
     * {@code strides = NULL} in every view, whatever the request. Consumers then assume
     * C order: a spec with Fortran strides is read as if it were row-major.
     */
    public HarnessSpec nullStrides() {
        return new HarnessSpec(fields(), len, nullShape, true, refusedFlags, refusal);
    }

    /**
     * Refuse every request that has all the bits of {@code flags} (e.g.
     * {@code PyBUF_WRITABLE}, or {@code PyBUF_FORMAT}) with a BufferError carrying {@code message}.
     */
    public HarnessSpec refusing(int flags, String message) {
        return new HarnessSpec(fields(), len, nullShape, nullStrides, flags, Objects.requireNonNull(message, "message"));
    }

    // ---- what it says -------------------------------------------------------------------------

    /**
     * {@code Py_buffer.len}: what {@link #len(long)} set, else {@code itemsize * product(shape)}.
     *
     * @throws IllegalArgumentException if the size does not fit in a {@code long}: set
     *         {@link #len(long)} explicitly for a deliberately overflowing harness
     */
    @Override
    public long byteLength() {
        return len >= 0 ? len : super.byteLength();
    }

    /** Whether every view gives {@code shape = NULL}. */
    public boolean hasNullShape() { return nullShape; }
    /** Whether every view gives {@code strides = NULL}. */
    public boolean hasNullStrides() { return nullStrides; }
    /** The request bits refused by {@link #refusing}, 0 if none. */
    public int refusedFlags() { return refusedFlags; }
    /** The message of {@link #refusing}, or null. */
    public String refusalMessage() { return refusal; }

    /** Whether {@link #refusing} refuses this request ({@code PyBUF_*} flags). */
    public boolean refuses(int flags) {
        return refusedFlags != 0 && (flags & refusedFlags) == refusedFlags;
    }

    @Override
    public String toString() {
        return "HarnessSpec[" + describeFields() + (len >= 0 ? ", len=" + len : "") + (nullShape ? ", shape=NULL" : "")
                + (nullStrides ? ", strides=NULL" : "")
                + (refusedFlags != 0 ? ", refusing " + BufferRequest.describe(refusedFlags) : "") + "]";
    }
}
