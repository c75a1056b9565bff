package dev.panamapy.nativetests.safety;

import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.Gil;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PyObject;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Child JVM for {@link CloseWhileCallsRunTest}: one way of closing an interpreter with work in
 * flight, named by {@code args[0]}. It prints what it saw, one fact a line, and exits 0 only if
 * everything went as the contract says.
 *
 * <p>The call in flight is Python code that waits, GIL released, for a byte of Java memory to
 * become 1 (a JavaBuffer: Java writes it without calling Python, since new calls are refused
 * while closing), then calls a Java function that makes a nested call.
 */
public final class CloseMain {
    private CloseMain() { }

    private static CPython py;
    private static MemorySegment gate;
    private static final CountDownLatch ENTERED = new CountDownLatch(1);

    public static void main(String[] args) {
        ChildJvm.exitOnFailure(() -> run(args));
    }

    private static void run(String[] args) throws Exception {
        py = CPython.start();
        switch (args[0]) {
            case "call-in-flight" -> callInFlight();
            case "timeout" -> timeout();
            case "interrupt" -> interrupt();
            case "python-threads" -> pythonThreads();
            case "refused-inside" -> refusedInside();
            case "cleaners" -> cleaners();
            default -> throw new IllegalArgumentException(args[0]);
        }
        System.out.println("done");
    }

    /** Defines work(): enters, waits for the gate, then calls twice(21), a Java function making a nested call. */
    private static void defineWork() {
        gate = Arena.global().allocate(8, 8);
        JavaBuffer buf = py.export(BufferSpec.of(gate, "B"));
        py.setGlobal("gate", buf);
        py.defineFunction("entered", a -> { ENTERED.countDown(); return null; });
        py.defineFunction("twice", a -> {
            try (PyObject r = py.eval(a[0] + " * 2")) {      // a nested call, after close() began
                return r.asLong();
            }
        });
        py.exec("""
                import time
                gate_view = memoryview(gate)
                def work():
                    entered()
                    while gate_view[0] == 0:
                        time.sleep(0.001)      # the GIL is free meanwhile
                    return twice(21)
                """);
    }

    /** Runs work() on a thread of its own: one call, converted in the same GIL hold. */
    private static CompletableFuture<Long> startWork() {
        CompletableFuture<Long> result = new CompletableFuture<>();
        PyObject work = py.eval("work");
        Thread.ofPlatform().name("call-in-flight").start(() -> {
            try {
                result.complete(work.callAs(Long.class));
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        return result;
    }

    private static void openGate() {
        gate.set(ValueLayout.JAVA_BYTE, 0, (byte) 1);
    }

    /** Calls until one is refused: then close() has begun. Prints the refusal. */
    private static void awaitRefusal() {
        while (true) {
            try (PyObject r = py.eval("1")) {
                Thread.onSpinWait();
            } catch (IllegalStateException e) {
                System.out.println("new call refused: " + e.getMessage());
                return;
            }
        }
    }

    private static Thread closer(AtomicReference<Throwable> thrown) {
        return Thread.ofPlatform().name("closer").start(() -> {
            try {
                py.close();
            } catch (Throwable t) {
                thrown.set(t);
            }
        });
    }

    private static void callInFlight() throws Exception {
        defineWork();
        CompletableFuture<Long> call = startWork();
        ENTERED.await();
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread closer = closer(thrown);
        awaitRefusal();
        System.out.println("close() still waiting: " + closer.isAlive());
        System.out.println("closed while the call runs: " + py.isClosed());
        openGate();
        System.out.println("call in flight returned " + call.get());
        closer.join();
        System.out.println("close() threw: " + thrown.get());
        System.out.println("closed: " + py.isClosed());
        try {
            py.eval("1");
        } catch (IllegalStateException e) {
            System.out.println("after close: " + e.getMessage());
        }
    }

    private static void timeout() throws Exception {
        defineWork();
        CompletableFuture<Long> call = startWork();
        ENTERED.await();
        boolean closed = py.tryClose(Duration.ofMillis(200));
        System.out.println("tryClose(200 ms) with a call in flight: " + closed);
        try (PyObject r = py.eval("20 + 22")) {
            System.out.println("usable after the timeout: " + r.asLong());
        }
        openGate();
        System.out.println("call in flight returned " + call.get());
        System.out.println("tryClose(60 s) with nothing in flight: " + py.tryClose(Duration.ofSeconds(60)));
        System.out.println("closed: " + py.isClosed());
    }

    private static void interrupt() throws Exception {
        defineWork();
        py.exec("import sys\nkeep = []\nbase = sys.getrefcount(keep)");
        PyObject kept = py.eval("keep");                   // one more reference, dropped while closing
        CompletableFuture<Long> call = startWork();
        ENTERED.await();
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        AtomicReference<Boolean> flagKept = new AtomicReference<>();
        Thread closer = Thread.ofPlatform().name("closer").start(() -> {
            try {
                py.close();
            } catch (Throwable t) {
                thrown.set(t);
                flagKept.set(Thread.currentThread().isInterrupted());
            }
        });
        awaitRefusal();
        kept.close();                                      // dropped while close() waits: must not be lost
        closer.interrupt();
        closer.join();
        Throwable t = thrown.get();
        System.out.println("interrupted close() threw " + (t == null ? null : t.getClass().getName()) + ": "
                + (t == null ? "" : t.getMessage()));
        System.out.println("cause: " + (t == null || t.getCause() == null ? null : t.getCause().getClass().getName()));
        System.out.println("interrupt flag kept: " + flagKept.get());
        System.out.println("closed: " + py.isClosed());
        try (PyObject r = py.eval("20 + 22")) {
            System.out.println("usable after the interrupt: " + r.asLong());
        }
        try (PyObject r = py.eval("sys.getrefcount(keep) - base")) {
            System.out.println("references dropped while closing were dropped: " + (r.asLong() == 0));
        }
        openGate();
        System.out.println("call in flight returned " + call.get());
        py.close();
        System.out.println("closed again: " + py.isClosed());
    }

    /**
     * Python threads still at work when close() begins: a non-daemon thread that only finishes
     * once Java opens the gate (Py_FinalizeEx joins it) and then calls a Java function; daemon
     * threads spinning in Python, and calling a Java function that makes nested calls which let
     * the GIL go, all through finalization.
     */
    private static void pythonThreads() throws Exception {
        gate = Arena.global().allocate(8, 8);
        py.setGlobal("gate", py.export(BufferSpec.of(gate, "B")));
        AtomicLong daemonCalls = new AtomicLong();
        CountDownLatch daemonsRunning = new CountDownLatch(2);
        py.defineFunction("note", a -> {
            System.out.println("note: " + a[0]);
            return null;
        });
        py.defineFunction("from_daemon", a -> {
            daemonCalls.incrementAndGet();
            daemonsRunning.countDown();
            py.exec("time.sleep(0.001)");                      // nested, and the GIL goes meanwhile
            return null;
        });
        py.exec("""
                import threading, time
                gate_view = memoryview(gate)
                def worker():
                    while gate_view[0] == 0:
                        time.sleep(0.001)
                    note('non-daemon worker finishing')
                def spin():
                    n = 0
                    while True:
                        n += 1
                def call_java():
                    while True:
                        try:
                            from_daemon()
                        except Exception:
                            pass
                # threads started from a Java thread inherit its daemon flag, True: ask for a non-daemon one
                threading.Thread(target=worker, name='worker', daemon=False).start()
                threading.Thread(target=spin, daemon=True).start()
                threading.Thread(target=call_java, daemon=True).start()
                threading.Thread(target=call_java, daemon=True).start()
                """);
        daemonsRunning.await();
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread closer = closer(thrown);
        awaitRefusal();
        openGate();                                            // the worker ends, Py_FinalizeEx goes on
        closer.join();
        System.out.println("close() threw: " + thrown.get());
        System.out.println("closed: " + py.isClosed());
        System.out.println("daemon threads called Java: " + (daemonCalls.get() > 0));
    }

    private static void refusedInside() {
        py.defineFunction("close_me", a -> {
            py.close();
            return null;
        });
        try {
            py.exec("close_me()");
        } catch (RuntimeException e) {
            System.out.println("close() in a Java function: " + e.getMessage());
        }
        try (Gil gil = py.gil()) {
            py.close();
        } catch (IllegalStateException e) {
            System.out.println("close() in a gil() scope: " + e.getMessage());
        }
        try (PyObject r = py.eval("6 * 7")) {
            System.out.println("still running: " + r.asLong());
        }
        py.close();
        System.out.println("closed: " + py.isClosed());
    }

    /**
     * Unclosed objects and dropped references while close() runs, from several threads: the
     * Cleaner, the drain thread and explicit closes race finalization.
     */
    private static void cleaners() throws Exception {
        List<Thread> threads = new ArrayList<>();
        AtomicLong refusals = new AtomicLong();
        CountDownLatch started = new CountDownLatch(4);
        for (int i = 0; i < 4; i++) {
            threads.add(Thread.ofPlatform().start(() -> {
                started.countDown();
                try {
                    for (long n = 0; ; n++) {
                        PyObject o = py.eval("[1, 2, 3]");     // every other one is left to the Cleaner
                        if (n % 2 == 0) o.close();
                        if (n % 1000 == 0) System.gc();
                    }
                } catch (IllegalStateException e) {
                    refusals.incrementAndGet();
                }
            }));
        }
        started.await();
        py.close();
        for (Thread t : threads) t.join();
        System.gc();
        System.out.println("closed: " + py.isClosed());
        System.out.println("every thread was refused once closing began: " + (refusals.get() == 4));
    }
}
