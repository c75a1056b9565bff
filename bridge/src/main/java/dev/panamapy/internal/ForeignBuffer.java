package dev.panamapy.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.Cleaner;

import static dev.panamapy.bindings.Python_h.PyBuffer_Release;
import static dev.panamapy.bindings.Python_h.PyObject_GetBuffer;

/**
 * One {@code Py_buffer} Java took from a Python object for a {@code PyBufferView}: acquired
 * with {@code PyObject_GetBuffer} and released with {@code PyBuffer_Release} exactly once,
 * explicitly ({@link #release()}) or by the Cleaner once nothing can reach the view's arena
 * (the view and every segment it handed out refer to it). Refers to neither view nor arena,
 * so that it can watch them.
 *
 * <p>A DLPack import ({@link DLPackImport}) is the same with another release: its
 * {@code Py_buffer} is made by Java from the producer's tensor, and releasing it calls the
 * producer's deleter instead of {@code PyBuffer_Release}.
 */
public final class ForeignBuffer implements Runnable {
    private final Interpreter interp;
    final MemorySegment pyBuffer = Arena.ofAuto().allocate(PyBufferLayout.SIZE, 8);
    private volatile boolean acquired;
    private long dlDeleter, dlManaged;        // a DLPack import: the producer's deleter and its argument
    @SuppressWarnings("unused")               // kept reachable: the Py_buffer's format, shape and strides
    private MemorySegment tensorArrays;
    private Cleaner.Cleanable cleanable;
    private boolean done;

    private ForeignBuffer(Interpreter interp) { this.interp = interp; }

    /**
     * Takes obj's DLPack tensor ({@code __dlpack__}) as a buffer. Requires the GIL.
     *
     * @throws IllegalArgumentException if obj is no CPU DLPack producer of a data type Java reads
     * @throws IllegalStateException    if the producer's tensor is malformed
     * @throws dev.panamapy.PythonException if {@code __dlpack__} raises
     */
    public static ForeignBuffer acquireTensor(Interpreter interp, long obj) {
        return DLPackImport.acquire(interp, obj);
    }

    /** An empty buffer for {@link DLPackImport} to fill; {@link #adoptTensor} makes it released by a deleter. */
    static ForeignBuffer forTensor(Interpreter interp) { return new ForeignBuffer(interp); }

    /** From now on this buffer owns a DLPack tensor: release calls {@code deleter(managed)} (if deleter is not 0) once. */
    void adoptTensor(long deleter, long managed, MemorySegment arrays) {
        tensorArrays = arrays;
        dlDeleter = deleter;
        dlManaged = managed;
        acquired = true;
    }

    /**
     * Takes {@code obj}'s buffer with the request flags. Requires the GIL.
     *
     * @throws dev.panamapy.PythonException (BufferError, TypeError) if the object cannot give such a buffer
     */
    public static ForeignBuffer acquire(Interpreter interp, long obj, int flags) {
        ForeignBuffer b = new ForeignBuffer(interp);
        int rc = PyObject_GetBuffer(Mem.ptr(obj), b.pyBuffer, flags);
        if (rc != 0) throw Errors.fetch(interp.c);
        b.acquired = true;
        return b;
    }

    /**
     * Reads the buffer's layout, its segment scoped to {@code arena}, and from then on releases
     * the buffer once nothing reaches the arena's scope.
     *
     * @throws IllegalStateException if the layout is malformed: the arena is closed and the
     *         buffer released before this throws, nothing is read
     */
    public ViewItems read(Arena arena) {
        ViewItems items;
        try {
            items = new ViewItems(pyBuffer.address(), arena);
        } catch (RuntimeException | Error e) {
            arena.close();
            run();                                  // a Py_buffer we cannot describe is still released
            throw e;
        }
        // The Cleaner watches the arena's scope, which the view and every segment it handed out
        // refer to: the buffer is released only when none of them can be reached any more.
        cleanable = Ownership.register(arena.scope(), this);
        return items;
    }

    /** Releases the buffer now (idempotent); a virtual thread hands it to a platform thread and waits. */
    public void release() {
        Handoff.run(cleanable::clean);
    }

    @Override
    public synchronized void run() {
        if (done) return;
        done = true;
        if (!acquired) return;
        int g = interp.tryEnter();
        if (g == -1) return;                    // interpreter gone: so is the exporter
        try {
            if (dlManaged != 0) {
                if (dlDeleter != 0) DLPack.callDeleter(dlDeleter, dlManaged);
            } else {
                PyBuffer_Release(pyBuffer);
            }
        } finally {
            interp.exit(g);
        }
    }
}
