package dev.panamapy;

/**
 * The dynamic form of an export: asked for a view each time a Python consumer calls
 * {@code getbuffer} on the {@link JavaBuffer}, and told when that view is released.
 * {@link BufferSpec} exported directly is the simple, static case. It may hand out either kind of
 * {@link BufferLayout}: a valid {@link BufferSpec} (checked again on every request), or, in a test
 * harness, a {@link HarnessSpec} (not checked: dangerous by design).
 *
 * <p>Both methods are called with the GIL held, on the Python thread that takes or releases
 * the view; they may call into Python. A view's native format, shape and strides stay valid
 * until its release. Code that lets the GIL go in them ({@link CPython#withoutGil}, or Python code
 * that releases it) lets other threads act meanwhile: the {@link JavaBuffer} may be closed then
 * (a view being made is refused; in {@code releaseBuffer}, memory you free on close may be gone).
 *
 * <p><b>Memory.</b> The memory of each view handed out is kept until the Python object is gone,
 * not only until {@link #releaseBuffer}: memory of {@code CPython.arena()} stays allocated (its
 * arena pinned by the object), other memory stays reachable; see {@link JavaBuffer} for what the
 * bridge can and cannot keep. Hand out views of a bounded set of memory, or export a new
 * {@link JavaBuffer} for new memory.
 */
public interface BufferExporter {

    /**
     * The view to hand to this request. The bridge applies PEP 3118's request rules to it (a
     * WRITABLE request on a read-only spec is refused, and so on), exactly as for a static spec.
     *
     * @param request what the consumer asked for
     * @return the view; throwing refuses the request: Python gets a {@code BufferError} with
     *         the Java class and message
     */
    BufferLayout getBuffer(BufferRequest request);

    /**
     * The consumer released a view this exporter gave. Exceptions are logged and ignored.
     *
     * @param view the spec returned by the matching {@link #getBuffer} call
     */
    default void releaseBuffer(BufferLayout view) { }
}
