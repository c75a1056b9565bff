package dev.panamapy;

import dev.panamapy.internal.Errors;
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
 * takes the GIL.
 *
 * <p>{@link #segment()} spans exactly the bytes the buffer can address and is read-only when
 * the buffer is; after {@link #close()} touching it throws {@link IllegalStateException}
 * ("view is closed"), never crashes. Typed accessors follow shape, strides, suboffsets and the
 * format's byte order; the only copies are the methods whose names say {@code copy}.
 *
 * <p>Reading or writing the memory needs no GIL, but Python code may mutate or resize nothing
 * under a live view: exporters such as bytearray refuse resizing while exported.
 */
public final class PyBufferView implements AutoCloseable {

    private final Interpreter interp;
    private final Release release;
    private final MemorySegment segment;       // bounded to the span; scoped to the view
    private final long buf;                    // Py_buffer.buf
    private final long spanStart;              // address segment() starts at
    private final long len;
    private final long itemsize;
    private final boolean readOnly;
    private final int ndim;
    private final String format;               // null when the exporter gave none ("B")
    private final long[] shape;                // as given (null if NULL)
    private final long[] strides;              // as given (null if NULL)
    private final long[] suboffsets;           // as given (null if NULL)
    private final long[] effShape, effStrides; // what memoryview would use
    private final boolean cContiguous;
    private final ValueLayout element;         // layout of one item for single-code formats, else null
    private final char code;

    private PyBufferView(Interpreter interp, Release release, MemorySegment pyBuffer) {
        this.interp = interp;
        this.release = release;
        long v = pyBuffer.address();
        buf = Mem.getLong(v + PyBufferLayout.BUF);
        len = Mem.getLong(v + PyBufferLayout.LEN);
        itemsize = Mem.getLong(v + PyBufferLayout.ITEMSIZE);
        readOnly = Mem.getInt(v + PyBufferLayout.READONLY) != 0;
        ndim = Mem.getInt(v + PyBufferLayout.NDIM);
        format = Mem.cString(Mem.getLong(v + PyBufferLayout.FORMAT));
        shape = longs(Mem.getLong(v + PyBufferLayout.SHAPE), ndim);
        strides = longs(Mem.getLong(v + PyBufferLayout.STRIDES), ndim);
        suboffsets = longs(Mem.getLong(v + PyBufferLayout.SUBOFFSETS), ndim);
        // memoryview's reading of a Py_buffer: no shape means 1-D of len/itemsize, no strides means C order
        effShape = shape != null ? shape : ndim == 0 ? new long[0] : new long[]{itemsize == 0 ? 0 : len / itemsize};
        effStrides = strides != null ? strides : BufferSpec.cStrides(effShape, itemsize);
        long lo = 0, hi = 0, count = 1;
        for (int i = 0; i < effShape.length; i++) {
            count *= effShape[i];
            if (effShape[i] == 0) continue;
            long span = (effShape[i] - 1) * effStrides[i];
            if (span < 0) lo += span; else hi += span;
        }
        if (count == 0) { lo = 0; hi = -itemsize; }
        spanStart = buf + lo;
        long spanLen = suboffsets != null ? Math.max(len, hi - lo + itemsize) : hi - lo + itemsize;
        MemorySegment s = MemorySegment.ofAddress(spanStart).reinterpret(Math.max(0, spanLen), release.scope, null);
        segment = readOnly ? s.asReadOnly() : s;
        cContiguous = suboffsets == null && isC(effShape, effStrides, itemsize);
        char single = 0;
        ValueLayout el = null;
        String f = format == null ? "B" : format;
        try {
            StructFormat sf = StructFormat.parse(f);
            single = sf.singleCode();
            if (single != 0 && sf.itemsize() == itemsize) el = layoutFor(single, sf.byteOrder());
            else single = 0;
        } catch (IllegalArgumentException e) {
            single = 0;    // a format beyond struct's (numpy's 'Zd', 'T{...}'): bytes only
        }
        code = single;
        element = el;
    }

    static PyBufferView of(PyObject obj, BufferRequest request) {
        Interpreter interp = obj.interp;
        int g = interp.enter();
        try {
            Release r = new Release(interp);
            int rc = PyObject_GetBuffer(obj.ptr(), r.pyBuffer, request.flags());
            if (rc != 0) {
                r.scope.close();
                throw Errors.fetch(interp.c);
            }
            r.acquired = true;
            PyBufferView view = new PyBufferView(interp, r, r.pyBuffer);
            r.cleanable = Ownership.register(view, r);
            return view;
        } finally {
            interp.exit(g);
        }
    }

    /** Releases the Py_buffer exactly once: explicitly or from the Cleaner. Refers not to the view. */
    private static final class Release implements Runnable {
        final Interpreter interp;
        final MemorySegment pyBuffer = Arena.ofAuto().allocate(PyBufferLayout.SIZE, 8);
        final Arena scope = Arena.ofShared();
        volatile boolean acquired;
        java.lang.ref.Cleaner.Cleanable cleanable;
        private boolean done;

        Release(Interpreter interp) { this.interp = interp; }

        @Override
        public synchronized void run() {
            if (done) return;
            done = true;
            scope.close();                          // the segment is unusable from here on
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

    /** The bytes the buffer spans, bounded exactly; read-only if the buffer is. Invalid after close. */
    public MemorySegment segment() { checkOpen(); return segment; }

    /** Byte offset of element [0, 0, ...] within {@link #segment()} (non-zero for negative strides). */
    public long origin() { return buf - spanStart; }

    /** The struct format; "B" when the exporter gave none. */
    public String format() { return format == null ? "B" : format; }

    /** Whether the exporter gave a format (false for requests without FORMAT). */
    public boolean hasFormat() { return format != null; }

    /** {@code Py_buffer.itemsize}. */
    public long itemsize() { return itemsize; }

    /** {@code Py_buffer.len}: itemsize * product(shape). */
    public long byteLength() { return len; }

    /** {@code Py_buffer.ndim}. */
    public int ndim() { return ndim; }

    /** The shape, or what it means when the exporter gave NULL ({@code [len / itemsize]}). */
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

    /** The element at an index as a double, for any numeric format ('d', 'f', 'e', integers, '?'). */
    public double getAsDouble(long... index) {
        long off = offsetOf(index);
        return readAsDouble(off);
    }

    /** The element at an index as a long, for integer formats ('b', 'B', 'h', ..., 'q', 'Q', '?'). */
    public long getAsLong(long... index) {
        return readAsLong(offsetOf(index));
    }

    /** The 'd' element at an index. */
    public double getDouble(long... index) { require('d'); return read(offsetOf(index)).doubleValue(); }
    /** The 'f' element at an index. */
    public float getFloat(long... index) { require('f'); return read(offsetOf(index)).floatValue(); }
    /** The 'q'/'Q'/'n'/'N' (or native 'l'/'L') element at an index. */
    public long getLong(long... index) { requireSize(8); return readAsLong(offsetOf(index)); }
    /** The 'i'/'I' (or standard 'l'/'L') element at an index. */
    public int getInt(long... index) { requireSize(4); return (int) readAsLong(offsetOf(index)); }
    /** The 'h'/'H' element at an index. */
    public short getShort(long... index) { requireSize(2); return (short) readAsLong(offsetOf(index)); }
    /** The 'b'/'B'/'c' element at an index. */
    public byte getByte(long... index) { requireSize(1); return (byte) readAsLong(offsetOf(index)); }

    /** Writes a double to a 'd' or 'f' element (or any numeric format, converted as numpy casts). */
    public void setDouble(double value, long... index) { write(offsetOf(index), value); }
    /** Writes a long to an integer element (truncated to the item size). */
    public void setLong(long value, long... index) { write(offsetOf(index), value); }

    /** All elements as doubles, in logical (C) index order, read lazily from the buffer. */
    public DoubleStream doubles() {
        requireNumeric();
        long n = itemCount();
        if (cContiguous && code == 'd' && element.order() == ByteOrder.nativeOrder()) {
            MemorySegment s = segment();
            return LongStream.range(0, n).mapToDouble(i -> {
                try { return s.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i); }
                catch (IllegalStateException e) { throw closed(e); }
            });
        }
        return LongStream.range(0, n).mapToDouble(i -> readAsDouble(offsetOfLinear(i)));
    }

    /** All elements as longs, in logical (C) index order (integer formats). */
    public LongStream longs() {
        requireNumeric();
        return LongStream.range(0, itemCount()).map(i -> readAsLong(offsetOfLinear(i)));
    }

    /** Sum of all elements as doubles; the contiguous native 'd' case reads the segment directly. */
    public double sum() {
        if (cContiguous && code == 'd' && element.order() == ByteOrder.nativeOrder()) {
            MemorySegment s = segment();
            long n = itemCount();
            double acc = 0;
            try {
                for (long i = 0; i < n; i++) acc += s.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i);
            } catch (IllegalStateException e) {
                throw closed(e);
            }
            return acc;
        }
        return doubles().sum();
    }

    /** A copy of all elements, as doubles, in C order. */
    public double[] copyToDoubleArray() { return doubles().toArray(); }

    /** A copy of all elements, as longs, in C order. */
    public long[] copyToLongArray() { return longs().toArray(); }

    /** A copy of the bytes in C order of elements (what {@code memoryview.tobytes()} returns). */
    public byte[] copyToByteArray() {
        long n = itemCount();
        byte[] out = new byte[Math.toIntExact(n * itemsize)];
        if (cContiguous) {
            MemorySegment.copy(segment(), ValueLayout.JAVA_BYTE, origin(), out, 0, out.length);
            return out;
        }
        for (long i = 0; i < n; i++) {
            long off = offsetOfLinear(i);
            MemorySegment.copy(raw(off, itemsize), ValueLayout.JAVA_BYTE, 0, out, (int) (i * itemsize), (int) itemsize);
        }
        return out;
    }

    // ---- lifetime ---------------------------------------------------------------------------------

    /** Whether {@link #close()} was called. */
    public boolean isClosed() { return !release.scope.scope().isAlive(); }

    /** Releases the buffer ({@code PyBuffer_Release}). Idempotent. */
    @Override
    public void close() { release.cleanable.clean(); }

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

    private static IllegalStateException closed(IllegalStateException e) {
        return new IllegalStateException("view is closed", e);
    }

    /** Byte offset, relative to buf, of an element; follows suboffsets (then absolute: see raw). */
    private long offsetOf(long[] index) {
        checkOpen();
        if (index.length != effShape.length) {
            throw new IllegalArgumentException("index has " + index.length + " dimensions, the buffer has " + effShape.length);
        }
        if (suboffsets != null) return pointerOf(index) - buf;
        long off = 0;
        for (int i = 0; i < index.length; i++) {
            if (index[i] < 0 || index[i] >= effShape[i]) {
                throw new IndexOutOfBoundsException("index " + Arrays.toString(index) + " is outside shape "
                        + Arrays.toString(effShape));
            }
            off += index[i] * effStrides[i];
        }
        return off;
    }

    private long offsetOfLinear(long linear) {
        long[] idx = new long[effShape.length];
        for (int i = effShape.length - 1; i >= 0; i--) {
            long d = effShape[i];
            idx[i] = linear % d;
            linear /= d;
        }
        return offsetOf(idx);
    }

    /** PyBuffer_GetPointer: follow strides and, where given, suboffsets. */
    private long pointerOf(long[] index) {
        long p = buf;
        for (int i = 0; i < index.length; i++) {
            if (index[i] < 0 || index[i] >= effShape[i]) {
                throw new IndexOutOfBoundsException("index " + Arrays.toString(index) + " is outside shape "
                        + Arrays.toString(effShape));
            }
            p += index[i] * effStrides[i];
            if (suboffsets[i] >= 0) p = Mem.getLong(p) + suboffsets[i];
        }
        return p;
    }

    /** A segment of n bytes at buf+off: bounded by the view's segment unless suboffsets make that impossible. */
    private MemorySegment raw(long off, long n) {
        try {
            if (suboffsets == null) return segment.asSlice(buf - spanStart + off, n);
            return MemorySegment.ofAddress(buf + off).reinterpret(n, release.scope, null);
        } catch (IllegalStateException e) {
            throw closed(e);
        }
    }

    private Number read(long off) {
        if (element == null) throw new UnsupportedOperationException("format '" + format() + "' is not a single primitive");
        MemorySegment s = raw(off, itemsize);
        try {
            return switch (element) {
                case ValueLayout.OfDouble d -> s.get(d, 0);
                case ValueLayout.OfFloat f -> s.get(f, 0);
                case ValueLayout.OfLong l -> s.get(l, 0);
                case ValueLayout.OfInt i -> s.get(i, 0);
                case ValueLayout.OfShort h -> code == 'e' ? (Number) Float.float16ToFloat(s.get(h, 0)) : s.get(h, 0);
                case ValueLayout.OfByte b -> s.get(b, 0);
                case ValueLayout.OfBoolean z -> s.get(z, 0) ? 1 : 0;
                default -> throw new UnsupportedOperationException("format '" + format() + "'");
            };
        } catch (IllegalStateException e) {
            throw closed(e);
        }
    }

    private double readAsDouble(long off) {
        requireNumeric();
        Number n = read(off);
        return unsigned() ? unsignedToDouble(n) : n.doubleValue();
    }

    private long readAsLong(long off) {
        requireNumeric();
        if (code == 'd' || code == 'f' || code == 'e') {
            throw new UnsupportedOperationException("format '" + format() + "' is floating point; use getAsDouble");
        }
        Number n = read(off);
        return unsigned() ? unsignedToLong(n) : n.longValue();
    }

    private void write(long off, Number value) {
        if (readOnly) throw new UnsupportedOperationException("the buffer is read-only");
        requireNumeric();
        MemorySegment s = raw(off, itemsize);
        try {
            switch (element) {
                case ValueLayout.OfDouble d -> s.set(d, 0, value.doubleValue());
                case ValueLayout.OfFloat f -> s.set(f, 0, value.floatValue());
                case ValueLayout.OfLong l -> s.set(l, 0, value.longValue());
                case ValueLayout.OfInt i -> s.set(i, 0, value.intValue());
                case ValueLayout.OfShort h -> s.set(h, 0,
                        code == 'e' ? Float.floatToFloat16(value.floatValue()) : value.shortValue());
                case ValueLayout.OfByte b -> s.set(b, 0, value.byteValue());
                case ValueLayout.OfBoolean z -> s.set(z, 0, value.doubleValue() != 0);
                default -> throw new UnsupportedOperationException("format '" + format() + "'");
            }
        } catch (IllegalStateException e) {
            throw closed(e);
        }
    }

    private boolean unsigned() {
        return code == 'B' || code == 'H' || code == 'I' || code == 'L' || code == 'Q' || code == 'N';
    }

    private static double unsignedToDouble(Number n) {
        return switch (n) {
            case Byte b -> Byte.toUnsignedInt(b);
            case Short s -> Short.toUnsignedInt(s);
            case Integer i -> Integer.toUnsignedLong(i);
            case Long l -> l >= 0 ? (double) l : (double) (l >>> 1) * 2.0 + (l & 1);
            default -> n.doubleValue();
        };
    }

    private static long unsignedToLong(Number n) {
        return switch (n) {
            case Byte b -> Byte.toUnsignedLong(b);
            case Short s -> Short.toUnsignedLong(s);
            case Integer i -> Integer.toUnsignedLong(i);
            default -> n.longValue();
        };
    }

    private void requireNumeric() {
        if (element == null || code == 'c' || code == 'P') {
            throw new UnsupportedOperationException("format '" + format() + "' is not a single numeric type; "
                    + "use segment() for raw bytes");
        }
    }

    private void require(char c) {
        if (code != c) throw new UnsupportedOperationException("the buffer's format is '" + format() + "', not '" + c + "'");
    }

    private void requireSize(long n) {
        if (element == null || itemsize != n || code == 'd' || code == 'f' || code == 'e') {
            throw new UnsupportedOperationException("the buffer's format is '" + format() + "' (itemsize " + itemsize
                    + "), not a " + n + "-byte integer");
        }
    }

    private static ValueLayout layoutFor(char code, ByteOrder order) {
        ValueLayout l = switch (code) {
            case 'd' -> ValueLayout.JAVA_DOUBLE_UNALIGNED;
            case 'f' -> ValueLayout.JAVA_FLOAT_UNALIGNED;
            case 'q', 'Q', 'n', 'N', 'P' -> ValueLayout.JAVA_LONG_UNALIGNED;
            case 'l', 'L' -> null;   // size depends on mode; decided by the caller's itemsize below
            case 'i', 'I' -> ValueLayout.JAVA_INT_UNALIGNED;
            case 'h', 'H', 'e' -> ValueLayout.JAVA_SHORT_UNALIGNED;
            case 'b', 'B', 'c' -> ValueLayout.JAVA_BYTE;
            case '?' -> ValueLayout.JAVA_BOOLEAN;
            default -> null;
        };
        return l == null ? null : l.withOrder(order);
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
