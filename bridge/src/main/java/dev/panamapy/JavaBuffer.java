package dev.panamapy;

import dev.panamapy.internal.ExportState;
import dev.panamapy.internal.ExportTable;
import dev.panamapy.internal.Handoff;
import dev.panamapy.internal.Interpreter;
import dev.panamapy.internal.ObjectProtocol;

import java.time.Duration;
import java.util.Objects;
import java.util.function.IntConsumer;

/**
 * Java memory exported to Python: a {@code panamapy.JavaBuffer} object, and its Java handle.
 * Pass it to Python as an argument or global; {@code memoryview(buf)}, {@code numpy.asarray(buf)}
 * and any PEP 3118 consumer then read (and, unless read-only, write) the memory in place.
 *
 * <p><b>Lifetime.</b> Every view Python takes holds the Python object, and the Python object
 * keeps the memory of every view it handed out (a static spec's from the start, a dynamic
 * {@link BufferExporter}'s from its first view of it) until the object itself is gone, not only
 * until the last view is released: a consumer may keep the object and a raw pointer after
 * releasing its view (numpy before 1.22.4 did so in {@code frombuffer}). What "keeps" can mean
 * depends on who frees the memory, which the bridge decides only from what it can prove:
 * <ul>
 *   <li><b>{@link CPython#arena()}</b>: the bridge frees it. Its memory is freed when the arena
 *       is closed and the last Python object that exported it is gone, in whichever order, and
 *       exactly once. {@link #close()} works while views live; {@link CPython#exportUntracked}
 *       accepts it. Use it when you cannot know when Python lets go.</li>
 *   <li><b>Everything else is your memory</b>: your own confined or shared arena,
 *       {@code Arena.ofAuto()}, {@code Arena.global()}, a direct {@code ByteBuffer} through
 *       {@code MemorySegment.ofBuffer}, {@code MemorySegment.ofAddress(p).reinterpret(n)}. The
 *       bridge cannot tell these apart (no public JDK API tells an automatic scope from one that
 *       {@code close()} ends, and raw addresses share the global arena's scope), so it promises
 *       nothing about them: {@link #close()} refuses (naming the live views) while Python holds
 *       a view, a view requested after the segment's scope is closed raises {@code BufferError},
 *       and {@link CPython#exportUntracked} refuses such memory. The export keeps the segment
 *       and its scope reachable while the Python object lives, which by the JDK's rules keeps
 *       {@code Arena.ofAuto()} and {@code ofBuffer} memory allocated. Freeing it yourself
 *       (closing the arena, freeing the address or buffer) while Python holds a view, or while
 *       a consumer that released its view early still holds the object, is a use-after-free
 *       the bridge cannot prevent.</li>
 * </ul>
 *
 * <p><b>DLPack.</b> The Python object also speaks the array API's DLPack protocol
 * ({@code __dlpack__(*, stream=None, max_version=None, dl_device=None, copy=None)} and
 * {@code __dlpack_device__()}), so {@code numpy.from_dlpack(buf)} and {@code torch.from_dlpack(buf)}
 * share the memory too. Numeric formats only (integers, floats, {@code '?'}, {@code 'Zf'}/{@code 'Zd'},
 * native byte order), any strides that are whole items. A read-only buffer is refused
 * ({@code BufferError}) to every DLPack consumer, because consumers may ignore the tensor's
 * read-only flag (torch does) and write to it; share it through the buffer protocol instead
 * ({@code memoryview(buf)}, {@code numpy.asarray(buf)}), which keeps it read-only. Each tensor
 * holds one view of this object until its deleter runs, so it counts in {@link #exportCount()}.
 *
 * <p>{@link #close()} stops new exports and drops Java's reference; existing views stay valid.
 * Any thread may use this handle; methods take the GIL where they need it.
 *
 * <p><b>Python cannot tamper with it.</b> The object's type cannot be changed
 * ({@code obj.__class__ = ...} is a TypeError), nor can Python create instances, copy or pickle
 * them; from CPython 3.10 on the types are immutable. On 3.9, whose heap types cannot be made
 * immutable, Python can still set attributes of the types (which changes only Python-level
 * behaviour: the buffer slots have no Python names before 3.12), and an instance made by a
 * replaced {@code __new__} has no Java state: every view of it is a {@code BufferError}.
 */
public final class JavaBuffer implements AutoCloseable {

    private final CPython py;
    private final PyObject object;
    private final ExportState state;

    private JavaBuffer(CPython py, PyObject object, ExportState state) {
        this.py = py;
        this.object = object;
        this.state = state;
    }

    /** @throws IllegalStateException for memory already freed; IllegalArgumentException out of bounds */
    static JavaBuffer create(CPython py, BufferLayout spec, BufferExporter exporter, boolean tracked) {
        if (spec != null) {
            if (!spec.segment().scope().isAlive() || !spec.memory().scope().isAlive()) {
                throw new IllegalStateException("cannot export memory whose arena is already closed: " + spec);
            }
            if (spec instanceof BufferSpec checked) checked.requireInBounds();
        }
        Interpreter interp = py.interp;
        int g = interp.enter();
        try {
            ExportState state = new ExportState(spec, exporter, tracked);
            long obj = ExportTable.newObject(interp.c, state);
            return new JavaBuffer(py, new PyObject(interp, obj), state);
        } finally {
            interp.exit(g);
        }
    }

    /** The Python object's address, borrowed while this handle is open (passed to Python as itself). */
    long address() { return object.address(); }

    /**
     * A new reference to the Python object, which the caller owns. Takes the GIL.
     *
     * @throws IllegalStateException if this handle or CPython is closed
     */
    public PyObject asPyObject() {
        int g = py.interp.enter();
        try {
            return new PyObject(py.interp, ObjectProtocol.newReference(object.address()));
        } finally {
            py.interp.exit(g);
        }
    }

    /** The static spec ({@link BufferSpec}, or a harness's {@link HarnessSpec}), or null for a dynamic {@link BufferExporter}. */
    public BufferLayout spec() { return state.spec(); }

    /** Whether Python reports each release to Java (see {@link CPython#exportUntracked}). */
    public boolean isTracked() { return state.isTracked(); }

    /**
     * Views Python holds right now.
     *
     * @throws UnsupportedOperationException for an untracked export, whose releases Python does not report
     */
    public int exportCount() {
        requireTracked("exportCount");
        int g = py.interp.tryEnter();            // the count changes under the GIL
        try {
            return state.exports();
        } finally {
            if (g != -1) py.interp.exit(g);
        }
    }

    /** Views handed out since creation. */
    public long totalExports() { return state.totalExports(); }

    /**
     * Called after each release with the number of views still live, under the GIL, on the
     * releasing Python thread. Replaces any earlier listener; null removes it. Exceptions are
     * logged and ignored.
     */
    public void onRelease(IntConsumer listener) { requireTracked("onRelease"); state.onRelease(listener); }

    private void requireTracked(String what) {
        if (!state.isTracked()) {
            throw new UnsupportedOperationException(what + "() needs a tracked export: this JavaBuffer was made by "
                    + "exportUntracked, whose type has no release slot; use CPython.export(spec)");
        }
    }

    /**
     * Waits until Python holds no view of this buffer. Does not hold the GIL while waiting.
     *
     * @return true if no view is live, false on timeout
     */
    public boolean awaitReleased(Duration timeout) throws InterruptedException {
        Objects.requireNonNull(timeout, "timeout");
        requireTracked("awaitReleased");
        if (py.interp.holdsGil()) {
            throw new IllegalStateException("awaitReleased would wait forever while this thread holds the GIL");
        }
        return state.awaitReleased(timeout.toNanos());
    }

    /** Whether {@link #close()} was called (or the Python object is gone). */
    public boolean isClosed() { return state.isClosed(); }

    /**
     * No new views from now on, and Java's reference to the Python object is dropped; views
     * already taken stay valid, and the memory with them. Idempotent. Takes the GIL; on a
     * virtual thread (which may not take it) the work is done on a platform thread the bridge
     * keeps, and this returns once it is done.
     *
     * @throws IllegalStateException if views are live over memory the caller frees (anything
     *         but {@link CPython#arena()} memory, see the class comment): the message names
     *         them; nothing is changed, so close again once Python released them
     */
    @Override
    public void close() {
        if (object.isClosed() || py.isClosed()) return;
        Handoff.run(this::closeWithGil);        // virtual threads: on a platform thread, waited for
    }

    private void closeWithGil() {
        if (object.isClosed() || py.isClosed()) return;
        int g = py.interp.enter();
        try {
            String blocking = state.liveViewsBlockingClose();
            if (blocking != null) {
                throw new IllegalStateException("cannot close this JavaBuffer: " + blocking + ". Release them in Python "
                        + "first (memoryview.release(), del the numpy array), or export memory from CPython.arena(), "
                        + "which stays valid until Python lets go");
            }
            state.close();
            object.close();          // with the GIL held: dropped now, so the object goes as soon as no view holds it
        } finally {
            py.interp.exit(g);
        }
    }

    @Override
    public String toString() {
        return object.isClosed() ? "JavaBuffer[closed]" : object.repr();
    }
}
