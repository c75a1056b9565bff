package dev.panamapy.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.stream.DoubleStream;
import java.util.stream.LongStream;

/**
 * Typed access to the items of a {@link ViewLayout} ({@code PyBufferView}'s item engine, whose
 * public methods document these): an index becomes a byte position in the segment (or, with
 * suboffsets, an address reached through the exporter's pointers), and the item is read or
 * written by its struct code and byte order. It lets the segment check bounds and liveness,
 * and turns a closed scope into "view is closed" in one place ({@link #closed}).
 */
public final class ViewItems extends ViewLayout {

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

    /** Reads and checks the {@code Py_buffer} at {@code pyBuffer} (see {@link ViewLayout}); the segment is scoped to {@code arena}. */
    public ViewItems(long pyBuffer, Arena arena) {
        super(pyBuffer, arena);
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

    // ---- typed access ----------------------------------------------------------------------------
    //
    // Every accessor turns an index into a byte position within segment() and lets the segment
    // check bounds and liveness: a closed view throws IllegalStateException("view is closed")
    // from closed(), never touches freed memory. PyBufferView documents each method.

    public double getAsDouble(long... index) { requireNumeric(); return readDouble(positionOf(index)); }

    public long getAsLong(long... index) { requireInteger(); return readLong(positionOf(index)); }

    public double getDouble(long... index) { require(K_F64, "a 'd' (float64)"); return readDouble(positionOf(index)); }
    public float getFloat(long... index) { require(K_F32, "an 'f' (float32)"); return (float) readDouble(positionOf(index)); }
    public long getLong(long... index) { requireSize(8); return readLong(positionOf(index)); }
    public int getInt(long... index) { requireSize(4); return (int) readLong(positionOf(index)); }
    public short getShort(long... index) { requireSize(2); return (short) readLong(positionOf(index)); }
    public byte getByte(long... index) { requireSize(1); return (byte) readLong(positionOf(index)); }

    public void setDouble(double value, long... index) { requireWritable(); writeDouble(positionOf(index), value); }

    public void setLong(long value, long... index) { requireWritable(); writeLong(positionOf(index), value); }

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

    public LongStream longs() {
        requireInteger();
        checkOpen();
        return LongStream.range(0, itemCount()).map(i -> readLong(positionOfLinear(i)));
    }

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

    public long[] copyToLongArray() {
        requireInteger();
        checkOpen();
        long[] out = new long[arrayLength(itemCount())];
        for (int i = 0; i < out.length; i++) out[i] = readLong(positionOfLinear(i));
        return out;
    }

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

}
