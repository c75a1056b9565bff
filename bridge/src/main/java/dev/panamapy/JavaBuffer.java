package dev.panamapy;

import dev.panamapy.internal.Convert;
import dev.panamapy.internal.Exports;
import dev.panamapy.internal.Handoff;
import dev.panamapy.internal.Interpreter;

import java.time.Duration;
import java.util.Objects;
import java.util.function.IntConsumer;

/**
 * Java memory exported to Python: a {@code panamapy.JavaBuffer} object, and its Java handle.
 * Pass it to Python as an argument or global; {@code memoryview(buf)}, {@code numpy.asarray(buf)}
 * and any PEP 3118 consumer then read (and, unless read-only, write) the memory in place.
 *
 * <p><b>Lifetime.</b> Every view Python takes holds the Python object, and the Python object
 * holds the segment, so memory behind a live view is never freed by the bridge:
 * <ul>
 *   <li>memory from {@link CPython#arena()} is freed only after the arena is closed and the last
 *       Python object over it is gone, in whichever order that happens;</li>
 *   <li>an {@code Arena.ofAuto()} segment or a direct ByteBuffer stays reachable while exported;</li>
 *   <li>for memory in your own confined or shared arena, {@link #close()} refuses (naming the
 *       live views) while Python still holds views, and a view taken after you closed that
 *       arena raises {@code BufferError} in Python. Closing such an arena while Python holds a
 *       view is a bug the bridge cannot prevent.</li>
 * </ul>
 *
 * <p>{@link #close()} stops new exports and drops Java's reference; existing views stay valid.
 * Any thread may use this handle; methods take the GIL where they need it.
 */
public final class JavaBuffer implements AutoCloseable, Convert.Handle {

    private final CPython py;
    private final PyObject object;
    private final Exports.State state;

    private JavaBuffer(CPython py, PyObject object, Exports.State state) {
        this.py = py;
        this.object = object;
        this.state = state;
    }

    /** @throws IllegalStateException for memory already freed; IllegalArgumentException out of bounds */
    static JavaBuffer create(CPython py, BufferSpec spec, BufferExporter exporter, boolean tracked) {
        if (spec != null) {
            if (!spec.segment().scope().isAlive()) {
                throw new IllegalStateException("cannot export memory whose arena is already closed: " + spec);
            }
            spec.requireInBounds();
        }
        Interpreter interp = py.interp;
        int g = interp.enter();
        try {
            Exports.State state = new Exports.State(spec, exporter, tracked);
            long obj = Exports.newObject(interp.c, state);
            return new JavaBuffer(py, new PyObject(interp, obj), state);
        } finally {
            interp.exit(g);
        }
    }

    @Override
    public long pyAddress() { return object.pyAddress(); }

    /** A new reference to the Python object (the caller owns it). */
    public PyObject asPyObject() {
        int g = py.interp.enter();
        try {
            long a = object.pyAddress();
            dev.panamapy.bindings.Python_h.Py_IncRef(java.lang.foreign.MemorySegment.ofAddress(a));
            return new PyObject(py.interp, a);
        } finally {
            py.interp.exit(g);
        }
    }

    /** The static spec, or null for a dynamic {@link BufferExporter}. */
    public BufferSpec spec() { return state.spec(); }

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
     * @throws IllegalStateException if views are live over memory in an arena the caller
     *         closes (a confined or shared arena of their own): the message names them; nothing
     *         is changed, so close again once Python released them
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
