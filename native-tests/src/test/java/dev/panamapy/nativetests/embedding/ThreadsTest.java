package dev.panamapy.nativetests.embedding;

import dev.panamapy.CPython;
import dev.panamapy.Gil;
import dev.panamapy.PyObject;
import dev.panamapy.nativetests.Py;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Java threads and Python threads share the interpreter: the GIL is taken per call and released between calls. */
class ThreadsTest {

    private static PyObject add;

    @BeforeAll
    static void define() {
        CPython py = Py.get();
        py.exec("def add(a, b):\n    return a + b\n");
        add = py.getGlobal("add");
    }

    @AfterEach
    void stopPythonThread() {
        Py.get().exec("try:\n    _probe_stop.set(); _probe_thread.join(5)\nexcept NameError:\n    pass\n");
    }

    @Test
    void eightJavaThreadsMakeTenThousandCallsEachWithCorrectResults() throws Exception {
        int threads = 8, calls = 10_000;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Integer>> results = new ArrayList<>();
        long t0 = System.nanoTime();
        try {
            for (int t = 0; t < threads; t++) {
                long base = (t + 1) * 1_000_000_000L;
                results.add(pool.submit(() -> {
                    go.await();
                    int correct = 0;
                    for (int i = 0; i < calls; i++) {
                        try (PyObject r = add.call(base, (long) i)) {
                            long v = r.asLong();
                            if (v != base + i) throw new AssertionError("add(" + base + ", " + i + ") gave " + v);
                            correct++;
                        }
                    }
                    return correct;
                }));
            }
            go.countDown();
            pool.shutdown();
            assertTrue(pool.awaitTermination(120, TimeUnit.SECONDS), "deadlock: calls did not finish within 120 s");
            for (Future<Integer> f : results) assertEquals(calls, f.get());
        } finally {
            pool.shutdownNow();
        }
        System.out.printf("80,000 concurrent calls on 8 threads took %d ms%n", (System.nanoTime() - t0) / 1_000_000);
    }

    private static void startCounterThread() {
        Py.get().exec(String.join("\n",
                "import threading, time",
                "_probe_counter = [0]",
                "_probe_stop = threading.Event()",
                "def _probe_loop():",
                "    while not _probe_stop.is_set():",
                "        _probe_counter[0] += 1",
                "        time.sleep(0.001)",
                "_probe_thread = threading.Thread(target=_probe_loop, name='panamapy-probe', daemon=True)",
                "_probe_thread.start()",
                ""));
    }

    private static long counter() {
        try (PyObject c = Py.get().eval("_probe_counter[0]")) {
            return c.asLong();
        }
    }

    @Test
    void pythonThreadKeepsRunningWhileJavaIsIdleBetweenCalls() throws InterruptedException {
        startCounterThread();
        long previous = counter();
        int intervals = 20;
        long[] deltas = new long[intervals];
        for (int i = 0; i < intervals; i++) {
            Thread.sleep(50);                       // Java idle: nobody holds the GIL
            long now = counter();
            deltas[i] = now - previous;
            previous = now;
        }
        System.out.println("counter increments per idle 50 ms: " + java.util.Arrays.toString(deltas));
        // if Java kept the GIL between calls, no interval would advance; a loaded 2-core machine may
        // starve the Python thread of one or two 50 ms slices, which is not the bridge's doing
        long advanced = java.util.Arrays.stream(deltas).filter(d -> d > 0).count();
        assertTrue(advanced >= intervals - 3, "the Python thread ran in only " + advanced + " of " + intervals
                + " idle intervals: " + java.util.Arrays.toString(deltas));
        assertTrue(java.util.Arrays.stream(deltas).sum() >= 200, "the Python thread counted only "
                + java.util.Arrays.stream(deltas).sum() + " in 1 s (about 900 expected)");
        try (PyObject alive = Py.get().eval("_probe_thread.is_alive()")) {
            assertTrue(alive.asBoolean());
        }
    }

    @Test
    void pythonThreadKeepsRunningWhileJavaCallsContinuously() {
        startCounterThread();
        long start = counter();
        long deadline = System.nanoTime() + 1_000_000_000L;
        long calls = 0, advanced = 0, last = start;
        while (System.nanoTime() < deadline) {
            long now = counter();                  // back-to-back calls, no sleeping on the Java side
            if (now > last) advanced++;
            last = now;
            calls++;
        }
        System.out.printf("over 1 s of back-to-back calls: %d calls, counter +%d, advanced between %d pairs of calls%n",
                calls, last - start, advanced);
        assertTrue(last - start >= 50, "the Python thread advanced only " + (last - start) + " times in 1 s");
        assertTrue(advanced >= 50, "the counter advanced between only " + advanced + " pairs of Java calls");
    }

    @Test
    void callsInsideOneGilScopeGiveTheSameResults() {
        CPython py = Py.get();
        long[] outside = new long[1000];
        for (int i = 0; i < outside.length; i++) {
            try (PyObject r = add.call((long) i, (long) i * i)) { outside[i] = r.asLong(); }
        }
        long[] inside = new long[1000];
        try (Gil gil = py.gil()) {
            for (int i = 0; i < inside.length; i++) {
                try (PyObject r = add.call((long) i, (long) i * i)) { inside[i] = r.asLong(); }
            }
            try (PyObject r = py.eval("sum(range(1000))")) {
                assertEquals(499_500, r.asLong());
            }
        }
        for (int i = 0; i < inside.length; i++) assertEquals((long) i + (long) i * i, inside[i]);
        assertEquals(java.util.Arrays.toString(outside), java.util.Arrays.toString(inside));
    }

    @Test
    void gilScopeClosedOnAnotherThreadThrowsAndStaysHeld() throws Exception {
        CPython py = Py.get();
        Gil gil = py.gil();
        try {
            AtomicReference<Throwable> thrown = new AtomicReference<>();
            Thread other = Thread.ofPlatform().name("not-the-owner").start(() -> {
                try {
                    gil.close();
                } catch (Throwable t) {
                    thrown.set(t);
                }
            });
            other.join(10_000);
            IllegalStateException e = assertInstanceOf(IllegalStateException.class, thrown.get());
            assertTrue(e.getMessage().contains("closed by the thread that opened it"), e.getMessage());
            assertTrue(e.getMessage().contains(Thread.currentThread().getName()), e.getMessage());
            try (PyObject r = add.call(20, 22)) {   // still in the scope, on the owner thread
                assertEquals(42, r.asLong());
            }
        } finally {
            gil.close();
        }
        // released for real: another thread can take the GIL now
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> {
            try (PyObject r = add.call(1, 2)) {
                assertEquals(3, r.asLong());
            }
        });
    }
}
