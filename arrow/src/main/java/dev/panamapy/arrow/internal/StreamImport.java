package dev.panamapy.arrow.internal;

import dev.panamapy.internal.Interpreter;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.Schema;

import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.List;

import static dev.panamapy.arrow.internal.CData.*;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A producer's ArrowArrayStream (moved out of its capsule) as an Arrow Java {@link ArrowReader}.
 * Each batch is imported over the producer's memory and transferred into the reader's root
 * (zero copy); the previous batch is released when the next one is loaded. The producer's
 * callbacks ({@code get_schema}, {@code get_next}, {@code get_last_error}) are entries into
 * CPython like any other call (the producer came from Python and may run Python: pyarrow's
 * generator-backed readers do): refused with IllegalStateException once CPython is closed or
 * closing, refused on virtual threads, and counted as calls in flight, so {@code close()} waits
 * for them. Java lets the GIL go around each callback ({@code Py_BEGIN_ALLOW_THREADS}: the C
 * stream interface lets any thread call them; a Python-backed producer takes the GIL itself),
 * and calls the release with it (see {@link Imported}).
 */
public final class StreamImport extends ArrowReader {
    private static final MethodHandle CALL2 = Linker.nativeLinker().downcallHandle(
            FunctionDescriptor.of(JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle CALL1 = Linker.nativeLinker().downcallHandle(
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG));

    private final Interpreter interpreter;
    private final Imported stream;
    private Imports.Node schema;
    private volatile boolean closed;
    /*
     * A close() on another thread while a read runs (ArrowReader is not thread-safe, but a close
     * must never crash or leak): the read holds "busy" and the close is deferred to its end, so
     * the root is never closed under a transfer. The lock guards these four fields only and is
     * never held while buffers are released or the GIL is taken (a producer's release takes it).
     */
    private final Object state = new Object();
    private int busy;                   // reads running (guarded by state)
    private boolean closeRequested;     // close() was called (guarded by state)
    private boolean closeDeferred;      // ... while a read ran: the last read to end closes (guarded by state)
    private boolean deferredCloseReadSource;

    /** Takes over the moved stream (one reference), released when the reader is closed. */
    public StreamImport(Interpreter interpreter, BufferAllocator allocator, Imported stream) {
        super(allocator);
        this.interpreter = interpreter;
        this.stream = stream;
    }

    /** Starts a read: refused once close() was called. */
    private void begin(String what) {
        synchronized (state) {
            if (closeRequested) {
                throw new IllegalStateException("the imported Arrow stream's " + what + " cannot be called: this "
                        + "ArrowReader is closed");
            }
            busy++;
        }
    }

    /** Ends a read; the last one to end performs a close() deferred meanwhile (outside the lock). */
    private void end() throws IOException {
        boolean close;
        boolean source;
        synchronized (state) {
            close = --busy == 0 && closeDeferred;
            if (close) closeDeferred = false;
            source = deferredCloseReadSource;
        }
        if (close) super.close(source);
    }

    /** Whether close() was called since the read began. */
    private boolean closeRequested() {
        synchronized (state) {
            return closeRequested;
        }
    }

    /**
     * Closes at once, or, while a read runs on another thread, when it ends (the root must not be
     * closed under its transfer); either way no read starts after this. Never waits.
     */
    @Override
    public void close(boolean closeReadSource) throws IOException {
        synchronized (state) {
            closeRequested = true;
            if (busy > 0) {
                closeDeferred = true;
                deferredCloseReadSource |= closeReadSource;
                return;
            }
        }
        super.close(closeReadSource);
    }

    @Override
    protected Schema readSchema() throws IOException {
        begin("get_schema");
        try {
            return readSchemaBusy();
        } finally {
            end();
        }
    }

    private Schema readSchemaBusy() throws IOException {
        long s = calloc(SCHEMA.byteSize());
        try {
            call(ST_GET_SCHEMA, s, "get_schema");
            Imports.Node sn = Imports.parse(s, new long[]{0});
            if (!(sn.type() instanceof ArrowType.Struct)) {
                throw new IllegalArgumentException("an Arrow stream of " + sn.type() + " arrays is not a stream of record batches");
            }
            for (Imports.Node k : sn.children()) requireNoDictionary(k);
            this.schema = sn;
            return new Schema(sn.field().getChildren(), sn.field().getMetadata());
        } finally {
            Exports.releaseIfLive(s, S_RELEASE);
            free(s);
        }
    }

    private static void requireNoDictionary(Imports.Node n) {
        if (n.dictionary() != null) {
            throw new UnsupportedOperationException("field '" + n.field().getName() + "' of an imported Arrow stream is "
                    + "dictionary-encoded: streams with dictionaries are not supported yet (import batches with "
                    + "ArrowImport.batch(.., MapDictionaryProvider), or decode the column in Python first)");
        }
        for (Imports.Node k : n.children()) requireNoDictionary(k);
    }

    @Override
    public boolean loadNextBatch() throws IOException {
        begin("get_next");                      // before Arrow's preparation, which would give a closed root new buffers
        try {
            return loadNextBatchBusy();
        } finally {
            end();
        }
    }

    private boolean loadNextBatchBusy() throws IOException {
        prepareLoadNextBatch();
        long out = calloc(ARRAY.byteSize());
        Imported batch;
        try {
            call(ST_GET_NEXT, out, "get_next");
            if (getLong(out + A_RELEASE) == 0) return false;        // end of stream
            try {
                Imports.validate(out, schema);
            } catch (RuntimeException e) {
                Exports.releaseIfLive(out, A_RELEASE);
                throw e;
            }
            batch = Imported.move(out, ARRAY.byteSize(), A_RELEASE);
        } finally {
            free(out);
        }
        try {
            if (closeRequested()) {             // the root stays open until this read ends, but nobody wants the batch
                throw new IllegalStateException("the imported Arrow stream's reader was closed while get_next ran; "
                        + "the batch it got was released");
            }
            VectorSchemaRoot root = getVectorSchemaRoot();
            try (VectorSchemaRoot tmp = Imports.loadBatch(batch.address(), schema, new Imports.Target(allocator, batch, null))) {
                List<FieldVector> from = tmp.getFieldVectors(), to = root.getFieldVectors();
                for (int i = 0; i < from.size(); i++) from.get(i).makeTransferPair(to.get(i)).transfer();
                root.setRowCount(tmp.getRowCount());
            }
        } finally {
            batch.unref();
        }
        return true;
    }

    @Override
    public long bytesRead() { return 0; }

    @Override
    protected synchronized void closeReadSource() {
        if (closed) return;
        closed = true;
        stream.unref();
    }

    /**
     * Calls the producer's callback at {@code fnOffset} as an entry into CPython (counted in
     * flight, refused once it is closed) with the GIL let go meanwhile; on a non-zero answer
     * reads {@code get_last_error} in the same entry and throws.
     */
    private void call(long fnOffset, long out, String what) throws IOException {
        try {
            stream.ref();                       // the moved struct stays while the producer runs, whoever closes the reader
        } catch (IllegalStateException e) {
            throw new IllegalStateException("the imported Arrow stream's " + what + " cannot be called: this ArrowReader "
                    + "is closed", e);
        }
        try {
            callHeld(fnOffset, out, what);
        } finally {
            stream.unref();
        }
    }

    private void callHeld(long fnOffset, long out, String what) throws IOException {
        long fn = getLong(stream.address() + fnOffset);
        if (fn == 0) throw new IllegalArgumentException("the imported ArrowArrayStream has a NULL callback");
        int g;
        try {
            g = interpreter.enter();
        } catch (IllegalStateException e) {
            throw new IllegalStateException("the imported Arrow stream's " + what + " cannot be called: " + e.getMessage()
                    + " (its producer lives in CPython; read streams before closing it)", e);
        }
        try {
            String[] msg = new String[1];
            // the GIL let go as withoutGil does, so that a Java producer's code (our own exported
            // stream) sees it let go too: its calls take it, its reference drops are deferred
            int rc = interpreter.withoutGil(() -> {
                int r;
                try {
                    r = (int) CALL2.invokeExact(MemorySegment.ofAddress(fn), stream.address(), out);
                } catch (RuntimeException | Error e) {
                    throw e;
                } catch (Throwable t) {
                    throw new IllegalStateException(t);
                }
                if (r != 0) msg[0] = lastError();
                return r;
            });
            if (rc != 0) {
                throw new IOException("the Arrow stream's " + what + " failed (errno " + rc + ")" + (msg[0] == null ? "" : ": " + msg[0]));
            }
        } catch (RuntimeException | Error | IOException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        } finally {
            interpreter.exit(g);
        }
    }

    /** The producer's {@code get_last_error} (null if it has none or answers NULL); inside {@link #call}. */
    private String lastError() {
        long fn = getLong(stream.address() + ST_GET_LAST_ERROR);
        if (fn == 0) return null;
        try {
            return string((long) CALL1.invokeExact(MemorySegment.ofAddress(fn), stream.address()));
        } catch (Throwable t) {
            return null;
        }
    }
}
