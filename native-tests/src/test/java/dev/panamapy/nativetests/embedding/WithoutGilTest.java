package dev.panamapy.nativetests.embedding;

import dev.panamapy.CPython;
import dev.panamapy.Gil;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code py.withoutGil(...)}: a Java function (or a gil() scope) lets the GIL go while it waits,
 * so a wait for another thread that calls Python is no longer a deadlock; the GIL is back
 * afterwards whatever the action did, and the thread's calls stay balanced (detachThread works,
 * another thread gets the GIL at once).
 */
@PythonTest
class WithoutGilTest {

    private static final Duration LIMIT = Duration.ofSeconds(60);
    private static CPython py;

    @BeforeAll
    static void define(CPython python) {
        py = python;
    }

    /** Nothing of this thread's is left taken: it can detach, and another thread runs Python at once. */
    private static void assertNothingTaken() throws Exception {
        py.detachThread();                                   // refused while this thread counts a call
        CompletableFuture<Long> other = new CompletableFuture<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try (PyObject r = py.eval("40 + 2")) {
                other.complete(r.asLong());
            } catch (Throwable e) {
                other.completeExceptionally(e);
            }
        });
        assertEquals(42L, other.get(30, TimeUnit.SECONDS));
        t.join();
    }

    @Test
    void aJavaFunctionWaitsForAThreadThatCallsPython() {
        // without withoutGil this is the deadlock the GIL watchdog warns about
        py.defineFunction("ask_other_thread", a -> py.withoutGil(() -> {
            SynchronousQueue<Long> answer = new SynchronousQueue<>();
            Thread t = Thread.ofPlatform().start(() -> {
                try (PyObject r = py.eval("sum(range(10))")) {
                    answer.put(r.asLong());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            long v = answer.take();                          // checked exceptions pass through withoutGil
            t.join();
            return v;
        }));
        assertTimeoutPreemptively(LIMIT, () -> {
            try (PyObject r = py.eval("[ask_other_thread() for _ in range(50)]")) {
                assertEquals(50L, r.length());
                try (PyObject first = r.getItem(0)) {
                    assertEquals(45L, first.asLong());
                }
            }
            assertNothingTaken();
        });
    }

    @Test
    void otherThreadsRunPythonWhileTheActionRunsAndItMayCallPythonItself() {
        AtomicLong seenElsewhere = new AtomicLong();
        py.defineFunction("let_others_run", a -> py.withoutGil(() -> {
            CountDownLatch ran = new CountDownLatch(1);
            Thread t = Thread.ofPlatform().start(() -> {
                try (PyObject r = py.eval("7 * 6")) {
                    seenElsewhere.set(r.asLong());
                }
                ran.countDown();
            });
            try {
                if (!ran.await(30, TimeUnit.SECONDS)) throw new IllegalStateException("the other thread got no GIL");
                t.join();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            try (PyObject r = py.eval("len('called from inside')")) {   // the action's own call takes the GIL
                return r.asLong();
            }
        }));
        assertTimeoutPreemptively(LIMIT, () -> {
            py.exec("frames_below = [let_others_run() for _ in range(3)]");
            try (PyObject r = py.eval("frames_below")) {
                assertEquals("[18, 18, 18]", r.toString());
            }
            assertEquals(42L, seenElsewhere.get());
            assertNothingTaken();
        });
    }

    @Test
    void whatTheActionThrowsIsThrownOnWithTheGilTakenBack() {
        py.defineFunction("fails_without_gil", a -> py.withoutGil(() -> {
            throw new IllegalArgumentException("no such row: " + a[0]);
        }));
        assertTimeoutPreemptively(LIMIT, () -> {
            // the Python code after the failure runs: the GIL is back on this thread
            py.exec("""
                    try:
                        fails_without_gil(7)
                        _wg_err = 'no error'
                    except Exception as e:
                        _wg_err = str(e)
                    _wg_after = sum(range(5))
                    """);
            try (PyObject err = py.getGlobal("_wg_err"); PyObject after = py.getGlobal("_wg_after")) {
                assertTrue(err.asString().contains("no such row: 7"), err.asString());
                assertEquals(10L, after.asLong());
            }
            assertNothingTaken();
        });
    }

    @Test
    void outsideAnyCallItJustRunsTheAction() throws Exception {
        assertEquals("ran", py.withoutGil(() -> "ran"));
        AtomicReference<String> seen = new AtomicReference<>();
        py.withoutGil(() -> seen.set("ran too"));
        assertEquals("ran too", seen.get());
        assertNothingTaken();
    }

    @Test
    void insideAGilScopeItLetsTheGilGoForTheBlockOnly() {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Gil gil = py.gil()) {
                long other = py.withoutGil(() -> {
                    CompletableFuture<Long> f = new CompletableFuture<>();
                    Thread.ofPlatform().start(() -> {
                        try (PyObject r = py.eval("2 ** 10")) {
                            f.complete(r.asLong());
                        }
                    });
                    try {
                        return f.get(30, TimeUnit.SECONDS);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                assertEquals(1024L, other);
                try (PyObject r = py.eval("1 + 1")) {            // the scope holds the GIL again
                    assertEquals(2L, r.asLong());
                }
                assertThrows(IllegalStateException.class, py::detachThread);   // still inside the scope
            }
            assertNothingTaken();
        });
    }

    @Test
    void aGilScopeLeftOpenInTheBlockIsClosedAndTheBlockThrows() {
        assertTimeoutPreemptively(LIMIT, () -> {
            try (Gil outer = py.gil()) {
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> py.withoutGil(() -> {
                    py.gil();                                    // never closed
                }));
                assertTrue(e.getMessage().contains("still open"), e.getMessage());
                // a scope opened outside cannot be closed inside, and stays usable
                IllegalStateException across = assertThrows(IllegalStateException.class, () -> py.withoutGil(outer::close));
                assertTrue(across.getMessage().contains("withoutGil"), across.getMessage());
                try (PyObject r = py.eval("3 * 3")) {
                    assertEquals(9L, r.asLong());
                }
            }
            assertNothingTaken();
        });
    }

    @Test
    void aJavaFunctionReturningWithAGilScopeOpenFailsAndLeavesNothingTaken() {
        py.defineFunction("leaves_scope_open", a -> {
            py.gil();                                            // never closed
            return 1L;
        });
        assertTimeoutPreemptively(LIMIT, () -> {
            PythonException e = assertThrows(PythonException.class, () -> py.exec("leaves_scope_open()"));
            assertTrue(e.getMessage().contains("leaves_scope_open") && e.getMessage().contains("still open"), e.getMessage());
            try (PyObject r = py.eval("5 - 1")) {
                assertEquals(4L, r.asLong());
            }
            assertNothingTaken();
        });
    }

    @Test
    void detachAndCloseAreRefusedInsideTheBlock() {
        py.defineFunction("detach_inside", a -> py.withoutGil(() -> {
            try {
                py.detachThread();
                return "detached";
            } catch (IllegalStateException e) {
                return "refused";
            }
        }));
        py.defineFunction("close_inside", a -> py.withoutGil(() -> {
            try {
                py.close();
                return "closed";
            } catch (IllegalStateException e) {
                return "refused";
            }
        }));
        assertTimeoutPreemptively(LIMIT, () -> {
            try (PyObject r = py.eval("(detach_inside(), close_inside())")) {
                assertEquals("('refused', 'refused')", r.toString());
            }
            assertNothingTaken();
        });
    }

    @Test
    void aThreadPythonMadeCanLetTheGilGoInAJavaFunction() {
        py.defineFunction("wait_for_java", a -> py.withoutGil(() -> {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            try (PyObject r = py.eval("'back'")) {
                return r.asString();
            }
        }));
        assertTimeoutPreemptively(LIMIT, () -> {
            py.exec("""
                    import threading
                    _wg_out = []
                    _wg_threads = [threading.Thread(target=lambda: _wg_out.append(wait_for_java())) for _ in range(4)]
                    for t in _wg_threads: t.start()
                    for t in _wg_threads: t.join()
                    """);
            try (PyObject r = py.eval("_wg_out")) {
                assertEquals("['back', 'back', 'back', 'back']", r.toString());
            }
            assertNothingTaken();
        });
    }
    @Test
    void aJavaBufferClosedWhileItsExporterLetTheGilGoMakesNoView() {
        CountDownLatch inBlock = new CountDownLatch(1), go = new CountDownLatch(1);
        java.lang.foreign.MemorySegment memory = py.arena().allocate(64);
        dev.panamapy.JavaBuffer jb = py.export(new dev.panamapy.BufferExporter() {
            @Override
            public dev.panamapy.BufferSpec getBuffer(dev.panamapy.BufferRequest request) {
                py.withoutGil(() -> {
                    inBlock.countDown();
                    try {
                        go.await(30, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
                return dev.panamapy.BufferSpec.of(memory, "B");
            }
        });
        py.setGlobal("_wg_jb", jb);
        assertTimeoutPreemptively(LIMIT, () -> {
            AtomicReference<String> seen = new AtomicReference<>();
            Thread t = Thread.ofPlatform().start(() -> {
                py.exec("""
                        try:
                            memoryview(_wg_jb)
                            _wg_view = 'a view'
                        except BufferError as e:
                            _wg_view = str(e)
                        """);
                try (PyObject r = py.getGlobal("_wg_view")) {
                    seen.set(r.asString());
                }
            });
            assertTrue(inBlock.await(30, TimeUnit.SECONDS));
            jb.close();                                          // no view yet: close() may go ahead
            go.countDown();
            t.join();
            assertTrue(seen.get().contains("closed while its BufferExporter made the view"), seen.get());
            py.exec("del _wg_jb");
            assertNothingTaken();
        });
    }

    @Test
    void aGilScopeAnExporterOrReleaseListenerLeavesOpenIsClosed() {
        java.lang.foreign.MemorySegment memory = py.arena().allocate(64);
        dev.panamapy.JavaBuffer leaky = py.export(new dev.panamapy.BufferExporter() {
            @Override
            public dev.panamapy.BufferSpec getBuffer(dev.panamapy.BufferRequest request) {
                py.gil();                                    // never closed
                return dev.panamapy.BufferSpec.of(memory, "B");
            }
        });
        dev.panamapy.JavaBuffer listened = py.export(dev.panamapy.BufferSpec.of(memory, "B"));
        listened.onRelease(left -> py.gil());                // never closed
        py.setGlobal("_wg_leaky", leaky);
        py.setGlobal("_wg_listened", listened);
        assertTimeoutPreemptively(LIMIT, () -> {
            PythonException e = assertThrows(PythonException.class, () -> py.exec("memoryview(_wg_leaky)"));
            assertTrue(e.getMessage().contains("py.gil() scope"), e.getMessage());
            py.exec("memoryview(_wg_listened).release()");
            try (PyObject r = py.eval("bytes(memoryview(_wg_listened))[:2]")) {
                assertEquals(2L, r.length());
            }
            py.exec("del _wg_leaky, _wg_listened");
            leaky.close();
            listened.close();
            assertNothingTaken();
        });
    }
}
