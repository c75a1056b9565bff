package dev.panamapy.internal;

import dev.panamapy.BufferLayout;
import dev.panamapy.HarnessSpec;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

import static dev.panamapy.bindings.Python_h.PyMem_Free;
import static dev.panamapy.bindings.Python_h.PyMem_Malloc;

/**
 * The native form of one exported view, and the one place that writes a {@code Py_buffer}:
 * {@link #fill} sets all 11 fields, for static and dynamic exports alike. Made once per static
 * spec (by {@link ExportState} when the object is made) and once per dynamic view (when the
 * request is accepted); everything {@code getbuffer} copies into the {@code Py_buffer} is worked
 * out here, so filling only copies.
 *
 * <p>Format, shape, strides and suboffsets are C arrays in one PyMem block; 0 for NULL.
 * Allocated and freed under the GIL: {@link #free()} when the object (or, dynamic, the view) is gone.
 */
final class NativeView {
    private final long memory;        // the PyMem block
    private final long buf, len, itemsize;
    private final int readOnly, ndim;
    private final long format, suboffsets;
    private final long shape, strides;  // what a request that asks for them gets; 0: NULL
    /** What the exporter handed out (dynamic views: given back to its releaseBuffer). */
    final BufferLayout source;

    private NativeView(long memory, BufferLayout s, long len, long format, long shape, long strides, long suboffsets) {
        this.memory = memory;
        this.source = s;
        this.buf = s.segment().address() + s.offset();
        this.len = len;
        this.itemsize = s.itemsize();
        this.readOnly = s.isReadOnly() ? 1 : 0;
        this.ndim = s.ndim();
        this.format = format;
        HarnessSpec harness = s instanceof HarnessSpec h ? h : null;      // the one place a view reads its knobs
        this.shape = harness != null && harness.hasNullShape() ? 0 : shape;
        this.strides = harness != null && harness.hasNullStrides() ? 0 : strides;
        this.suboffsets = suboffsets;
    }

    /**
     * Copies the spec's arrays to native memory; a {@link HarnessSpec}'s NULL shape or strides
     * are decided here, once. Requires the GIL.
     *
     * @param len {@code Py_buffer.len}, worked out by the caller before anything was taken
     */
    // sizes cannot overflow: n is an int (array lengths), so 3 * 8 * n + format + 1 < 2^37
    static NativeView of(BufferLayout spec, long len) {
        String f = spec.format();
        byte[] fmt = f == null ? new byte[0] : f.getBytes(StandardCharsets.US_ASCII);
        int ndim = spec.ndim();
        long[] shape = spec.shape(), strides = spec.strides(), sub = spec.suboffsets();
        int n = Math.max(ndim, Math.max(strides.length, sub == null ? 0 : sub.length));
        long arrays = 8L * n;
        long size = arrays * 3 + fmt.length + 1;
        long base = PyMem_Malloc(size).address();
        if (base == 0) throw new OutOfMemoryError("PyMem_Malloc(" + size + ") failed");
        MemorySegment m = MemorySegment.ofAddress(base).reinterpret(size);
        m.fill((byte) 0);
        for (int i = 0; i < shape.length; i++) m.setAtIndex(ValueLayout.JAVA_LONG, i, shape[i]);
        for (int i = 0; i < strides.length; i++) m.set(ValueLayout.JAVA_LONG, arrays + 8L * i, strides[i]);
        if (sub != null) for (int i = 0; i < sub.length; i++) m.set(ValueLayout.JAVA_LONG, 2 * arrays + 8L * i, sub[i]);
        MemorySegment.copy(fmt, 0, m, ValueLayout.JAVA_BYTE, 3 * arrays, fmt.length);
        boolean scalar = ndim == 0;
        return new NativeView(base, spec, len, f == null ? 0 : base + 3 * arrays,
                scalar ? 0 : base, scalar ? 0 : base + arrays, sub == null ? 0 : base + 2 * arrays);
    }

    /** Whether the view has suboffsets (a PIL-style indirect view). */
    boolean hasSuboffsets() { return suboffsets != 0; }

    /**
     * Fills all 11 fields of the {@code Py_buffer} for a request the rules accepted, and takes
     * the new reference {@code obj} holds. Requires the GIL.
     *
     * @param self     the exporting object ({@code obj})
     * @param internal {@code Py_buffer.internal}: the view's slot + 1, 0 if untracked
     */
    void fill(long view, long self, int flags, long internal) {
        boolean shape = BufferRules.giveShape(flags);
        Mem.putLong(view + PyBufferLayout.BUF, buf);
        Refcount.incref(self);
        Mem.putLong(view + PyBufferLayout.OBJ, self);
        Mem.putLong(view + PyBufferLayout.LEN, len);
        Mem.putLong(view + PyBufferLayout.ITEMSIZE, itemsize);
        Mem.putInt(view + PyBufferLayout.READONLY, readOnly);
        Mem.putInt(view + PyBufferLayout.NDIM, shape ? ndim : 1);
        Mem.putLong(view + PyBufferLayout.FORMAT, BufferRules.giveFormat(flags) ? format : 0);
        Mem.putLong(view + PyBufferLayout.SHAPE, shape ? this.shape : 0);
        Mem.putLong(view + PyBufferLayout.STRIDES, BufferRules.giveStrides(flags) ? strides : 0);
        Mem.putLong(view + PyBufferLayout.SUBOFFSETS, suboffsets);
        Mem.putLong(view + PyBufferLayout.INTERNAL, internal);
    }

    /** Frees the native arrays. Requires the GIL; once. */
    void free() {
        PyMem_Free(Mem.ptr(memory));
    }
}
