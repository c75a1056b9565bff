package dev.panamapy.arrow;

import dev.panamapy.CPython;
import dev.panamapy.Gil;
import dev.panamapy.PyObject;
import dev.panamapy.arrow.internal.Glue;
import dev.panamapy.arrow.internal.Snapshot;
import dev.panamapy.arrow.internal.StreamExport;
import dev.panamapy.internal.Interpreter;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.dictionary.DictionaryProvider;
import org.apache.arrow.vector.ipc.ArrowReader;

/**
 * Arrow Java data handed to Python without copying, through the
 * <a href="https://arrow.apache.org/docs/format/CDataInterface/PyCapsuleInterface.html">Arrow
 * PyCapsule interface</a>: the returned Python object has {@code __arrow_c_schema__} and
 * {@code __arrow_c_array__} (or {@code __arrow_c_stream__}), so {@code pyarrow.record_batch(obj)},
 * {@code pyarrow.array(obj)}, {@code pyarrow.table(obj)}, polars and duckdb read the Java
 * vectors' buffers in place (the addresses Python sees are the Java buffers' addresses).
 *
 * <p><b>Threads and the GIL.</b> Every method takes the GIL itself and may be called from any
 * platform thread, concurrently.
 *
 * <p><b>Lifetimes.</b> An export takes its own reference to every buffer of the vectors (O(1)
 * per buffer, no copy, no scan): the data stays valid while the returned Python object, or any
 * Arrow structure a consumer imported from it, is alive, whatever Java closes meanwhile. Closing
 * the root or vectors after exporting is allowed and usual; their memory is freed when Python
 * lets go. The export's buffers are accounted to a child allocator of the vectors' root
 * allocator named {@code panamapy-export#N ...}, so {@code RootAllocator.close()} while Python
 * still uses an export fails naming it. An export is a snapshot of the vectors' buffers and
 * value counts when it was made: do not write into vectors Python reads (Arrow data is
 * immutable once shared). Null counts are exported as -1 ("unknown": computing them scans the
 * validity bitmap) except where known without a scan. The caller owns the returned
 * {@link PyObject} and closes it; Python may keep the object beyond that. A consumer's
 * {@code requested_schema} is ignored (the PyCapsule interface lets a producer do so): the data
 * comes in its own types. A batch or array object also has {@code __arrow_c_stream__} (a
 * one-batch stream), for consumers that read streams (polars, duckdb).
 *
 * <p>The release callbacks of the exported C structs are FFM upcalls into Java that any thread
 * may call, with or without the GIL, exactly once per struct (moved structs included); nothing
 * thrown in them crosses into C (it is logged).
 */
public final class ArrowExport {
    private ArrowExport() { }

    /**
     * A record batch as a Python object with {@code __arrow_c_schema__} and
     * {@code __arrow_c_array__} (a struct array, one child per column):
     * {@code pyarrow.record_batch(obj)} reads it in place.
     *
     * @throws IllegalArgumentException      if a column is dictionary-encoded (use
     *                                       {@link #batch(CPython, VectorSchemaRoot, DictionaryProvider)}),
     *                                       or the counts disagree: the root's row count above a column's
     *                                       value count, a nested vector's child shorter than what it
     *                                       references (named, with both counts; nothing is exported)
     * @throws UnsupportedOperationException if a column's type cannot be exported (named)
     * @throws IllegalStateException         if CPython is closed
     */
    public static PyObject batch(CPython py, VectorSchemaRoot root) {
        return batch(py, root, null);
    }

    /**
     * Like {@link #batch(CPython, VectorSchemaRoot)}, with the dictionaries of dictionary-encoded
     * columns taken from {@code dictionaries} (exported with the batch, also zero copy).
     *
     * @throws IllegalArgumentException      if a dictionary a column names is not in {@code dictionaries}, or
     *                                       the counts disagree (as for {@link #batch(CPython, VectorSchemaRoot)})
     * @throws UnsupportedOperationException if a column's type cannot be exported (named)
     * @throws IllegalStateException         if CPython is closed
     */
    public static PyObject batch(CPython py, VectorSchemaRoot root, DictionaryProvider dictionaries) {
        Interpreter in = Glue.interpreter(py);
        return wrap(py, in, Snapshot.of(root, dictionaries));      // the snapshot is Java-only work: outside the GIL
    }

    /**
     * One vector as a Python object with {@code __arrow_c_schema__} and {@code __arrow_c_array__}:
     * {@code pyarrow.array(obj)} reads it in place.
     *
     * @throws IllegalArgumentException      if it is dictionary-encoded (use
     *                                       {@link #array(CPython, FieldVector, DictionaryProvider)}), or a
     *                                       child is shorter than what the vector references (named)
     * @throws UnsupportedOperationException if its type cannot be exported (named)
     * @throws IllegalStateException         if CPython is closed
     */
    public static PyObject array(CPython py, FieldVector vector) {
        return array(py, vector, null);
    }

    /**
     * Like {@link #array(CPython, FieldVector)}, with dictionaries from {@code dictionaries}.
     *
     * @throws IllegalArgumentException      if a dictionary the vector names is not in {@code dictionaries},
     *                                       or a child is shorter than what the vector references (named)
     * @throws UnsupportedOperationException if its type cannot be exported (named)
     * @throws IllegalStateException         if CPython is closed
     */
    public static PyObject array(CPython py, FieldVector vector, DictionaryProvider dictionaries) {
        Interpreter in = Glue.interpreter(py);
        return wrap(py, in, Snapshot.of(vector, dictionaries));
    }

    /**
     * A stream of record batches as a Python object with {@code __arrow_c_stream__} and
     * {@code __arrow_c_schema__}: {@code pyarrow.RecordBatchReader.from_stream(obj)} or
     * {@code pyarrow.table(obj)} read it. The stream can be consumed once. Each batch is exported
     * as by {@link #batch}; the reader is advanced by the consumer's {@code get_next}, on the
     * consumer's thread, with the GIL when the consumer holds it (polars) and without it when the
     * consumer let it go (pyarrow). Either way the reader may call Python, and may wait inside
     * {@link CPython#withoutGil} (a reader that blocks while holding the GIL blocks Python). The
     * reader is closed when the consumer releases the stream (or the object is freed unconsumed).
     *
     * @throws IllegalStateException if CPython is closed
     */
    public static PyObject stream(CPython py, ArrowReader reader) {
        Interpreter in = Glue.interpreter(py);
        try (Gil gil = py.gil()) {
            return Glue.newObject(in, StreamExport.of(reader));
        }
    }

    /** The Python object of a snapshot, which owns it from now on; released here if that fails. */
    private static PyObject wrap(CPython py, Interpreter in, Snapshot export) {
        Gil gil;
        try {
            gil = py.gil();
        } catch (RuntimeException | Error e) {
            export.release();
            throw e;
        }
        try (gil) {
            return Glue.newObject(in, export);
        }
    }
}
