package dev.panamapy.nativetests.exporter;

import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PythonException;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.WeakReference;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.panamapy.nativetests.exporter.PyCheck.*;
import static java.lang.foreign.ValueLayout.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Who keeps memory alive (design.md "Invariants", JavaBuffer javadoc), with memoryview as the
 * consumer so that it runs on every Python; numpy's version is in nativetests.numpy.
 */
@PythonTest
class LifetimeTest {

    private final CPython py;
    private CPython.Diagnostics baseline;

    LifetimeTest(CPython py) {
        this.py = py;
    }

    @BeforeEach
    void before() {
        py.exec("import gc, threading");
        baseline = settle(d -> true, Duration.ZERO);
    }

    @AfterEach
    void after() {
        forgetTestGlobals();
        CPython.Diagnostics d = settleTo(baseline);
        assertEquals(baseline.liveViews(), d.liveViews(), "live views back to baseline: " + d);
        assertEquals(baseline.liveExporters(), d.liveExporters(), "live exporters back to baseline: " + d);
    }

    private static void fillLongs(MemorySegment seg, long factor) {
        for (long i = 0; i < seg.byteSize() / 8; i++) seg.setAtIndex(JAVA_LONG, i, i * factor + 1);
    }

    private static final String SAME_AS_FILL = "t_m.tolist() == [i * %d + 1 for i in range(len(t_m))]";

    // ---- (a) memory from CPython.arena() outlives Java's close ---------------------------------

    @Test
    void sharingArenaMemoryOutlivesJavaCloseWhileAViewIsHeld() {
        Arena arena = py.arena();
        MemorySegment seg = arena.allocate(JAVA_LONG, 1000);
        fillLongs(seg, 3);
        JavaBuffer buf = py.export(BufferSpec.of(seg, "q"));
        py.setGlobal("t_buf", buf);
        py.exec("t_m = memoryview(t_buf)\ndel t_buf");
        buf.close();
        arena.close();
        assertTrue(seg.scope().isAlive(), "a live view pins the memory after the arena is closed");
        assertEquals(1, py.diagnostics().liveViews() - baseline.liveViews());
        assertTrue(isTrue(SAME_AS_FILL.formatted(3)), "values intact after Java closed everything");
        py.exec("t_m[999] = -42");
        assertEquals(-42, seg.getAtIndex(JAVA_LONG, 999), "Python's write is still seen by Java");
    }

    @Test
    void sharingArenaMemoryIsFreedOnceThePythonViewGoes() {
        Arena arena = py.arena();
        MemorySegment seg = arena.allocate(JAVA_LONG, 100);
        fillLongs(seg, 5);
        try (JavaBuffer buf = py.export(BufferSpec.of(seg, "q"))) {
            py.setGlobal("t_buf", buf);
            py.exec("t_m = memoryview(t_buf)[10:20]\ndel t_buf");
        }
        arena.close();
        assertTrue(seg.scope().isAlive());
        assertEquals("[51, 56, 61]", str("t_m[:3].tolist()"));
        py.exec("del t_m\ngc.collect()");
        assertFalse(seg.scope().isAlive(), "freed when Python let go");
        CPython.Diagnostics d = py.diagnostics();
        assertEquals(baseline.liveExporters(), d.liveExporters());
        assertEquals(baseline.liveViews(), d.liveViews());
    }

    @Test
    void sharingArenaClosedAfterPythonLetGoFreesAtClose() {
        Arena arena = py.arena();
        MemorySegment seg = arena.allocate(64);
        JavaBuffer buf = py.export(BufferSpec.of(seg, "B"));
        py.setGlobal("t_buf", buf);
        py.exec("t_m = memoryview(t_buf)\nt_m[0] = 7\nt_m.release()\ndel t_m, t_buf");
        buf.close();
        assertTrue(seg.scope().isAlive(), "not closed yet");
        assertEquals(7, seg.get(JAVA_BYTE, 0));
        arena.close();
        assertFalse(seg.scope().isAlive(), "nothing pins it: freed at close()");
    }

    // ---- (b) Arena.ofAuto() ---------------------------------------------------------------------

    /**
     * Exports 4096 longs from an auto arena; the only strong path to the segment is the export.
     * Auto-arena memory is the caller's (the bridge cannot prove what keeps it): close() refuses
     * while the view lives, so Java drops its handle unclosed, as a caller who lets go would.
     */
    private WeakReference<MemorySegment> exportAutoSegmentAsView() {
        MemorySegment seg = Arena.ofAuto().allocate(JAVA_LONG, 4096);
        fillLongs(seg, 7);
        JavaBuffer buf = py.export(BufferSpec.of(seg, "q"));
        py.setGlobal("t_buf", buf);
        py.exec("t_m = memoryview(t_buf)\ndel t_buf");
        assertThrows(IllegalStateException.class, buf::close, "the caller's memory: close() refuses while a view lives");
        return new WeakReference<>(seg);
    }

    @Test
    void autoArenaSegmentStaysValidWhileExportedAfterJavaDroppedIt() throws InterruptedException {
        WeakReference<MemorySegment> ref = exportAutoSegmentAsView();
        PyCheck.collectGarbageHard();
        assertNotNull(ref.get(), "the export keeps the segment reachable");
        assertTrue(isTrue(SAME_AS_FILL.formatted(7)), "Python still reads Java's values");
        py.exec("t_m[4095] = 123");
        assertEquals(123, ref.get().getAtIndex(JAVA_LONG, 4095));
    }

    @Test
    void autoArenaSegmentBecomesCollectableAfterPythonLetGo() throws InterruptedException {
        WeakReference<MemorySegment> ref = exportAutoSegmentAsView();
        py.exec("t_m.release()\ndel t_m\ngc.collect()");
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (ref.get() != null && System.nanoTime() < deadline) {
            System.gc();                        // the Cleaner drops the unclosed handle's reference
            Thread.sleep(10);
            py.exec("pass");
        }
        assertNull(ref.get(), "no export left: the segment is garbage");
    }

    // ---- (c) the user's own shared arena -------------------------------------------------------

    @Test
    void closeWithLiveViewOverOwnArenaThrowsNamingTheViews() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = arena.allocate(16);
            JavaBuffer buf = py.export(BufferSpec.of(seg, "B"));
            py.setGlobal("t_buf", buf);
            py.exec("t_m1 = memoryview(t_buf)\nt_m2 = memoryview(t_buf)");
            IllegalStateException e = assertThrows(IllegalStateException.class, buf::close);
            assertTrue(e.getMessage().contains("2 live view(s)"), e.getMessage());
            assertEquals(2, e.getMessage().split("view #", -1).length - 1, e.getMessage());
            assertTrue(e.getMessage().contains("INDIRECT|FORMAT"), "names the request: " + e.getMessage());
            py.exec("t_m1.release()\nt_m2.release()");
            buf.close();
        }
    }

    @Test
    void refusedCloseChangesNothing() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = arena.allocate(JAVA_INT, 4);
            JavaBuffer buf = py.export(BufferSpec.of(seg, "i"));
            py.setGlobal("t_buf", buf);
            py.exec("t_m = memoryview(t_buf)");
            assertThrows(IllegalStateException.class, buf::close);
            assertEquals(1, buf.exportCount());
            assertFalse(buf.isClosed());
            // still usable both ways
            seg.setAtIndex(JAVA_INT, 2, 31);
            assertEquals(31, asLong("memoryview(t_buf)[2]"));
            py.exec("memoryview(t_buf)[3] = 41");
            assertEquals(41, seg.getAtIndex(JAVA_INT, 3));
            assertEquals(1, buf.exportCount());
            py.exec("t_m.release()");
            buf.close();
            assertTrue(buf.isClosed());
        }
    }

    @Test
    void closeSucceedsOnceThePythonViewIsReleased() {
        try (Arena arena = Arena.ofShared()) {
            JavaBuffer buf = py.export(BufferSpec.of(arena.allocate(8), "B"));
            py.setGlobal("t_buf", buf);
            py.exec("t_m = memoryview(t_buf)");
            assertThrows(IllegalStateException.class, buf::close);
            py.exec("t_m.release()");
            assertDoesNotThrow(buf::close);
            PythonException e = raises("memoryview(t_buf)");
            assertTrue(e.is("BufferError"), e.getMessage());
            assertTrue(e.pythonMessage().contains("closed"), e.pythonMessage());
        }
    }

    @Test
    void viewAfterUserClosedTheArenaRaisesBufferErrorAboutFreedMemory() {
        Arena arena = Arena.ofShared();
        JavaBuffer buf = py.export(BufferSpec.of(arena.allocate(8), "B"));
        py.setGlobal("t_buf", buf);
        arena.close();
        PythonException e = raises("memoryview(t_buf)");
        assertTrue(e.is("BufferError"), e.getMessage());
        assertTrue(e.pythonMessage().contains("freed"), e.pythonMessage());
        assertEquals(0, buf.exportCount());
        assertEquals(baseline.liveViews(), py.diagnostics().liveViews());
        PythonException bytes = raises("bytes(t_buf)");
        assertTrue(bytes.pythonMessage().contains("freed") || bytes.is("TypeError"), bytes.getMessage());
        buf.close();
    }

    @Test
    void closedJavaBufferRefusesNewViewsWhileOldViewsStayValid() {
        Arena arena = py.arena();
        MemorySegment seg = arena.allocate(JAVA_LONG, 3);
        fillLongs(seg, 2);
        JavaBuffer buf = py.export(BufferSpec.of(seg, "q"));
        py.setGlobal("t_buf", buf);
        py.exec("t_m = memoryview(t_buf)");
        buf.close();
        PythonException e = raises("memoryview(t_buf)");
        assertTrue(e.is("BufferError") && e.pythonMessage().contains("closed"), e.getMessage());
        assertEquals("[1, 3, 5]", str("t_m.tolist()"));
        py.exec("t_m.release()\ndel t_m, t_buf");
        arena.close();
        assertFalse(seg.scope().isAlive());
    }

    // ---- (d) awaitReleased, onRelease, exportCount ---------------------------------------------

    @Test
    void awaitReleasedReturnsTrueAfterAPythonThreadReleases() throws InterruptedException {
        try (Arena arena = Arena.ofShared()) {
            JavaBuffer buf = py.export(BufferSpec.of(arena.allocate(8), "B"));
            py.setGlobal("t_buf", buf);
            py.exec("t_m = memoryview(t_buf)\nt_timer = threading.Timer(0.2, t_m.release)\nt_timer.start()");
            long t0 = System.nanoTime();
            assertTrue(buf.awaitReleased(Duration.ofSeconds(10)));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms >= 150, "waited for the timer thread, " + ms + " ms");
            assertEquals(0, buf.exportCount());
            py.exec("t_timer.join()");
            buf.close();
        }
    }

    @Test
    void awaitReleasedReturnsFalseOnTimeout() throws InterruptedException {
        try (Arena arena = Arena.ofShared()) {
            JavaBuffer buf = py.export(BufferSpec.of(arena.allocate(8), "B"));
            py.setGlobal("t_buf", buf);
            py.exec("t_m = memoryview(t_buf)");
            long t0 = System.nanoTime();
            assertFalse(buf.awaitReleased(Duration.ofMillis(150)));
            assertTrue(System.nanoTime() - t0 >= 140_000_000L, "waited the whole timeout");
            assertEquals(1, buf.exportCount());
            py.exec("t_m.release()");
            assertTrue(buf.awaitReleased(Duration.ZERO), "nothing live: true at once");
            buf.close();
        }
    }

    @Test
    void awaitReleasedIsTrueAtOnceWithoutViews() throws InterruptedException {
        try (Arena arena = Arena.ofShared(); JavaBuffer buf = py.export(BufferSpec.of(arena.allocate(8), "B"))) {
            assertTrue(buf.awaitReleased(Duration.ZERO));
        }
    }

    @Test
    void onReleaseListenerSeesTheRemainingCounts() {
        try (Arena arena = Arena.ofShared()) {
            JavaBuffer buf = py.export(BufferSpec.of(arena.allocate(8), "B"));
            List<Integer> seen = new CopyOnWriteArrayList<>();
            buf.onRelease(seen::add);
            py.setGlobal("t_buf", buf);
            py.exec("t_views = [memoryview(t_buf) for _ in range(3)]");
            assertEquals(3, buf.exportCount());
            py.exec("t_views[1].release()\nt_views[0].release()\nt_views[2].release()");
            assertEquals(List.of(2, 1, 0), seen);
            buf.onRelease(null);
            py.exec("memoryview(t_buf).release()");
            assertEquals(3, seen.size(), "a removed listener is not called");
            buf.close();
        }
    }

    @Test
    void exportCountCountsMemoryviewsButNotTheirSlices() {
        try (Arena arena = Arena.ofShared()) {
            JavaBuffer buf = py.export(BufferSpec.of(arena.allocate(JAVA_INT, 10), "i"));
            py.setGlobal("t_buf", buf);
            assertEquals(0, buf.exportCount());
            py.exec("t_a = memoryview(t_buf)\nt_b = memoryview(t_buf)");
            assertEquals(2, buf.exportCount());
            long total = buf.totalExports();
            py.exec("t_s = t_a[2:8:2]\nt_c = memoryview(t_a)\nt_d = t_b.cast('B')");
            assertEquals(2, buf.exportCount(), "slices, casts and memoryview(memoryview) re-export the same view");
            assertEquals(total, buf.totalExports());
            py.exec("t_a.release()");
            assertEquals(2, buf.exportCount(), "the view behind t_a lives on while its slice and copy live");
            py.exec("t_s.release()");
            assertEquals(2, buf.exportCount());
            py.exec("t_c.release()");
            assertEquals(1, buf.exportCount());
            py.exec("t_d.release()\nt_b.release()");
            assertEquals(0, buf.exportCount());
            buf.close();
        }
    }
}
