package dev.panamapy;

import dev.panamapy.internal.ForeignBuffer;
import dev.panamapy.internal.Interpreter;
import dev.panamapy.internal.ViewItems;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.stream.DoubleStream;
import java.util.stream.LongStream;


/**
 * Java's view of a Python object's buffer (PEP 3118 {@code PyObject_GetBuffer}): numpy arrays,
 * bytearray, bytes, array.array, mmap, memoryview, pyarrow buffers, anything with
 * {@code __buffer__}. Owns exactly one {@code Py_buffer}; {@link #close()} releases it
 * ({@code PyBuffer_Release}, idempotent), and one never closed is released by a Cleaner that
 * takes the GIL, once neither the view nor any segment it handed out can be reached.
 *
 * <p>A view from {@link PyObject#dlpack()} is the same over a DLPack tensor (numpy, torch,
 * anything with {@code __dlpack__}): its format is the tensor's data type as a struct format
 * ({@code 'd'}, {@code 'i'}, {@code '?'}, {@code 'Zd'} ...), its strides are in bytes, it is
 * read-only when the producer flagged the tensor read-only, and {@link #close()} calls the
 * producer's deleter instead, exactly once.
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

    private final ForeignBuffer buffer;
    private final Arena arena;                 // the segment's scope: confined (default) or shared
    private final boolean shared;
    private final ViewItems items;             // the checked layout and its item engine

    private PyBufferView(ForeignBuffer buffer, Arena arena, boolean shared, ViewItems items) {
        this.buffer = buffer;
        this.arena = arena;
        this.shared = shared;
        this.items = items;
    }

    static PyBufferView of(PyObject obj, BufferRequest request, boolean shared) {
        return of(obj, request, shared, false);
    }

    /** A view of obj's buffer ({@code request}), or of its DLPack tensor ({@code dlpack}, request ignored). */
    static PyBufferView of(PyObject obj, BufferRequest request, boolean shared, boolean dlpack) {
        Interpreter interp = obj.interp;
        int g = interp.enter();
        try {
            ForeignBuffer buffer = dlpack ? ForeignBuffer.acquireTensor(interp, obj.address())
                    : ForeignBuffer.acquire(interp, obj.address(), request.flags());
            Arena arena = shared ? Arena.ofShared() : Arena.ofConfined();
            return new PyBufferView(buffer, arena, shared, buffer.read(arena));
        } finally {
            interp.exit(g);
        }
    }

    // ---- what it is ----------------------------------------------------------------------------
    //
    // In BufferSpec's vocabulary: spec() is the whole layout as one, and the accessors below
    // with a BufferSpec name mean what it means. format(), itemsize(), ndim(), byteLength() and
    // the has*() methods report the Py_buffer as the exporter filled it.

    /**
     * The bytes the buffer spans, bounded exactly (with suboffsets: the bytes addressed from
     * {@code buf}, pointers included, up to the first pointer followed); read-only if the buffer
     * is. Element [0, 0, ...] is at {@link #offset()}.
     *
     * @throws IllegalStateException after {@link #close()} ("view is closed")
     */
    public MemorySegment segment() { checkOpen(); return items.segment(); }

    /**
     * The view's layout over {@link #segment()}: its offset, format,
     * item size (as addressed: 1 for the bare bytes of a request without shape and format),
     * shape, strides, suboffsets and read-only flag are this view's. Checked (it lies in the
     * segment, by construction) when the format is a struct-module format of that item size and
     * there are no suboffsets (a {@link BufferSpec}); a {@link HarnessSpec} otherwise (numpy's
     * {@code 'Zd'}, PIL-style pointers that only the exporter vouches for). Made once, on first use.
     *
     * @throws IllegalStateException after {@link #close()} ("view is closed"): its segment would be unusable
     */
    public BufferLayout spec() { checkOpen(); return items.spec(); }

    /** Byte offset of element [0, 0, ...] within {@link #segment()} (non-zero for negative strides); {@link BufferSpec#offset()}. */
    public long offset() { return items.offset(); }

    /** The struct format; "B" when the exporter gave none. */
    public String format() { return items.format(); }

    /** Whether the exporter gave a format (false for requests without FORMAT). */
    public boolean hasFormat() { return items.hasFormat(); }

    /** {@code Py_buffer.itemsize} as the exporter gave it (without a shape, items are read as bytes). */
    public long itemsize() { return items.itemsize(); }

    /** {@code Py_buffer.len}: itemsize * product(shape). */
    public long byteLength() { return items.byteLength(); }

    /**
     * {@code Py_buffer.ndim} as the exporter gave it. It is the length of {@link #shape()} except
     * when the exporter gave no shape: numpy answers a SIMPLE request with {@code ndim = 0} for
     * a buffer that {@link #shape()} (and {@link #spec()}) read as {@code [len]} bytes.
     */
    public int ndim() { return items.ndim(); }

    /** The shape, or what it means when the exporter gave NULL ({@code [len]} bytes, or {@code [len / itemsize]} with a format). */
    public long[] shape() { return items.shape(); }

    /** The strides in bytes, or C-order strides when the exporter gave NULL. */
    public long[] strides() { return items.strides(); }

    /** The suboffsets, or null when the buffer has none. */
    public long[] suboffsets() { return items.suboffsets(); }

    /** Whether the exporter gave a shape array (false for SIMPLE requests). */
    public boolean hasShape() { return items.hasShape(); }

    /** Whether the exporter gave a strides array. */
    public boolean hasStrides() { return items.hasStrides(); }

    /** Whether Python marked the buffer read-only ({@link BufferSpec#isReadOnly()}); {@link #segment()} is then read-only. */
    public boolean isReadOnly() { return items.isReadOnly(); }

    /** The same as {@link #isReadOnly()}, under the name the design notes give it. */
    public boolean readOnly() { return items.isReadOnly(); }

    /** Whether the buffer is C-contiguous ({@link BufferSpec#isCContiguous()}). */
    public boolean isCContiguous() { return items.isCContiguous(); }

    /** Number of items: product of {@link #shape()} ({@link BufferSpec#itemCount()}). */
    public long itemCount() { return items.itemCount(); }

    // ---- typed access ----------------------------------------------------------------------------
    //
    // Every accessor turns an index into a byte position within segment() and lets the segment
    // check bounds and liveness: a closed view throws IllegalStateException("view is closed")
    // from closed(), never touches freed memory.

    /** The element at an index as a double, for any numeric format ('d', 'f', 'e', integers, '?'). */
    public double getAsDouble(long... index) { return items.getAsDouble(index); }

    /** The element at an index as a long, for integer formats ('b', 'B', 'h', ..., 'q', 'Q', '?'); unsigned
     *  formats read as their unsigned value (a 'Q' above {@code Long.MAX_VALUE} wraps negative). */
    public long getAsLong(long... index) { return items.getAsLong(index); }

    /** The 'd' element at an index. */
    public double getDouble(long... index) { return items.getDouble(index); }
    /** The 'f' element at an index. */
    public float getFloat(long... index) { return items.getFloat(index); }
    /** The 'q'/'Q'/'n'/'N' (or native 'l'/'L') element at an index. */
    public long getLong(long... index) { return items.getLong(index); }
    /** The 'i'/'I' (or standard 'l'/'L') element at an index. */
    public int getInt(long... index) { return items.getInt(index); }
    /** The 'h'/'H' element at an index. */
    public short getShort(long... index) { return items.getShort(index); }
    /** The 'b'/'B'/'c' element at an index. */
    public byte getByte(long... index) { return items.getByte(index); }

    /**
     * Writes a double to an element: stored as is in 'd', rounded in 'f'/'e', truncated toward
     * zero (then to the item size) in integer formats, as {@code != 0} in '?'.
     *
     * @throws UnsupportedOperationException if the buffer is read-only or not numeric
     */
    public void setDouble(double value, long... index) { items.setDouble(value, index); }

    /**
     * Writes a long to an element: truncated to the item size in integer formats, converted in
     * floating-point ones.
     *
     * @throws UnsupportedOperationException if the buffer is read-only or not numeric
     */
    public void setLong(long value, long... index) { items.setLong(value, index); }

    /** All elements as doubles, in logical (C) index order, read lazily from the buffer. */
    public DoubleStream doubles() { return items.doubles(); }

    /** All elements as longs, in logical (C) index order (integer formats). */
    public LongStream longs() { return items.longs(); }

    /** Sum of all elements as doubles; the contiguous native 'd' case reads the segment directly. */
    public double sum() { return items.sum(); }

    /**
     * A copy of all elements, as doubles, in C order.
     *
     * @throws UnsupportedOperationException if the format is not numeric, or a Java array cannot hold every element
     */
    public double[] copyToDoubleArray() { return items.copyToDoubleArray(); }

    /**
     * A copy of all elements, as longs, in C order (integer formats).
     *
     * @throws UnsupportedOperationException if the format is not an integer one, or a Java array cannot hold every element
     */
    public long[] copyToLongArray() { return items.copyToLongArray(); }

    /**
     * A copy of the bytes in C order of elements (what {@code memoryview.tobytes()} returns).
     *
     * @throws UnsupportedOperationException if a Java array cannot hold every byte
     */
    public byte[] copyToByteArray() { return items.copyToByteArray(); }

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
        buffer.release();                           // virtual threads: on a platform thread, waited for
    }

    @Override
    public String toString() {
        return "PyBufferView[format=" + format() + ", itemsize=" + itemsize() + ", shape=" + Arrays.toString(items.shape())
                + ", strides=" + Arrays.toString(items.strides()) + (isReadOnly() ? ", read-only" : "")
                + (isClosed() ? ", closed" : "") + "]";
    }

    private void checkOpen() {
        if (isClosed()) throw new IllegalStateException("view is closed");
    }
}
