package dev.panamapy;

import dev.panamapy.internal.Errors;
import dev.panamapy.internal.Handoff;
import dev.panamapy.internal.Interpreter;
import dev.panamapy.internal.Mem;
import dev.panamapy.internal.Ownership;
import dev.panamapy.internal.PyBufferLayout;
import dev.panamapy.internal.StructFormat;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.stream.DoubleStream;
import java.util.stream.LongStream;

import static dev.panamapy.bindings.Python_h.*;

/**
 * Java's view of a Python object's buffer (PEP 3118 {@code PyObject_GetBuffer}): numpy arrays,
 * bytearray, bytes, array.array, mmap, memoryview, pyarrow buffers, anything with
 * {@code __buffer__}. Owns exactly one {@code Py_buffer}; {@link #close()} releases it
 * ({@code PyBuffer_Release}, idempotent), and one never closed is released by a Cleaner that
 * takes the GIL, once neither the view nor any segment it handed out can be reached.
 *
 * <p><b>Threads.</b> Like an {@code Arena.ofConfined()} segment, a view from
 * {@link PyObject#getBuffer} is confined to the thread that took it: only that thread may touch
 * its memory through the view and close it (others get {@link WrongThreadException}); taking and
 * closing one costs a few hundred nanoseconds. {@link PyObject#getBufferShared} gives a view any
 * thread may use and close, like {@code Arena.ofShared()}, whose close costs a JVM-wide
 * handshake (tens of microseconds).
 *
 * <p>{@link #segment()} spans exactly the bytes the buffer can address and is read-only when
 * the buffer is; after {@link #close()} touching it throws {@link IllegalStateException}
 * ("view is closed"), never crashes. The exporter's fields are not trusted: a buffer whose
 * shape, strides, len or span do not add up in exact arithmetic (or wrap around the address
 * space) is refused with {@link IllegalStateException} before any segment is made. For a buffer
 * with suboffsets, {@link #segment()} covers the bytes addressed from {@code buf} up to the
 * first pointer followed (the pointers themselves), and items are read through those pointers,
 * which only the exporter can vouch for. Typed accessors follow shape, strides, suboffsets and the
 * format's byte order; the only copies are the methods whose names say {@code copy}.
 *
 * <p>Reading or writing the memory needs no GIL, but Python code may mutate or resize nothing
 * under a live view: exporters such as bytearray refuse resizing while exported.
 */
public final class PyBufferView implements AutoCloseable {

    private final Interpreter interp;
    private final Release release;
    private final Arena arena;                 // the segment's scope: confined (default) or shared
    private final boolean shared;
    private final MemorySegment segment;       // bounded to the span; scoped to the view
    private final long buf;                    // Py_buffer.buf
    private final long spanStart;              // address segment() starts at
    private final long len;
    private final long itemsize;               // Py_buffer.itemsize, as given
    private final long elem;                   // bytes per element as addressed: 1 for bare bytes (no shape, no format)
    private final boolean readOnly;
    private final int ndim;
    private final String format;               // null when the exporter gave none ("B")
    private final long[] shape;                // as given (null if NULL)
    private final long[] strides;              // as given (null if NULL)
    private final long[] suboffsets;           // as given (null if NULL)
    private final long[] effShape, effStrides; // what memoryview would use
    private final boolean cContiguous;
    private final long origin;                 // offset of element [0, ...] within segment
    private final char code;                   // the struct code of a single-item format, else 0
    private final int kind;                    // how one item is read (K_*), or K_NONE
    private final boolean nativeDoubles;       // C-contiguous native-order 'd': the fast paths

    // one static layout per size and byte order: the hot path allocates nothing
    private static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16_BE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt I32_BE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong I64_BE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32_BE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfDouble F64_LE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble F64_BE = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final ValueLayout.OfDouble F64_NATIVE = ValueLayout.JAVA_DOUBLE_UNALIGNED;

    private static final int K_NONE = 0, K_I8 = 1, K_U8 = 2, K_I16 = 3, K_U16 = 4, K_I32 = 5, K_U32 = 6,
            K_I64 = 7, K_U64 = 8, K_F16 = 9, K_F32 = 10, K_F64 = 11, K_BOOL = 12, K_CHAR = 13, K_PTR = 14;

    private final ValueLayout.OfShort l16;
    private final ValueLayout.OfInt l32;
    private final ValueLayout.OfLong l64;
    private final ValueLayout.OfFloat f32;
    private final ValueLayout.OfDouble f64;

    private PyBufferView(Interpreter interp, Release release, Arena arena, MemorySegment pyBuffer) {
        this.arena = arena;
        this.shared = !(arena.scope().getClass().getSimpleName().contains("Confined"));
        this.interp = interp;
        this.release = release;
        long v = pyBuffer.address();
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
        boolean scalar = ndim == 0 && (len == itemsize || elem == 0);
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

        char single = 0;
        ByteOrder order = ByteOrder.nativeOrder();
        try {
            StructFormat sf = StructFormat.parse(format == null ? "B" : format);
            if (sf.itemsize() == elem) {
                single = sf.singleCode();
                order = sf.byteOrder();
            }
        } catch (IllegalArgumentException e) {
            single = 0;    // a format beyond struct's (numpy's 'Zd', 'T{...}'): bytes only
        }
        code = single;
        kind = kindOf(single, elem);
        boolean le = order == ByteOrder.LITTLE_ENDIAN;
        l16 = le ? I16_LE : I16_BE;
        l32 = le ? I32_LE : I32_BE;
        l64 = le ? I64_LE : I64_BE;
        f32 = le ? F32_LE : F32_BE;
        f64 = le ? F64_LE : F64_BE;
        nativeDoubles = cContiguous && kind == K_F64 && order == ByteOrder.nativeOrder();
    }

    /** The reading of one item: by struct code and, for 'l'/'L' whose size depends on the mode, by itemsize. */
    private static int kindOf(char code, long itemsize) {
        return switch (code) {
            case 'b' -> K_I8;
            case 'B' -> K_U8;
            case 'c' -> K_CHAR;
            case '?' -> K_BOOL;
            case 'h' -> K_I16;
            case 'H' -> K_U16;
            case 'i' -> K_I32;
            case 'I' -> K_U32;
            case 'l', 'q', 'n' -> itemsize == 8 ? K_I64 : itemsize == 4 ? K_I32 : K_NONE;
            case 'L', 'Q', 'N' -> itemsize == 8 ? K_U64 : itemsize == 4 ? K_U32 : K_NONE;
            case 'P' -> K_PTR;
            case 'e' -> K_F16;
            case 'f' -> K_F32;
            case 'd' -> K_F64;
            default -> K_NONE;
        };
    }

    static PyBufferView of(PyObject obj, BufferRequest request, boolean shared) {
        Interpreter interp = obj.interp;
        int g = interp.enter();
        try {
            Release r = new Release(interp);
            int rc = PyObject_GetBuffer(java.lang.foreign.MemorySegment.ofAddress(obj.address()), r.pyBuffer, request.flags());
            if (rc != 0) throw Errors.fetch(interp.c);
            r.acquired = true;
            Arena arena = shared ? Arena.ofShared() : Arena.ofConfined();
            PyBufferView view;
            try {
                view = new PyBufferView(interp, r, arena, r.pyBuffer);
            } catch (RuntimeException | Error e) {
                arena.close();
                r.run();                            // a Py_buffer we cannot describe is still released
                throw e;
            }
            // The Cleaner watches the arena's scope, which the view and every segment it handed out
            // refer to: the buffer is released only when none of them can be reached any more.
            r.cleanable = Ownership.register(arena.scope(), r);
            return view;
        } finally {
            interp.exit(g);
        }
    }

    /** Releases the Py_buffer exactly once: explicitly or from the Cleaner. Refers to neither view nor arena. */
    private static final class Release implements Runnable {
        final Interpreter interp;
        final MemorySegment pyBuffer = Arena.ofAuto().allocate(PyBufferLayout.SIZE, 8);
        volatile boolean acquired;
        java.lang.ref.Cleaner.Cleanable cleanable;
        private boolean done;

        Release(Interpreter interp) { this.interp = interp; }

        @Override
        public synchronized void run() {
            if (done) return;
            done = true;
            if (!acquired) return;
            int g = interp.tryEnter();
            if (g == -1) return;                    // interpreter gone: so is the exporter
            try {
                PyBuffer_Release(pyBuffer);
            } finally {
                interp.exit(g);
            }
        }
    }

    // ---- what it is ----------------------------------------------------------------------------

    /**
     * The bytes the buffer spans, bounded exactly (with suboffsets: the bytes addressed from
     * {@code buf}, pointers included, up to the first pointer followed); read-only if the buffer
     * is. Invalid after close.
     */
    public MemorySegment segment() { checkOpen(); return segment; }

    /** Byte offset of element [0, 0, ...] within {@link #segment()} (non-zero for negative strides). */
    public long origin() { return origin; }

    /** The struct format; "B" when the exporter gave none. */
    public String format() { return format == null ? "B" : format; }

    /** Whether the exporter gave a format (false for requests without FORMAT). */
    public boolean hasFormat() { return format != null; }

    /** {@code Py_buffer.itemsize} as the exporter gave it (without a shape, items are read as bytes). */
    public long itemsize() { return itemsize; }

    /** {@code Py_buffer.len}: itemsize * product(shape). */
    public long byteLength() { return len; }

    /** {@code Py_buffer.ndim}. */
    public int ndim() { return ndim; }

    /** The shape, or what it means when the exporter gave NULL ({@code [len]} bytes, or {@code [len / itemsize]} with a format). */
    public long[] shape() { return effShape.clone(); }

    /** The strides in bytes, or C-order strides when the exporter gave NULL. */
    public long[] strides() { return effStrides.clone(); }

    /** The suboffsets, or null when the buffer has none. */
    public long[] suboffsets() { return suboffsets == null ? null : suboffsets.clone(); }

    /** Whether the exporter gave a shape array (false for SIMPLE requests). */
    public boolean hasShape() { return shape != null; }

    /** Whether the exporter gave a strides array. */
    public boolean hasStrides() { return strides != null; }

    /** Whether Python marked the buffer read-only. */
    public boolean readOnly() { return readOnly; }

    /** Whether the buffer is C-contiguous. */
    public boolean isCContiguous() { return cContiguous; }

    /** Number of items. */
    public long itemCount() {
        long n = 1;
        for (long d : effShape) n *= d;
        return n;
    }

    /** The raw address of {@code Py_buffer.buf}. */
    public long address() { checkOpen(); return buf; }

    // ---- typed access ----------------------------------------------------------------------------
    //
    // Every accessor turns an index into a byte position within segment() and lets the segment
    // check bounds and liveness: a closed view throws IllegalStateException("view is closed")
    // from closed(), never touches freed memory.

    /** The element at an index as a double, for any numeric format ('d', 'f', 'e', integers, '?'). */
    public double getAsDouble(long... index) { requireNumeric(); return readDouble(positionOf(index)); }

    /** The element at an index as a long, for integer formats ('b', 'B', 'h', ..., 'q', 'Q', '?'); unsigned
     *  formats read as their unsigned value (a 'Q' above {@code Long.MAX_VALUE} wraps negative). */
    public long getAsLong(long... index) { requireInteger(); return readLong(positionOf(index)); }

    /** The 'd' element at an index. */
    public double getDouble(long... index) { require(K_F64, "a 'd' (float64)"); return readDouble(positionOf(index)); }
    /** The 'f' element at an index. */
    public float getFloat(long... index) { require(K_F32, "an 'f' (float32)"); return (float) readDouble(positionOf(index)); }
    /** The 'q'/'Q'/'n'/'N' (or native 'l'/'L') element at an index. */
    public long getLong(long... index) { requireSize(8); return readLong(positionOf(index)); }
    /** The 'i'/'I' (or standard 'l'/'L') element at an index. */
    public int getInt(long... index) { requireSize(4); return (int) readLong(positionOf(index)); }
    /** The 'h'/'H' element at an index. */
    public short getShort(long... index) { requireSize(2); return (short) readLong(positionOf(index)); }
    /** The 'b'/'B'/'c' element at an index. */
    public byte getByte(long... index) { requireSize(1); return (byte) readLong(positionOf(index)); }

    /**
     * Writes a double to an element: stored as is in 'd', rounded in 'f'/'e', truncated toward
     * zero (then to the item size) in integer formats, as {@code != 0} in '?'.
     *
     * @throws UnsupportedOperationException if the buffer is read-only or not numeric
     */
    public void setDouble(double value, long... index) { requireWritable(); writeDouble(positionOf(index), value); }

    /**
     * Writes a long to an element: truncated to the item size in integer formats, converted in
     * floating-point ones.
     *
     * @throws UnsupportedOperationException if the buffer is read-only or not numeric
     */
    public void setLong(long value, long... index) { requireWritable(); writeLong(positionOf(index), value); }

    /** All elements as doubles, in logical (C) index order, read lazily from the buffer. */
    public DoubleStream doubles() {
        requireNumeric();
        checkOpen();
        long n = itemCount();
        if (nativeDoubles) {
            MemorySegment s = segment;
            long base = origin;
            return LongStream.range(0, n).mapToDouble(i -> {
                try { return s.get(F64_NATIVE, base + i * 8); }
                catch (IllegalStateException e) { throw closed(e); }
            });
        }
        return LongStream.range(0, n).mapToDouble(i -> readDouble(positionOfLinear(i)));
    }

    /** All elements as longs, in logical (C) index order (integer formats). */
    public LongStream longs() {
        requireInteger();
        checkOpen();
        return LongStream.range(0, itemCount()).map(i -> readLong(positionOfLinear(i)));
    }

    /** Sum of all elements as doubles; the contiguous native 'd' case reads the segment directly. */
    public double sum() {
        requireNumeric();
        checkOpen();
        if (nativeDoubles) {
            MemorySegment s = segment;
            long end = origin + itemCount() * 8;
            double acc = 0;
            try {
                for (long p = origin; p < end; p += 8) acc += s.get(F64_NATIVE, p);
            } catch (IllegalStateException e) {
                throw closed(e);
            }
            return acc;
        }
        double acc = 0;
        long n = itemCount();
        for (long i = 0; i < n; i++) acc += readDouble(positionOfLinear(i));
        return acc;
    }

    /**
     * A copy of all elements, as doubles, in C order.
     *
     * @throws UnsupportedOperationException if the format is not numeric, or a Java array cannot hold every element
     */
    public double[] copyToDoubleArray() {
        requireNumeric();
        checkOpen();
        double[] out = new double[arrayLength(itemCount())];
        if (nativeDoubles) {
            try {
                MemorySegment.copy(segment, F64_NATIVE, origin, out, 0, out.length);
            } catch (IllegalStateException e) {
                throw closed(e);
            }
            return out;
        }
        for (int i = 0; i < out.length; i++) out[i] = readDouble(positionOfLinear(i));
        return out;
    }

    /**
     * A copy of all elements, as longs, in C order (integer formats).
     *
     * @throws UnsupportedOperationException if the format is not an integer one, or a Java array cannot hold every element
     */
    public long[] copyToLongArray() {
        requireInteger();
        checkOpen();
        long[] out = new long[arrayLength(itemCount())];
        for (int i = 0; i < out.length; i++) out[i] = readLong(positionOfLinear(i));
        return out;
    }

    /**
     * A copy of the bytes in C order of elements (what {@code memoryview.tobytes()} returns).
     *
     * @throws UnsupportedOperationException if a Java array cannot hold every byte
     */
    public byte[] copyToByteArray() {
        checkOpen();
        long n = itemCount();
        byte[] out = new byte[arrayLength(n * elem)];   // n * elem <= len: exact
        try {
            if (cContiguous) {
                MemorySegment.copy(segment, ValueLayout.JAVA_BYTE, origin, out, 0, out.length);
                return out;
            }
            for (long i = 0; i < n; i++) {
                long pos = positionOfLinear(i);
                MemorySegment.copy(segmentAt(pos), ValueLayout.JAVA_BYTE, offsetAt(pos), out, (int) (i * elem), (int) elem);
            }
        } catch (IllegalStateException e) {
            throw closed(e);
        }
        return out;
    }

    // ---- lifetime ---------------------------------------------------------------------------------

    /** Whether {@link #close()} was called. */
    public boolean isClosed() { return !arena.scope().isAlive(); }

    /** Whether the view may be used and closed from any thread (see {@link PyObject#getBufferShared}). */
    public boolean isShared() { return shared; }

    /**
     * Releases the buffer ({@code PyBuffer_Release}); the segment is unusable from then on.
     * Idempotent. Takes the GIL; a shared view closed on a virtual thread (which may not take it)
     * is released on a platform thread the bridge keeps, and this returns once it is released.
     * When it throws, nothing changed: the view is still open.
     *
     * @throws WrongThreadException  for a view confined to another thread (the default): close it
     *         there, or take it with {@link PyObject#getBufferShared}
     * @throws IllegalStateException if a native call on another thread is using the segment right
     *         now (it was passed to a downcall); close the view once that call returned
     */
    @Override
    public void close() {
        if (!arena.scope().isAlive()) return;
        try {
            arena.close();
        } catch (WrongThreadException e) {
            throw new WrongThreadException("this PyBufferView is confined to the thread that took it; close it there, "
                    + "or take views used across threads with PyObject.getBufferShared");
        } catch (IllegalStateException e) {
            if (!arena.scope().isAlive()) return;   // closed concurrently: that close releases it
            throw new IllegalStateException("cannot close this PyBufferView while a native call on another thread "
                    + "uses its segment; close it once that call returned", e);
        }
        Handoff.run(release.cleanable::clean);      // virtual threads: on a platform thread, waited for
    }

    @Override
    public String toString() {
        return "PyBufferView[format=" + format() + ", itemsize=" + itemsize + ", shape=" + Arrays.toString(effShape)
                + ", strides=" + Arrays.toString(effStrides) + (readOnly ? ", read-only" : "")
                + (isClosed() ? ", closed" : "") + "]";
    }

    // ---- internals ----------------------------------------------------------------------------------

    private void checkOpen() {
        if (isClosed()) throw new IllegalStateException("view is closed");
    }

    /** The length of a Java array of n values, or a clear refusal when no array can hold them. */
    private static int arrayLength(long n) {
        if (n > Integer.MAX_VALUE - 8) {
            throw new UnsupportedOperationException("the buffer has " + n + " values, more than a Java array holds; "
                    + "read it through segment(), doubles() or longs()");
        }
        return (int) n;
    }

    private static IllegalStateException closed(IllegalStateException e) {
        return new IllegalStateException("view is closed", e);
    }

    /**
     * Where an element lives: its byte position within {@link #segment} or, for buffers with
     * suboffsets, an absolute address (read through {@link #segmentAt}).
     */
    private long positionOf(long[] index) {
        if (index.length != effShape.length) {
            throw new IllegalArgumentException("index has " + index.length + " dimensions, the buffer has " + effShape.length);
        }
        for (int i = 0; i < index.length; i++) {
            if (index[i] < 0 || index[i] >= effShape[i]) {
                throw new IndexOutOfBoundsException("index " + Arrays.toString(index) + " is outside shape "
                        + Arrays.toString(effShape));
            }
        }
        if (suboffsets != null) return pointerOf(index);
        long pos = origin;
        for (int i = 0; i < index.length; i++) pos += index[i] * effStrides[i];
        return pos;
    }

    /** The position of the linear-th element in C order; allocation-free unless there are suboffsets. */
    private long positionOfLinear(long linear) {
        if (cContiguous) return origin + linear * elem;
        if (suboffsets != null) {
            long[] idx = new long[effShape.length];
            for (int i = effShape.length - 1; i >= 0; i--) {
                idx[i] = linear % effShape[i];
                linear /= effShape[i];
            }
            return pointerOf(idx);
        }
        long pos = origin;
        for (int i = effShape.length - 1; i >= 0; i--) {
            long d = effShape[i];
            pos += (linear % d) * effStrides[i];
            linear /= d;
        }
        return pos;
    }

    /** PyBuffer_GetPointer: follow strides and, where given, suboffsets. Returns an absolute address. */
    private long pointerOf(long[] index) {
        checkOpen();
        long p = buf;
        for (int i = 0; i < index.length; i++) {
            p = address(p, index[i] * effStrides[i]);         // the product is exact: |index * stride| <= |span|
            if (suboffsets[i] >= 0) p = address(Mem.getLong(p), suboffsets[i]);
        }
        address(p, elem);
        return p;
    }

    /**
     * The segment a position is relative to: the view's segment, or (suboffsets) exactly one item
     * at that absolute address, still scoped to the view; read it at {@link #offsetAt}.
     */
    private MemorySegment segmentAt(long pos) {
        if (suboffsets == null) return segment;
        MemorySegment item = MemorySegment.ofAddress(pos).reinterpret(elem, arena, null);
        return readOnly ? item.asReadOnly() : item;
    }

    /** Where in {@link #segmentAt(long) segmentAt(pos)} the item at {@code pos} starts. */
    private long offsetAt(long pos) {
        return suboffsets == null ? pos : 0;
    }

    private long readLong(long pos) {
        MemorySegment s = segmentAt(pos);
        long o = offsetAt(pos);
        try {
            return switch (kind) {
                case K_I8, K_CHAR -> s.get(ValueLayout.JAVA_BYTE, o);
                case K_U8 -> s.get(ValueLayout.JAVA_BYTE, o) & 0xFFL;
                case K_BOOL -> s.get(ValueLayout.JAVA_BYTE, o) != 0 ? 1 : 0;
                case K_I16 -> s.get(l16, o);
                case K_U16 -> s.get(l16, o) & 0xFFFFL;
                case K_I32 -> s.get(l32, o);
                case K_U32 -> s.get(l32, o) & 0xFFFF_FFFFL;
                case K_I64, K_U64, K_PTR -> s.get(l64, o);
                case K_F16 -> (long) Float.float16ToFloat(s.get(l16, o));
                case K_F32 -> (long) s.get(f32, o);
                case K_F64 -> (long) s.get(f64, o);
                default -> throw notNumeric();
            };
        } catch (IllegalStateException e) {
            throw closed(e);
        }
    }

    private double readDouble(long pos) {
        MemorySegment s = segmentAt(pos);
        long o = offsetAt(pos);
        try {
            return switch (kind) {
                case K_F64 -> s.get(f64, o);
                case K_F32 -> s.get(f32, o);
                case K_F16 -> Float.float16ToFloat(s.get(l16, o));
                case K_U64 -> unsignedToDouble(s.get(l64, o));
                default -> readLong(pos);
            };
        } catch (IllegalStateException e) {
            throw closed(e);
        }
    }

    private void writeLong(long pos, long v) {
        MemorySegment s = segmentAt(pos);
        long o = offsetAt(pos);
        try {
            switch (kind) {
                case K_I8, K_U8 -> s.set(ValueLayout.JAVA_BYTE, o, (byte) v);
                case K_BOOL -> s.set(ValueLayout.JAVA_BYTE, o, (byte) (v != 0 ? 1 : 0));
                case K_I16, K_U16 -> s.set(l16, o, (short) v);
                case K_I32, K_U32 -> s.set(l32, o, (int) v);
                case K_I64, K_U64 -> s.set(l64, o, v);
                case K_F16 -> s.set(l16, o, Float.floatToFloat16((float) v));
                case K_F32 -> s.set(f32, o, (float) v);
                case K_F64 -> s.set(f64, o, (double) v);
                default -> throw notNumeric();
            }
        } catch (IllegalStateException e) {
            throw closed(e);
        }
    }

    private void writeDouble(long pos, double v) {
        MemorySegment s = segmentAt(pos);
        long o = offsetAt(pos);
        try {
            switch (kind) {
                case K_F64 -> s.set(f64, o, v);
                case K_F32 -> s.set(f32, o, (float) v);
                case K_F16 -> s.set(l16, o, Float.floatToFloat16((float) v));
                case K_BOOL -> s.set(ValueLayout.JAVA_BYTE, o, (byte) (v != 0 ? 1 : 0));
                default -> writeLong(pos, (long) v);
            }
        } catch (IllegalStateException e) {
            throw closed(e);
        }
    }

    private static double unsignedToDouble(long l) {
        return l >= 0 ? (double) l : (double) (l >>> 1) * 2.0 + (l & 1);
    }

    private UnsupportedOperationException notNumeric() {
        return new UnsupportedOperationException("format '" + format() + "' (itemsize " + itemsize
                + ") is not a single numeric type; use segment() for raw bytes");
    }

    private void requireNumeric() {
        if (kind == K_NONE || kind == K_CHAR || kind == K_PTR) throw notNumeric();
    }

    private void requireInteger() {
        requireNumeric();
        if (kind == K_F16 || kind == K_F32 || kind == K_F64) {
            throw new UnsupportedOperationException("format '" + format() + "' is floating point; use getAsDouble");
        }
    }

    private void requireWritable() {
        requireNumeric();
        if (readOnly) throw new UnsupportedOperationException("the buffer is read-only");
    }

    private void require(int k, String what) {
        if (kind != k) throw new UnsupportedOperationException("the buffer's format is '" + format() + "', not " + what);
    }

    private void requireSize(long n) {
        boolean integer = kind != K_NONE && kind != K_F16 && kind != K_F32 && kind != K_F64 && kind != K_PTR;
        if (!integer || elem != n) {
            throw new UnsupportedOperationException("the buffer's format is '" + format() + "' (itemsize " + itemsize
                    + "), not a " + n + "-byte integer");
        }
    }

    /** A layout no buffer can have: refused before any segment is made (the caller releases the buffer). */
    private static void malformed(String why) {
        throw new IllegalStateException("malformed buffer: " + why + "; refused (released, nothing read)");
    }

    /** Whether the product whose high and low words are given fits in a long. */
    private static boolean fits(long high, long low) {
        return high == (low >> 63);
    }

    private static long exactAdd(long a, long b, String what) {
        long r = a + b;
        if (((a ^ r) & (b ^ r)) < 0) malformed(what + " does not fit in a long");
        return r;
    }

    /**
     * {@code base + delta} as an unsigned address, refused as malformed if it wraps around the
     * address space (below 0 or past 2^64): a layout that does is not memory, whatever it claims.
     */
    private static long address(long base, long delta) {
        long r = base + delta;
        int c = Long.compareUnsigned(r, base);
        if (delta > 0 && c < 0 || delta < 0 && c > 0) {
            malformed("address 0x" + Long.toHexString(base) + (delta < 0 ? " - " + -delta : " + " + delta)
                    + " wraps around the address space");
        }
        return r;
    }

    private static boolean isC(long[] shape, long[] strides, long itemsize) {
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

    private static long[] longs(long address, int n) {
        if (address == 0) return null;
        long[] a = new long[n];
        for (int i = 0; i < n; i++) a[i] = Mem.getLong(address + 8L * i);
        return a;
    }
}
