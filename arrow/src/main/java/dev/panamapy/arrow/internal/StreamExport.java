package dev.panamapy.arrow.internal;

import dev.panamapy.internal.Capsules;
import dev.panamapy.internal.Interpreter;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Field;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static dev.panamapy.arrow.internal.CData.*;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * An ArrowArrayStream over a Java {@link ArrowReader} (each batch exported as a
 * {@link Snapshot}, zero copy) or over one snapshot (a one-batch stream). The callbacks are
 * upcall stubs, called by the consumer on any thread one at a time; they touch no Python.
 * Reference counted: the Python object holds one reference, the stream struct one; the last
 * closes the reader.
 */
public final class StreamExport {
    private static final Logger LOG = LoggerFactory.getLogger(StreamExport.class);
    private static final ConcurrentHashMap<Long, StreamExport> LIVE = new ConcurrentHashMap<>();
    private static final AtomicLong NEXT = new AtomicLong(1);
    private static final int EIO = 5, EINVAL = 22;

    private final long id = NEXT.getAndIncrement();
    private final ArrowReader reader;
    private Snapshot single;
    final Field schema;
    final Map<Long, Field> dictionaries;
    private final AtomicInteger refs = new AtomicInteger(1);
    /** Set by the first export; checked without the monitor, which a read holds while the reader runs. */
    private final AtomicBoolean consumed = new AtomicBoolean();
    private long lastError;            // C string, guarded by this

    private StreamExport(ArrowReader reader, Snapshot single, Field schema, Map<Long, Field> dictionaries) {
        this.reader = reader;
        this.single = single;
        this.schema = schema;
        this.dictionaries = dictionaries;
    }

    /** A stream over a reader; the stream owns it from now on (closes it at the end). */
    public static StreamExport of(ArrowReader reader) {
        try {
            var root = reader.getVectorSchemaRoot();
            Field f = Snapshot.batchField(root);
            return new StreamExport(reader, null, f, Snapshot.dictionaryFields(f, reader));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot read the ArrowReader's schema: " + e.getMessage(), e);
        }
    }

    /** A one-batch stream of a snapshot (retained until the stream is done). */
    public static StreamExport of(Snapshot s) {
        s.retain();
        return new StreamExport(null, s, s.field, s.dictionaryFields);
    }

    /** Exported streams not yet closed, for leak checks. */
    public static int live() { return LIVE.size(); }

    /** Fills the ArrowArrayStream at {@code st}; once per export (a second call is refused). */
    public void export(long st) {
        // not synchronized: a read in progress holds the monitor while the user's reader runs,
        // perhaps waiting for the GIL this caller holds; a second export must fail, not wait
        if (!consumed.compareAndSet(false, true)) {
            throw new IllegalStateException("this Arrow stream was consumed already: a stream can be read once");
        }
        refs.incrementAndGet();
        LIVE.put(id, this);
        putLong(st + ST_GET_SCHEMA, GET_SCHEMA.address());
        putLong(st + ST_GET_NEXT, GET_NEXT.address());
        putLong(st + ST_GET_LAST_ERROR, GET_LAST_ERROR.address());
        putLong(st + ST_PRIVATE, id);
        putLong(st + ST_RELEASE, RELEASE.address());
    }

    /** One user fewer (the Python object, or the stream struct); the last closes the reader. */
    public void release() {
        if (refs.decrementAndGet() != 0) return;
        LIVE.remove(id);
        synchronized (this) {
            CData.free(lastError);
            lastError = 0;
            if (single != null) {
                single.release();
                single = null;
            }
        }
        if (reader != null) {
            try {
                reader.close();
            } catch (Exception e) {
                LOG.warn("closing the exported ArrowReader failed", e);
            }
        }
    }

    private synchronized int next(long out) {
        if (reader == null) {
            if (single == null || LIVE.get(id) == null) { putLong(out + A_RELEASE, 0); return 0; }
            Exports.exportArray(out, single);
            single.release();
            single = null;
            return 0;
        }
        Snapshot s;
        try {
            if (!reader.loadNextBatch()) {
                putLong(out + A_RELEASE, 0);      // end of stream
                return 0;
            }
            s = Snapshot.of(reader.getVectorSchemaRoot(), reader);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        try {
            Exports.exportArray(out, s);
        } finally {
            s.release();
        }
        return 0;
    }

    private synchronized void error(Throwable t) {
        CData.free(lastError);
        lastError = CData.cString(t.getClass().getSimpleName() + ": " + t.getMessage());
    }

    // ---- upcalls ------------------------------------------------------------------------------

    private static StreamExport of(long st) { return LIVE.get(getLong(st + ST_PRIVATE)); }

    // int get_schema(struct ArrowArrayStream*, struct ArrowSchema* out)
    private static int getSchema(long st, long out) {
        StreamExport s = null;
        try {
            s = of(st);
            if (s == null) return EINVAL;
            Exports.exportSchema(out, s.schema, s.dictionaries);
            return 0;
        } catch (Throwable t) {
            return failure(s, t);
        }
    }

    // int get_next(struct ArrowArrayStream*, struct ArrowArray* out)
    private static int getNext(long st, long out) {
        StreamExport s = null;
        try {
            s = of(st);
            if (s == null) return EINVAL;
            StreamExport stream = s;
            // the consumer may call without the GIL under a call of ours (pyarrow does)
            return Interpreter.calledBackFromC(() -> stream.next(out));
        } catch (Throwable t) {
            return failure(s, t);
        }
    }

    private static int failure(StreamExport s, Throwable t) {
        try {
            LOG.debug("Arrow stream callback failed", t);
            if (s != null) s.error(t);
        } catch (Throwable ignored) {
            // never let it escape
        }
        return EIO;
    }

    // const char* get_last_error(struct ArrowArrayStream*)
    private static long getLastError(long st) {
        try {
            StreamExport s = of(st);
            if (s == null) return 0;
            synchronized (s) {
                return s.lastError;
            }
        } catch (Throwable t) {
            return 0;
        }
    }

    // void release(struct ArrowArrayStream*)
    private static void releaseStream(long st) {
        try {
            if (getLong(st + ST_RELEASE) == 0) return;
            StreamExport s = of(st);
            putLong(st + ST_RELEASE, 0);
            if (s != null) Interpreter.calledBackFromC(() -> {      // closes the user's reader at the end
                s.release();
                return null;
            });
        } catch (Throwable t) {
            Exports.failed("ArrowArrayStream.release", t);
        }
    }

    private static final MemorySegment GET_SCHEMA = stub("getSchema", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MemorySegment GET_NEXT = stub("getNext", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MemorySegment GET_LAST_ERROR = stub("getLastError", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG));
    private static final MemorySegment RELEASE = stub("releaseStream", FunctionDescriptor.ofVoid(JAVA_LONG));

    private static MemorySegment stub(String method, FunctionDescriptor fd) {
        return Capsules.upcallStub(MethodHandles.lookup(), method, fd);
    }

    @Override
    public String toString() {
        return "stream of " + schema.getChildren().size() + " columns" + (reader == null ? " (one batch)" : "");
    }
}
