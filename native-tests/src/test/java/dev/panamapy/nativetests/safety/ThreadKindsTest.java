package dev.panamapy.nativetests.safety;

import dev.panamapy.BufferRequest;
import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PyBufferView;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Class 8 of issue 15, thread kinds. On a virtual thread, closing works (PyObject,
 * PyBufferView, JavaBuffer: what a {@code finally} does) and leaves nothing half-done; every
 * call that runs Python is refused before it changes anything. A platform thread interrupted
 * before or during a call finishes the call and keeps its interrupt status.
 */
@Adversarial
class ThreadKindsTest {

    private final CPython py;

    ThreadKindsTest(CPython py) {
        this.py = py;
    }

    @BeforeEach
    void setUp() {
        py.exec("import sys\nt_ba = bytearray(16)\nt_obj = object()\nt_d = {}");
    }

    @AfterEach
    void tearDown() {
        py.exec("for _n in [n for n in globals() if n.startswith('t_')]: del globals()[_n]");
    }

    /** Runs the action on a new virtual thread, waits for it, and returns what it threw (or null). */
    private static Throwable onVirtualThread(Executable action) throws InterruptedException {
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread v = Thread.ofVirtual().start(() -> {
            try {
                action.execute();
            } catch (Throwable t) {
                thrown.set(t);
            }
        });
        assertTrue(v.join(java.time.Duration.ofSeconds(60)), "the virtual thread finished");
        return thrown.get();
    }

    private long refcount(String global) {
        try (PyObject n = py.eval("sys.getrefcount(" + global + ")")) {
            return n.asLong();
        }
    }

    private boolean bytearrayResizes() {
        try (PyObject r = py.eval("(lambda: (t_ba.extend(b'x'), t_ba.pop(), True)[2])()")) {
            return r.asBoolean();
        }
    }

    // ---- closing on a virtual thread works --------------------------------------------------------

    @Test
    void sharedViewClosedOnAVirtualThreadIsReleased() throws Exception {
        try (PyObject ba = py.getGlobal("t_ba")) {
            PyBufferView view = ba.getBufferShared(BufferRequest.FULL_RO);
            assertNull(onVirtualThread(view::close));
            assertTrue(view.isClosed());
            assertTrue(bytearrayResizes(), "the bytearray is no longer exported: its buffer was released");
        }
    }

    @Test
    void exporterClosesOnAVirtualThreadAfterItsSharedViewWasClosedThere() throws Exception {
        CPython.Diagnostics before = py.diagnostics();
        try (Arena arena = Arena.ofShared()) {
            JavaBuffer buf = py.export(BufferSpec.of(arena.allocate(16), "B"));
            PyObject obj = buf.asPyObject();
            PyBufferView view = obj.getBufferShared(BufferRequest.FULL_RO);
            assertEquals(1, buf.exportCount());
            assertNull(onVirtualThread(() -> {
                try (obj; view) {
                    view.segment();
                }
            }));
            assertEquals(0, buf.exportCount(), "the view was released, not only marked closed");
            assertNull(onVirtualThread(buf::close), "JavaBuffer.close() works on a virtual thread");
            assertTrue(buf.isClosed());
        }
        CPython.Diagnostics after = settle(before);
        assertEquals(before.liveExporters(), after.liveExporters());
        assertEquals(before.liveViews(), after.liveViews());
        assertEquals(before.liveReferences(), after.liveReferences());
    }

    @Test
    void exporterCloseOnAVirtualThreadRefusesLiveViewsAndChangesNothing() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            JavaBuffer buf = py.export(BufferSpec.of(arena.allocate(16), "B"));
            py.setGlobal("t_jb", buf);
            py.exec("t_view = memoryview(t_jb)");
            Throwable t = onVirtualThread(buf::close);
            assertInstanceOf(IllegalStateException.class, t);
            assertTrue(t.getMessage().contains("cannot close this JavaBuffer"), t.getMessage());
            assertFalse(buf.isClosed(), "nothing changed");
            assertEquals(1, buf.exportCount());
            py.exec("t_view.release(); del t_view, t_jb");
            assertNull(onVirtualThread(buf::close));
            assertTrue(buf.isClosed());
        }
    }

    @Test
    void confinedViewClosedOnAVirtualThreadIsRefusedAndStaysOpen() throws Exception {
        try (PyObject ba = py.getGlobal("t_ba");
             PyBufferView view = ba.getBuffer(BufferRequest.FULL_RO)) {
            assertInstanceOf(WrongThreadException.class, onVirtualThread(view::close));
            assertFalse(view.isClosed());
            assertEquals(16, view.segment().byteSize());
            PythonException e = assertThrows(PythonException.class, this::bytearrayResizes);
            assertTrue(e.is("BufferError"), "still exported: " + e.getMessage());
        }
        assertTrue(bytearrayResizes(), "closed on its own thread, the view is released");
    }

    @Test
    void thousandsOfPyObjectsClosedOnAVirtualThreadAreAllDropped() throws Exception {
        long refsBefore = refcount("t_obj");
        long liveBefore = py.diagnostics().liveReferences();
        List<PyObject> objects = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) objects.add(py.getGlobal("t_obj"));  // more than the 4096 that force a drain
        assertEquals(refsBefore + 10_000, refcount("t_obj"));
        assertNull(onVirtualThread(() -> { for (PyObject o : objects) o.close(); }));
        assertTrue(objects.stream().allMatch(PyObject::isClosed));
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (py.diagnostics().liveReferences() != liveBefore && System.nanoTime() < deadline) Thread.sleep(10);
        assertEquals(liveBefore, py.diagnostics().liveReferences());
        assertEquals(refsBefore, refcount("t_obj"));
    }

    // ---- calls that run Python are refused before anything changes --------------------------------

    @Test
    void everyPythonCallOnAVirtualThreadIsRefusedBeforeAnythingChanges() throws Exception {
        try (Arena arena = Arena.ofShared();
             PyObject d = py.getGlobal("t_d");
             PyObject obj = py.getGlobal("t_obj");
             PyObject ba = py.getGlobal("t_ba");
             JavaBuffer jb = py.export(BufferSpec.of(arena.allocate(8), "B"))) {
            Map<String, Executable> calls = new LinkedHashMap<>();
            calls.put("exec", () -> py.exec("t_x = 1"));
            calls.put("eval", () -> py.eval("1"));
            calls.put("setGlobal", () -> py.setGlobal("t_x", obj));
            calls.put("getGlobal", () -> py.getGlobal("t_obj"));
            calls.put("importModule", () -> py.importModule("json"));
            calls.put("defineFunction", () -> py.defineFunction("t_x", args -> null));
            calls.put("function", () -> py.function("t_x", args -> null));
            calls.put("export", () -> py.export(BufferSpec.of(arena.allocate(8), "B")));
            calls.put("gil", py::gil);
            calls.put("setItem", () -> d.setItem("k", obj));
            calls.put("setAttr", () -> d.setAttr("x", obj));
            calls.put("getAttr", () -> d.getAttr("update"));
            calls.put("getBuffer", () -> ba.getBuffer(BufferRequest.FULL_RO));
            calls.put("getBufferShared", () -> ba.getBufferShared(BufferRequest.FULL_RO));
            calls.put("toString", obj::toString);
            calls.put("JavaBuffer.asPyObject", jb::asPyObject);
            CPython.Diagnostics before = py.diagnostics();
            long objRefs = refcount("t_obj");
            for (Map.Entry<String, Executable> c : calls.entrySet()) {
                Throwable t = onVirtualThread(c.getValue());
                assertInstanceOf(UnsupportedOperationException.class, t, c.getKey());
                assertTrue(t.getMessage().contains("virtual thread") && t.getMessage().contains("platform thread"),
                        t.getMessage());
            }
            CPython.Diagnostics after = py.diagnostics();
            assertEquals(before, after, "no reference, exporter or view was taken");
            assertEquals(objRefs, refcount("t_obj"));
            try (PyObject unchanged = py.eval("len(t_d) == 0 and 't_x' not in globals()")) {
                assertTrue(unchanged.asBoolean(), "nothing was set or bound");
            }
            assertTrue(bytearrayResizes(), "no buffer was taken");
        }
    }

    // ---- interrupts ---------------------------------------------------------------------------------

    @Test
    void interruptedThreadStillCallsAndClosesAndKeepsItsStatus() {
        Thread.currentThread().interrupt();
        try {
            try (PyObject r = py.eval("6 * 7")) {
                assertEquals(42, r.asLong());
            }
            try (PyObject ba = py.getGlobal("t_ba")) {
                ba.getBuffer(BufferRequest.FULL_RO).close();
                ba.getBufferShared(BufferRequest.FULL_RO).close();
            }
            assertTrue(Thread.currentThread().isInterrupted(), "the interrupt status is kept");
        } finally {
            Thread.interrupted();
        }
        assertTrue(bytearrayResizes(), "both views were released");
    }

    @Test
    void interruptDuringACallLetsTheCallFinishAndKeepsTheStatus() throws Exception {
        CountDownLatch inside = new CountDownLatch(1);
        AtomicLong result = new AtomicLong();
        AtomicBoolean interruptedAfter = new AtomicBoolean(), nextCallWorked = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        try (PyObject started = py.function("t_started", args -> { inside.countDown(); return null; })) {
            py.setGlobal("t_started", started);
            Thread t = Thread.ofPlatform().start(() -> {
                try {
                    try (PyObject r = py.eval("(t_started(), __import__('time').sleep(0.2), 42)[2]")) {
                        result.set(r.asLong());
                    }
                    interruptedAfter.set(Thread.currentThread().isInterrupted());
                    Thread.interrupted();
                    try (PyObject r = py.eval("1 + 1")) {
                        nextCallWorked.set(r.asLong() == 2);
                    }
                } catch (Throwable e) {
                    failure.set(e);
                } finally {
                    py.detachThread();
                }
            });
            assertTrue(inside.await(60, TimeUnit.SECONDS));
            t.interrupt();
            t.join(TimeUnit.SECONDS.toMillis(60));
        }
        assertNull(failure.get());
        assertEquals(42, result.get(), "the call finished with its result");
        assertTrue(interruptedAfter.get(), "the interrupt status is kept");
        assertTrue(nextCallWorked.get());
    }

    @Test
    void interruptWhileWaitingForTheGilLetsTheCallFinish() throws Exception {
        CountDownLatch aboutToCall = new CountDownLatch(1);
        AtomicLong result = new AtomicLong();
        AtomicBoolean interruptedAfter = new AtomicBoolean();
        Thread t;
        try (var gil = py.gil()) {
            t = Thread.ofPlatform().start(() -> {
                aboutToCall.countDown();
                try (PyObject r = py.eval("40 + 2")) {        // waits for the GIL this test holds
                    result.set(r.asLong());
                }
                interruptedAfter.set(Thread.currentThread().isInterrupted());
                py.detachThread();
            });
            assertTrue(aboutToCall.await(60, TimeUnit.SECONDS));
            Thread.sleep(50);                                   // most likely inside PyGILState_Ensure now
            t.interrupt();
        }
        t.join(TimeUnit.SECONDS.toMillis(60));
        assertEquals(42, result.get());
        assertTrue(interruptedAfter.get());
    }

    @Test
    void interruptedVirtualThreadClosingASharedViewReleasesItAndKeepsTheStatus() throws Exception {
        try (PyObject ba = py.getGlobal("t_ba")) {
            PyBufferView view = ba.getBufferShared(BufferRequest.FULL_RO);
            AtomicBoolean interruptedAfter = new AtomicBoolean();
            assertNull(onVirtualThread(() -> {
                Thread.currentThread().interrupt();
                view.close();
                interruptedAfter.set(Thread.currentThread().isInterrupted());
            }));
            assertTrue(interruptedAfter.get());
            assertTrue(view.isClosed());
            assertTrue(bytearrayResizes());
        }
    }

    private CPython.Diagnostics settle(CPython.Diagnostics baseline) throws InterruptedException {
        long deadline = System.nanoTime() + 20_000_000_000L;
        CPython.Diagnostics d;
        while (true) {
            py.exec("import gc as _gc\n_gc.collect()");
            d = py.diagnostics();
            if ((d.liveExporters() <= baseline.liveExporters() && d.liveViews() <= baseline.liveViews()
                    && d.liveReferences() <= baseline.liveReferences()) || System.nanoTime() > deadline) {
                return d;
            }
            System.gc();
            Thread.sleep(20);
        }
    }
}
