package dev.panamapy.arrow;

import dev.panamapy.CPython;
import dev.panamapy.Gil;
import dev.panamapy.PyObject;
import dev.panamapy.arrow.internal.Glue;
import dev.panamapy.arrow.internal.ImportCalls;
import dev.panamapy.internal.Interpreter;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.dictionary.DictionaryProvider;
import org.apache.arrow.vector.ipc.ArrowReader;

/**
 * Python Arrow data (any object with {@code __arrow_c_array__} or {@code __arrow_c_stream__}:
 * pyarrow arrays, record batches, tables and readers, polars, nanoarrow) as Arrow Java vectors
 * over the producer's memory, without copying.
 *
 * <p><b>Threads and the GIL.</b> Every method takes the GIL itself and may be called from any
 * platform thread, concurrently.
 *
 * <p><b>Lifetimes.</b> The vectors' buffers are the producer's memory, wrapped with
 * {@link BufferAllocator#wrapForeignAllocation} (so they count against {@code allocator} until
 * released). The caller owns what is returned and closes it; when the last Java buffer of an
 * import is released (closing the vectors, or a vector they were transferred to), the producer's
 * {@code release} callback is called exactly once, on the closing thread, which takes the GIL
 * for it (closing on a virtual thread works too: the release then runs on the bridge's hand-off
 * platform thread, and {@code close()} returns when it is done). If CPython has been closed meanwhile the release is skipped (the producer is gone).
 * What is copied: a validity bitmap the producer omitted (no nulls) is materialized by Arrow Java
 * (its vectors always read one: {@code BitVectorHelper.loadValidityBuffer} allocates
 * ceil(length / 8) bytes from {@code allocator} and sets every bit, for each column and nested
 * child without a bitmap; a bitmap the producer gave is used in place whatever its null count),
 * a bitmap whose slice offset is not a multiple of 8 is shifted into new memory, and an empty
 * array gets a one-entry offsets buffer. Everything else (values, offsets, children,
 * dictionaries) is the producer's memory. Malformed structs (negative lengths or offsets, wrong
 * buffer or child counts, NULL buffers where data is required, children shorter than what their
 * parent reads, released structs) are refused with {@link IllegalArgumentException} before
 * anything is moved or read from a buffer (but a list's first and last offsets); the producer's
 * capsules then release them as usual. Vectors that are never closed keep the
 * producer's memory (Arrow Java has no finalizer): close them.
 */
public final class ArrowImport {
    private ArrowImport() { }

    /**
     * A record batch (a struct array from {@code obj.__arrow_c_array__()}) as a new root over the
     * producer's memory. The caller closes the root.
     *
     * @throws IllegalArgumentException      if {@code obj} has no {@code __arrow_c_array__}, is not
     *                                       a struct array, is malformed (what is wrong, named), or has
     *                                       dictionary-encoded columns (use the overload with a provider)
     * @throws UnsupportedOperationException if a column's type cannot be imported (named)
     * @throws dev.panamapy.PythonException  if the producer raises
     * @throws IllegalStateException         if CPython is closed
     */
    public static VectorSchemaRoot batch(CPython py, PyObject obj, BufferAllocator allocator) {
        return batch(py, obj, allocator, null);
    }

    /**
     * Like {@link #batch(CPython, PyObject, BufferAllocator)}; dictionaries of dictionary-encoded
     * columns are put into {@code dictionaries} (the caller closes their vectors).
     *
     * @throws IllegalArgumentException      if {@code obj} is not a struct array or is malformed (named)
     * @throws UnsupportedOperationException if a column's type cannot be imported (named)
     * @throws dev.panamapy.PythonException  if the producer raises
     * @throws IllegalStateException         if CPython is closed
     */
    public static VectorSchemaRoot batch(CPython py, PyObject obj, BufferAllocator allocator,
                                         DictionaryProvider.MapDictionaryProvider dictionaries) {
        Glue.interpreter(py);
        try (Gil gil = py.gil()) {
            return (VectorSchemaRoot) ImportCalls.array(obj, allocator, dictionaries, true);
        }
    }

    /**
     * One array from {@code obj.__arrow_c_array__()} as a new vector over the producer's memory.
     * The caller closes the vector.
     *
     * @throws IllegalArgumentException      if {@code obj} has no {@code __arrow_c_array__}, is
     *                                       malformed (named) or dictionary-encoded (use the overload)
     * @throws UnsupportedOperationException if its type cannot be imported (named)
     * @throws dev.panamapy.PythonException  if the producer raises
     * @throws IllegalStateException         if CPython is closed
     */
    public static FieldVector array(CPython py, PyObject obj, BufferAllocator allocator) {
        return array(py, obj, allocator, null);
    }

    /**
     * Like {@link #array(CPython, PyObject, BufferAllocator)}; dictionaries go into {@code dictionaries}.
     *
     * @throws IllegalArgumentException      if {@code obj} is malformed (named)
     * @throws UnsupportedOperationException if its type cannot be imported (named)
     * @throws dev.panamapy.PythonException  if the producer raises
     * @throws IllegalStateException         if CPython is closed
     */
    public static FieldVector array(CPython py, PyObject obj, BufferAllocator allocator,
                                    DictionaryProvider.MapDictionaryProvider dictionaries) {
        Glue.interpreter(py);
        try (Gil gil = py.gil()) {
            return (FieldVector) ImportCalls.array(obj, allocator, dictionaries, false);
        }
    }

    /**
     * A stream ({@code obj.__arrow_c_stream__()}) as an {@link ArrowReader}: each
     * {@code loadNextBatch()} imports the next batch into the reader's root, zero copy (the
     * previous batch's producer memory is released then). The producer's {@code get_schema} and
     * {@code get_next} are calls into CPython like any other (a Python-backed producer runs
     * Python): counted in flight, so {@code CPython.close()} waits for one that runs; once CPython
     * is closed (or closing) {@code loadNextBatch()} and reading the schema throw
     * IllegalStateException, and on a virtual thread UnsupportedOperationException. Java lets the
     * GIL go while the producer runs (a Python-backed producer takes it itself), so a slow
     * producer does not stop other Python threads. The caller closes the reader, which releases
     * the stream (taking the GIL; skipped once CPython is closed).
     * Dictionary-encoded columns in streams are refused (UnsupportedOperationException naming
     * the field) when the schema is read.
     *
     * @throws IllegalArgumentException      if {@code obj} has no {@code __arrow_c_stream__}
     * @throws dev.panamapy.PythonException  if the producer raises
     * @throws IllegalStateException         if CPython is closed
     */
    public static ArrowReader stream(CPython py, PyObject obj, BufferAllocator allocator) {
        Interpreter in = Glue.interpreter(py);
        try (Gil gil = py.gil()) {
            return ImportCalls.stream(in, obj, allocator);
        }
    }
}
