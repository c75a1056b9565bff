package dev.panamapy.nativetests.exporter;

import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PyObject;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static dev.panamapy.nativetests.exporter.PyCheck.*;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Python threads taking views of one shared JavaBuffer while Java threads export, read and
 * close others, for a bounded time: no deadlock, no crash, no error, counts balanced. Uses
 * numpy in the Python threads when it is installed, memoryview always.
 */
@PythonTest
class ExportThreadsTest {

    static final double SECONDS = 3.0;
    static final int PYTHON_THREADS = 4, JAVA_THREADS = 4;

    private final CPython py;

    ExportThreadsTest(CPython py) {
        this.py = py;
    }

    @Test
    void pythonAndJavaThreadsShareExportsWithoutDeadlockOrError() throws Exception {
        py.exec("import gc");
        CPython.Diagnostics baseline = settle(d -> true, Duration.ZERO);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment shared = arena.allocate(JAVA_LONG, 1024);
            for (int i = 0; i < 1024; i++) shared.setAtIndex(JAVA_LONG, i, 3L * i);
            JavaBuffer sharedBuf = py.export(BufferSpec.of(shared, "q"));
            py.setGlobal("t_shared", sharedBuf);
            py.exec("""
                    import threading, time
                    try:
                        import numpy as t_np
                    except ImportError:
                        t_np = None
                    t_errors = []
                    t_iters = [0] * %d
                    def t_worker(k, b, deadline):
                        try:
                            i = k
                            while time.monotonic() < deadline:
                                j = (i * 7919) %% 1024
                                m = memoryview(b)
                                if m[j] != 3 * j:
                                    raise AssertionError(f'memoryview[{j}] = {m[j]}')
                                m.release()
                                if t_np is not None:
                                    a = t_np.asarray(b)
                                    if a[j] != 3 * j or a.sum() != 3 * 1023 * 1024 // 2:
                                        raise AssertionError(f'numpy[{j}] = {a[j]}')
                                    del a
                                i += 1
                                t_iters[k] += 1
                        except BaseException as e:
                            t_errors.append(f'thread {k}: {e!r}')
                    t_deadline = time.monotonic() + %s
                    t_threads = [threading.Thread(target=t_worker, args=(k, t_shared, t_deadline), daemon=True)
                                 for k in range(%d)]
                    for t in t_threads:
                        t.start()
                    """.formatted(PYTHON_THREADS, SECONDS, PYTHON_THREADS));
            long deadline = System.nanoTime() + (long) (SECONDS * 1e9);
            ExecutorService pool = Executors.newFixedThreadPool(JAVA_THREADS);
            List<Future<Long>> javaWork = new ArrayList<>();
            try (PyObject readBack = py.eval("lambda b, i: (memoryview(b)[i], bytes(b)[:8])")) {
                for (int t = 0; t < JAVA_THREADS; t++) {
                    final long seed = t;
                    javaWork.add(pool.submit(() -> {
                        long n = 0;
                        while (System.nanoTime() < deadline) {
                            try (Arena mine = Arena.ofConfined()) {
                                MemorySegment seg = mine.allocate(JAVA_LONG, 64);
                                long value = seed * 1_000_000 + n;
                                int at = (int) (n % 64);
                                seg.setAtIndex(JAVA_LONG, at, value);
                                seg.setAtIndex(JAVA_LONG, 0, at == 0 ? value : -value);
                                try (JavaBuffer buf = py.export(BufferSpec.of(seg, "q"));
                                     PyObject pair = readBack.call(buf, at);
                                     PyObject item = pair.getItem(0)) {
                                    if (item.asLong() != value) throw new AssertionError("Java thread read " + item);
                                    if (buf.exportCount() != 0) throw new AssertionError("view leaked: " + buf);
                                }
                            }
                            n++;
                        }
                        return n;
                    }));
                }
                pool.shutdown();
                assertTrue(pool.awaitTermination((long) SECONDS + 30, TimeUnit.SECONDS), "Java threads deadlocked");
            }
            long javaCycles = 0;
            for (Future<Long> f : javaWork) javaCycles += f.get();
            // joining from Python releases the GIL while waiting; a bounded join detects a hang
            py.exec("for t in t_threads:\n    t.join(30)");
            assertFalse(isTrue("any(t.is_alive() for t in t_threads)"), "a Python thread is still running");
            assertEquals("[]", str("t_errors"));
            long pythonIters = asLong("sum(t_iters)");
            System.out.printf("threads: %.1f s, %d Python threads did %,d view rounds (%s), %d Java threads did %,d "
                            + "export/read/close cycles (numpy %s)%n", SECONDS, PYTHON_THREADS, pythonIters,
                    str("t_iters"), JAVA_THREADS, javaCycles, isTrue("t_np is not None") ? "used" : "absent");
            assertTrue(pythonIters > 0 && javaCycles > 0, "both sides made progress");
            assertTrue(isTrue("all(n > 0 for n in t_iters)"), "every Python thread made progress: " + str("t_iters"));
            assertEquals(0, sharedBuf.exportCount());
            forgetTestGlobals();
            sharedBuf.close();
        }
        CPython.Diagnostics d = settleTo(baseline);
        assertEquals(baseline.liveViews(), d.liveViews(), d.toString());
        assertEquals(baseline.liveExporters(), d.liveExporters(), d.toString());
        assertEquals(baseline.liveReferences(), d.liveReferences(), d.toString());
    }
}
