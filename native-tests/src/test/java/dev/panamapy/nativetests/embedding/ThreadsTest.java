package dev.panamapy.nativetests.embedding;

import dev.panamapy.CPython;
import dev.panamapy.Gil;
import dev.panamapy.PyObject;
import dev.panamapy.testing.PythonTest;
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
@PythonTest
class ThreadsTest {

    private static PyObject add;

    private static CPython py;

    @BeforeAll
    static void define(CPython python) {
        py = python;
        py.exec("def add(a, b):\n    return a + b\n");
        add = py.getGlobal("add");
    }

    @AfterEach
    void stopPythonThread() {
        py.exec("try:\n    _probe_stop.set(); _probe_thread.join(5)\nexcept NameError:\n    pass\n");
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
        py.exec(String.join("\n",
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
        try (PyObject c = py.eval("_probe_counter[0]")) {
            return c.asLong();
        }
    }

    /**
     * Waits, calling {@link #counter()} every {@code pauseMillis} (0: back to back), until the
     * Python thread's counter passes {@code target}; fails after a generous timeout. Returns how
     * many calls it took.
     */
    private static long awaitCounterPast(long target, long pauseMillis, String javaSide) throws InterruptedException {
        long deadline = System.nanoTime() + PROGRESS_TIMEOUT.toNanos();
        long calls = 0;
        long now;
        while ((now = counter()) <= target) {
            calls++;
            assertTrue(System.nanoTime() < deadline, "the Python thread did not get past " + target + " (at " + now
                    + ") within " + PROGRESS_TIMEOUT.toSeconds() + " s while Java " + javaSide);
            if (pauseMillis > 0) Thread.sleep(pauseMillis);
        }
        return calls;
    }

    /** Generous: a loaded 2-core machine may starve the Python thread for a while, never for this long. */
    private static final Duration PROGRESS_TIMEOUT = Duration.ofSeconds(60);

    @Test
    void pythonThreadKeepsRunningWhileJavaIsIdleBetweenCalls() throws InterruptedException {
        startCounterThread();
        // if Java kept the GIL after a call returned, the counter would never move again
        int rounds = 20;
        long last = counter();
        for (int i = 0; i < rounds; i++) {
            awaitCounterPast(last, 50, "was idle between calls");   // Java idle: nobody holds the GIL
            long now = counter();
            assertTrue(now > last, "round " + i + ": " + last + " -> " + now);
            last = now;
        }
        try (PyObject alive = py.eval("_probe_thread.is_alive()")) {
            assertTrue(alive.asBoolean());
        }
    }

    @Test
    void pythonThreadKeepsRunningWhileJavaCallsContinuously() throws InterruptedException {
        startCounterThread();
        // back-to-back calls, no sleeping on the Java side: each call hands the GIL back, so the
        // Python thread advances again and again while Java keeps calling
        int rounds = 50;
        long start = counter();
        long last = start, calls = 0;
        for (int i = 0; i < rounds; i++) {
            calls += awaitCounterPast(last, 0, "called back to back");
            last = counter();
        }
        System.out.printf("the Python thread advanced %d times during %d back-to-back calls%n", rounds, calls);
        assertTrue(last - start >= rounds, "the counter went " + start + " -> " + last);
        try (PyObject alive = py.eval("_probe_thread.is_alive()")) {
            assertTrue(alive.asBoolean());
        }
    }

    @Test
    void callsInsideOneGilScopeGiveTheSameResults() {
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
