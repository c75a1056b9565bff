package dev.panamapy.internal;

import dev.panamapy.BufferLayout;
import dev.panamapy.BufferSpec;
import dev.panamapy.HarnessSpec;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * The layout of a {@code Py_buffer} Java took from a Python object ({@code PyBufferView}'s),
 * read once without trusting any field: every value is checked before it is used, all
 * arithmetic is exact, and a layout that cannot be a buffer is refused with
 * {@link IllegalStateException} before any segment is made. Gives the segment bounded to the
 * bytes the buffer spans, scoped to the view's arena, and the layout in {@link BufferSpec}'s
 * vocabulary ({@link #spec()}). {@link ViewItems} adds typed access to the items.
 */
public sealed class ViewLayout permits ViewItems {

    final Arena arena;                 // the segment's scope: the view's
    final MemorySegment segment;       // bounded to the span; scoped to the view
    final long buf;                    // Py_buffer.buf
    final long spanStart;              // address segment() starts at
    final long len;
    final long itemsize;               // Py_buffer.itemsize, as given
    final long elem;                   // bytes per element as addressed: 1 for bare bytes (no shape, no format)
    final boolean readOnly;
    final int ndim;
    final String format;               // null when the exporter gave none ("B")
    final long[] shape;                // as given (null if NULL)
    final long[] strides;              // as given (null if NULL)
    final long[] suboffsets;           // as given (null if NULL)
    final long[] effShape, effStrides; // what memoryview would use
    final boolean cContiguous;
    final long origin;                 // offset of element [0, ...] within segment
    private BufferLayout spec;         // made on first use; immutable, so a racy first use is harmless

    /** Reads the {@code Py_buffer} at {@code pyBuffer}; the segment is scoped to {@code arena}. */
    ViewLayout(long pyBuffer, Arena arena) {
        this.arena = arena;
        long v = pyBuffer;
        buf = Mem.getLong(v + PyBufferLayout.BUF);
        len = Mem.getLong(v + PyBufferLayout.LEN);
        itemsize = Mem.getLong(v + PyBufferLayout.ITEMSIZE);
        readOnly = Mem.getInt(v + PyBufferLayout.READONLY) != 0;
        ndim = Mem.getInt(v + PyBufferLayout.NDIM);
        // From here on no field is trusted: a Python exporter can hand over any values. Each is
        // checked before it is used, all arithmetic is exact, and a layout that cannot be a
        // buffer is refused (the caller releases it) before any segment is made.
        if (ndim < 0 || ndim > BufferSpec.MAX_NDIM) malformed("ndim = " + ndim + " is outside [0, " + BufferSpec.MAX_NDIM + "]");
        if (itemsize < 0) malformed("itemsize = " + itemsize + " is negative");
        if (len < 0) malformed("len = " + len + " is negative");
        format = Mem.cString(Mem.getLong(v + PyBufferLayout.FORMAT));
        shape = longs(Mem.getLong(v + PyBufferLayout.SHAPE), ndim);
        strides = longs(Mem.getLong(v + PyBufferLayout.STRIDES), ndim);
        suboffsets = longs(Mem.getLong(v + PyBufferLayout.SUBOFFSETS), ndim);
        if (shape == null && (strides != null || suboffsets != null)) {
            malformed((strides != null ? "strides" : "suboffsets") + " without a shape (PEP 3118 forbids it)");
        }
        if (shape != null) {
            for (int i = 0; i < ndim; i++) if (shape[i] < 0) malformed("shape[" + i + "] = " + shape[i] + " is negative");
        }
        // PEP 3118: without shape (a SIMPLE or WRITABLE request) the consumer disregards itemsize and reads
        // bytes; with a format but no shape, 1-D items of that format. numpy answers SIMPLE with ndim 0:
        // only a buffer of exactly one item is a scalar.
        elem = shape == null && format == null ? 1 : itemsize;
        boolean scalar = ndim == 0 && (len == elem || elem == 0);
        effShape = shape != null ? shape : scalar ? new long[0] : new long[]{elem == 0 ? 0 : len / elem};
        long count = 1;
        boolean empty = false;
        for (long d : effShape) empty |= d == 0;
        if (!empty) {
            for (int i = 0; i < effShape.length; i++) {
                long c = count * effShape[i];
                if (!fits(Math.multiplyHigh(count, effShape[i]), c)) {
                    malformed("shape " + Arrays.toString(effShape) + " has more items than a long counts");
                }
                count = c;
            }
        } else {
            count = 0;
        }
        if (shape != null) {
            long bytes = count * itemsize;
            if (!fits(Math.multiplyHigh(count, itemsize), bytes)) {
                malformed("itemsize " + itemsize + " * product(shape " + Arrays.toString(shape) + ") does not fit in a long");
            }
            if (bytes != len) {
                malformed("len = " + len + " but itemsize * product(shape) = " + bytes + " (itemsize " + itemsize
                        + ", shape " + Arrays.toString(shape) + ")");
            }
        }
        long[] st;
        try {
            st = strides != null ? strides : BufferSpec.cStrides(effShape, elem);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("malformed buffer: its C-order strides do not fit in a long: "
                    + e.getMessage() + "; refused (released, nothing read)", e);
        }
        effStrides = st;
        // The bytes addressed from buf itself: every dimension, or (suboffsets) those up to and including
        // the first that follows a pointer, whose positions hold that pointer (PyBuffer_GetPointer).
        int direct = effShape.length;
        long tail = elem;
        if (suboffsets != null) {
            for (int i = 0; i < suboffsets.length; i++) {
                if (suboffsets[i] >= 0) { direct = i + 1; tail = Long.BYTES; break; }
            }
        }
        long lo = 0, hi = 0, extent = 0;
        if (count != 0) {
            for (int i = 0; i < effShape.length; i++) {
                long d = effShape[i] - 1;
                long span = d * effStrides[i];
                if (!fits(Math.multiplyHigh(d, effStrides[i]), span)) {
                    malformed("shape[" + i + "] = " + effShape[i] + " with strides[" + i + "] = " + effStrides[i]
                            + " reaches beyond a long");
                }
                if (i >= direct) continue;
                if (span < 0) lo = exactAdd(lo, span, "the strides' negative reach");
                else hi = exactAdd(hi, span, "the strides' positive reach");
            }
            long reach = hi - lo;                           // hi >= 0 >= lo
            if (((hi ^ lo) & (hi ^ reach)) < 0) malformed("the span of the strides does not fit in a long");
            extent = exactAdd(reach, tail, "the span of the strides");
        }
        spanStart = address(buf, lo);
        address(spanStart, extent);                         // the end must not wrap either
        origin = -lo;                                       // exact: hi - lo fits, hi >= 0
        MemorySegment s = MemorySegment.ofAddress(spanStart).reinterpret(extent, arena, null);
        segment = readOnly ? s.asReadOnly() : s;
        cContiguous = suboffsets == null && isC(effShape, effStrides, elem);
    }

    /** The bytes the buffer spans (see {@code PyBufferView.segment()}); unusable once the arena is closed. */
    public MemorySegment segment() { return segment; }

    /** Byte offset of element [0, 0, ...] within {@link #segment()}. */
    public long offset() { return origin; }

    /** The struct format; "B" when the exporter gave none. */
    public String format() { return format == null ? "B" : format; }

    /** Whether the exporter gave a format. */
    public boolean hasFormat() { return format != null; }

    /** {@code Py_buffer.itemsize} as given. */
    public long itemsize() { return itemsize; }

    /** {@code Py_buffer.len}. */
    public long byteLength() { return len; }

    /** {@code Py_buffer.ndim} as given. */
    public int ndim() { return ndim; }

    /** The shape, or what it means when the exporter gave NULL (a copy). */
    public long[] shape() { return effShape.clone(); }

    /** The strides, or C-order strides when the exporter gave NULL (a copy). */
    public long[] strides() { return effStrides.clone(); }

    /** The suboffsets (a copy), or null. */
    public long[] suboffsets() { return suboffsets == null ? null : suboffsets.clone(); }

    /** Whether the exporter gave a shape array. */
    public boolean hasShape() { return shape != null; }

    /** Whether the exporter gave a strides array. */
    public boolean hasStrides() { return strides != null; }

    /** Whether the view's arena is closed (the view was closed). */
    public boolean isClosed() { return !arena.scope().isAlive(); }

    /** Whether Python marked the buffer read-only. */
    public boolean isReadOnly() { return readOnly; }

    /** Whether the buffer is C-contiguous. */
    public boolean isCContiguous() { return cContiguous; }

    /** Number of items: product of the shape (which the constructor proved fits in a long). */
    public long itemCount() {
        long n = 1;
        for (long d : effShape) n *= d;
        return n;
    }

    /**
     * The layout as a {@link BufferLayout} over {@link #segment()}: offset, format, item size (as
     * addressed: 1 for bare bytes), shape, strides, suboffsets and read-only as the view reads
     * them. Checked when the format is one the struct module knows with that item size and
     * there are no suboffsets (a {@link BufferSpec}: it lies in the segment by construction); a
     * {@link HarnessSpec} otherwise (numpy's {@code 'Zd'}, PIL-style pointers), since only the
     * exporter vouches for those.
     */
    public BufferLayout spec() {
        BufferLayout s = spec;
        if (s == null) spec = s = describe();
        return s;
    }

    private BufferLayout describe() {
        String f = format();
        if (suboffsets == null) {
            try {
                if (StructFormat.parse(f).itemsize() == elem) {
                    return BufferSpec.of(segment, f).layout(origin, effShape, effStrides).readOnly(readOnly)
                            .requireInBounds();
                }
            } catch (IllegalArgumentException notStruct) {
                // a format beyond struct's: described unchecked below
            }
        }
        HarnessSpec u = HarnessSpec.of(segment, f).itemsize(elem).layout(origin, effShape, effStrides)
                .readOnly(readOnly);
        return suboffsets == null ? u : u.suboffsets(suboffsets);
    }

    /** A layout no buffer can have: refused before any segment is made (the caller releases the buffer). */
    static void malformed(String why) {
        throw new IllegalStateException("malformed buffer: " + why + "; refused (released, nothing read)");
    }

    /** Whether the product whose high and low words are given fits in a long. */
    static boolean fits(long high, long low) {
        return high == (low >> 63);
    }

    static long exactAdd(long a, long b, String what) {
        long r = a + b;
        if (((a ^ r) & (b ^ r)) < 0) malformed(what + " does not fit in a long");
        return r;
    }

    /**
     * {@code base + delta} as an unsigned address, refused as malformed if it wraps around the
     * address space (below 0 or past 2^64): a layout that does is not memory, whatever it claims.
     */
    static long address(long base, long delta) {
        long r = base + delta;
        int c = Long.compareUnsigned(r, base);
        if (delta > 0 && c < 0 || delta < 0 && c > 0) {
            malformed("address 0x" + Long.toHexString(base) + (delta < 0 ? " - " + -delta : " + " + delta)
                    + " wraps around the address space");
        }
        return r;
    }

    static boolean isC(long[] shape, long[] strides, long itemsize) {
        long sd = itemsize;
        long count = 1;
        for (long d : shape) count *= d;
        if (count == 0) return true;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] > 1 && strides[i] != sd) return false;
            sd *= shape[i];
        }
        return true;
    }

    static long[] longs(long address, int n) {
        if (address == 0) return null;
        long[] a = new long[n];
        for (int i = 0; i < n; i++) a[i] = Mem.getLong(address + 8L * i);
        return a;
    }
}
