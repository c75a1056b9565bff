package dev.panamapy.nativetests.embedding;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each Java thread keeps a Python thread state between calls; detachThread() frees it, so
 * short-lived threads need not leave one behind each.
 */
@PythonTest
class ThreadStateTest {

    private final CPython py;

    ThreadStateTest(CPython py) {
        this.py = py;
    }

    @Test
    void threadCanDetachAndCallAgain() {
        try (PyObject r = py.eval("40 + 2")) {
            assertEquals(42, r.asLong());
        }
        py.detachThread();
        py.detachThread();                          // idempotent
        try (PyObject r = py.eval("6 * 7")) {
            assertEquals(42, r.asLong());
        }
    }

    @Test
    void virtualThreadsAreRefusedClearly() throws Exception {
        java.util.concurrent.atomic.AtomicReference<Throwable> seen = new java.util.concurrent.atomic.AtomicReference<>();
        Thread.ofVirtual().start(() -> {
            try (PyObject r = py.eval("1")) {
                seen.set(new AssertionError("a virtual thread got in: " + r));
            } catch (Throwable t) {
                seen.set(t);
            }
        }).join();
        assertTrue(seen.get() instanceof UnsupportedOperationException, String.valueOf(seen.get()));
        assertTrue(seen.get().getMessage().contains("platform thread"), seen.get().getMessage());
        try (PyObject r = py.eval("2 + 2")) {
            assertEquals(4, r.asLong());                 // and nothing is left half-done
        }
    }

    @Test
    void detachInsideAGilScopeIsRefused() {
        try (var gil = py.gil()) {
            IllegalStateException e = assertThrows(IllegalStateException.class, py::detachThread);
            assertTrue(e.getMessage().contains("inside a call"), e.getMessage());
        }
    }

    @Test
    void shortLivedThreadsThatDetachLeaveNoThreadStatesBehind() throws Exception {
        py.exec("""
                import ctypes
                _api = ctypes.pythonapi
                _api.PyInterpreterState_Get.restype = ctypes.c_void_p
                _api.PyInterpreterState_ThreadHead.restype = ctypes.c_void_p
                _api.PyInterpreterState_ThreadHead.argtypes = [ctypes.c_void_p]
                _api.PyThreadState_Next.restype = ctypes.c_void_p
                _api.PyThreadState_Next.argtypes = [ctypes.c_void_p]
                def thread_states():
                    n, t = 0, _api.PyInterpreterState_ThreadHead(_api.PyInterpreterState_Get())
                    while t:
                        n, t = n + 1, _api.PyThreadState_Next(t)
                    return n
                def deep(n):
                    return 0 if n == 0 else 1 + deep(n - 1)
                """);
        try (PyObject deep = py.eval("deep"); PyObject states = py.eval("thread_states")) {
            long before = states.callAs(Long.class);
            runThreads(deep, 200, true);
            assertEquals(before, states.callAs(Long.class), "threads that detach leave no thread state");
            runThreads(deep, 50, false);
            assertEquals(before + 50, states.callAs(Long.class), "threads that do not detach keep theirs");
        }
    }

    private void runThreads(PyObject deep, int n, boolean detach) throws InterruptedException {
        AtomicLong ok = new AtomicLong();
        for (int i = 0; i < n; i++) {
            Thread t = Thread.ofPlatform().start(() -> {
                if (deep.callAs(Long.class, 50) == 50) ok.incrementAndGet();
                if (detach) py.detachThread();
            });
            t.join();
        }
        assertEquals(n, ok.get());
    }
}
