package dev.panamapy.arrow;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.ipc.ArrowReader;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

/**
 * An imported stream read around {@code CPython.close()}, in a JVM of its own (see
 * {@link StreamAfterCloseTest}). Modes: {@code java-closed} and {@code pyarrow-closed} (a Java or a
 * pyarrow generator-backed producer, read after close: printed REFUSED and the message, or
 * LOADED), {@code in-flight} (close() called while get_next runs: prints whether close() waits
 * for it, seen in the closing thread's stack, or goes on to finalize; then what the read got). Prints, as a test main.
 */
public final class StreamAfterCloseMain {
    private StreamAfterCloseMain() { }

    public static void main(String[] args) throws Exception {
        BufferAllocator a = new RootAllocator();     // not closed: releases after close() are skipped by design
        CPython py = CPython.start();
        switch (args[0]) {
            case "java-closed" -> {
                ArrowReader r;
                try (PyObject obj = ArrowExport.stream(py, new ListReader(a, List.of(Samples.root(a, 4))))) {
                    r = ArrowImport.stream(py, obj, a);
                }
                py.close();
                readAfterClose(r);
            }
            case "pyarrow-closed" -> {
                py.exec("""
                        import pyarrow as pa
                        schema = pa.schema([('x', pa.int64())])
                        def gen():
                            for i in range(3):
                                yield pa.record_batch([pa.array([i, i + 1])], schema=schema)
                        src = pa.RecordBatchReader.from_batches(schema, gen())
                        """);
                ArrowReader r;
                try (PyObject src = py.getGlobal("src")) {
                    r = ArrowImport.stream(py, src, a);
                }
                py.close();
                readAfterClose(r);
            }
            case "in-flight" -> inFlight(py, a);
            case "close-against-gil" -> closeAgainstGil(py);
            default -> throw new IllegalArgumentException(args[0]);
        }
        System.out.println("END");
    }

    /**
     * A reader closed on one thread (its releases take the GIL, for the producer's release) while
     * another thread holding the GIL reads it: neither may wait for the other. (With a lock held
     * over the close's releases, the reader blocked on it holding the GIL and the closer waited for
     * the GIL: every Python call in the process stopped.) Prints NO DEADLOCK or DEADLOCK.
     */
    private static void closeAgainstGil(CPython py) throws Exception {
        java.util.concurrent.atomic.AtomicBoolean armed = new java.util.concurrent.atomic.AtomicBoolean();
        CountDownLatch inClose = new CountDownLatch(1);
        BufferAllocator slow = new RootAllocator(new org.apache.arrow.memory.AllocationListener() {
            @Override
            public void onRelease(long size) {            // the close is slow to release: the reader comes meanwhile
                if (Thread.currentThread().getName().equals("closer") && armed.compareAndSet(true, false)) {
                    inClose.countDown();
                    try {
                        Thread.sleep(500);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
        }, Long.MAX_VALUE);
        py.exec("""
                import pyarrow as pa
                src = pa.RecordBatchReader.from_batches(pa.schema([('x', pa.int64())]),
                    [pa.record_batch([pa.array([1, None, 3])], names=['x']) for _ in range(3)])
                """);
        ArrowReader in;
        try (PyObject obj = py.getGlobal("src")) {
            in = ArrowImport.stream(py, obj, slow);
        }
        System.out.println("FIRST " + in.loadNextBatch());
        armed.set(true);
        Thread closer = Thread.ofPlatform().name("closer").start(() -> {
            try {
                in.close();
            } catch (Throwable t) {
                System.out.println("CLOSE FAILED " + t);
            }
        });
        inClose.await();
        Thread reader = Thread.ofPlatform().name("reader").start(() -> {
            try (dev.panamapy.Gil g = py.gil()) {
                System.out.println("SECOND " + in.loadNextBatch());
            } catch (IllegalStateException e) {
                System.out.println("SECOND REFUSED " + e.getMessage());
            } catch (Throwable t) {
                System.out.println("SECOND FAILED " + t);
            }
        });
        reader.join(20_000);
        closer.join(5_000);
        if (reader.isAlive() || closer.isAlive()) {
            System.out.println("DEADLOCK reader " + reader.getState() + ", closer " + closer.getState());
            System.out.flush();
            Runtime.getRuntime().halt(3);
        }
        System.out.println("NO DEADLOCK");
        py.exec("del src");
        py.close();
        slow.close();                                   // nothing left
        System.out.println("ALLOCATOR CLOSED");
    }

    private static void readAfterClose(ArrowReader r) throws IOException {
        try {
            System.out.println("LOADED " + r.loadNextBatch());
        } catch (IllegalStateException e) {
            System.out.println("REFUSED " + e.getMessage());
        }
        r.close();
        System.out.println("READER CLOSED");
    }

    private static boolean has(StackTraceElement[] stack, String cls, String methodPrefix) {
        for (StackTraceElement e : stack) {
            if ((cls == null || e.getClassName().equals(cls)) && e.getMethodName().startsWith(methodPrefix)) return true;
        }
        return false;
    }

    private static void inFlight(CPython py, BufferAllocator a) throws Exception {
        CountDownLatch entered = new CountDownLatch(1), go = new CountDownLatch(1);
        ListReader blocking = new ListReader(a, List.of(Samples.root(a, 4))) {
            @Override
            public boolean loadNextBatch() throws IOException {
                entered.countDown();
                while (true) {
                    try {
                        go.await();
                        break;
                    } catch (InterruptedException e) {
                        // keep waiting
                    }
                }
                return super.loadNextBatch();
            }
        };
        ArrowReader r;
        try (PyObject obj = ArrowExport.stream(py, blocking)) {
            r = ArrowImport.stream(py, obj, a);
        }
        r.getVectorSchemaRoot();                  // the schema now: only get_next is in flight below
        AtomicReference<Object> got = new AtomicReference<>();
        Thread reading = Thread.ofPlatform().start(() -> {
            try {
                got.set(r.loadNextBatch() ? r.getVectorSchemaRoot().getRowCount() : -1);
            } catch (Throwable t) {
                got.set(t);
            }
        });
        entered.await();                          // get_next runs (blocked in the producer)
        Thread closing = Thread.ofPlatform().start(py::close);
        String state;
        while (true) {          // until close() either waits for calls in flight or goes on to finalize
            StackTraceElement[] stack = closing.getStackTrace();
            if (has(stack, "java.lang.Object", "wait") && has(stack, null, "awaitCallsLeft")) {
                state = "WAITS FOR THE CALL IN FLIGHT";
                break;
            }
            if (!closing.isAlive() || has(stack, null, "awaitFinalized")) {
                state = "FINALIZES WITH get_next RUNNING";
                break;
            }
            Thread.onSpinWait();
        }
        System.out.println("CLOSE " + state);
        go.countDown();
        reading.join();
        closing.join();
        System.out.println("READ " + got.get());
        System.out.println("CPYTHON CLOSED " + py.isClosed());
        r.close();
    }
}
