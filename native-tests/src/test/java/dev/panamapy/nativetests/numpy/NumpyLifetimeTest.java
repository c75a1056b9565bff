package dev.panamapy.nativetests.numpy;

import dev.panamapy.BufferRequest;
import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.nativetests.exporter.RecordingExporter;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.ref.WeakReference;
import java.time.Duration;

import dev.panamapy.nativetests.exporter.PyCheck;
import dev.panamapy.testing.RequiresPythonPackage;
import static dev.panamapy.nativetests.exporter.PyCheck.*;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.*;

/** numpy arrays keep Java memory alive, are counted as exports, and ask dynamic exporters consistently. */
@RequiresPythonPackage("numpy")
class NumpyLifetimeTest {

    private final CPython py;
    private CPython.Diagnostics baseline;

    NumpyLifetimeTest(CPython py) {
        this.py = py;
    }

    @BeforeEach
    void before() {
        py.exec("import gc\nimport numpy as np");
        baseline = settle(d -> true, Duration.ZERO);
    }

    @AfterEach
    void after() {
        if (baseline == null) return;       // skipped: numpy is not installed
        forgetTestGlobals();
        CPython.Diagnostics d = settleTo(baseline);
        assertEquals(baseline.liveViews(), d.liveViews(), "views balanced: " + d);
        assertEquals(baseline.liveExporters(), d.liveExporters(), "exporters balanced: " + d);
    }

    private static void fill(MemorySegment seg, long factor) {
        for (long i = 0; i < seg.byteSize() / 8; i++) seg.setAtIndex(JAVA_LONG, i, i * factor + 1);
    }

    @Test
    void numpyArrayKeepsSharingArenaMemoryAfterJavaClosedBufferAndArena() {
        Arena arena = py.arena();
        MemorySegment seg = arena.allocate(JAVA_LONG, 100_000);
        fill(seg, 3);
        JavaBuffer buf = py.export(BufferSpec.of(seg, "q").shape(1000, 100));
        py.setGlobal("t_buf", buf);
        py.exec("t_arr = np.asarray(t_buf)\ndel t_buf");
        buf.close();
        arena.close();
        System.gc();
        assertTrue(seg.scope().isAlive(), "numpy's array pins the memory");
        assertEquals(1, py.diagnostics().liveExporters() - baseline.liveExporters());
        assertEquals(1, py.diagnostics().liveViews() - baseline.liveViews());
        assertTrue(isTrue("(t_arr.ravel() == np.arange(100_000) * 3 + 1).all()"), "values intact");
        py.exec("t_arr[999, 99] = -7");
        assertEquals(-7, seg.getAtIndex(JAVA_LONG, 99_999), "Java still sees numpy's write");

        py.exec("del t_arr\ngc.collect()");
        assertFalse(seg.scope().isAlive(), "freed once numpy let go");
        CPython.Diagnostics d = py.diagnostics();
        assertEquals(baseline.liveExporters(), d.liveExporters());
        assertEquals(baseline.liveViews(), d.liveViews());
    }

    @Test
    void derivedNumpyViewsKeepTheMemoryToo() {
        Arena arena = py.arena();
        MemorySegment seg = arena.allocate(JAVA_LONG, 1000);
        fill(seg, 2);
        try (JavaBuffer buf = py.export(BufferSpec.of(seg, "q"))) {
            py.setGlobal("t_buf", buf);
            py.exec("t_view = np.asarray(t_buf)[::-10].reshape(10, 10).T\ndel t_buf");
        }
        arena.close();
        assertTrue(seg.scope().isAlive());
        assertEquals(999 * 2 + 1, asLong("t_view[0, 0]"));
        py.exec("del t_view\ngc.collect()");
        assertFalse(seg.scope().isAlive());
    }

    /** Auto-arena memory is the caller's: close() refuses while numpy holds a view, so Java drops the handle unclosed. */
    private WeakReference<MemorySegment> exportAutoSegmentToNumpy() {
        MemorySegment seg = Arena.ofAuto().allocate(JAVA_LONG, 8192);
        fill(seg, 7);
        JavaBuffer buf = py.export(BufferSpec.of(seg, "q"));
        py.setGlobal("t_buf", buf);
        py.exec("t_arr = np.asarray(t_buf)\ndel t_buf");
        assertThrows(IllegalStateException.class, buf::close, "the caller's memory: close() refuses while a view lives");
        return new WeakReference<>(seg);
    }

    @Test
    void numpyKeepsAutoArenaSegmentAfterJavaDroppedIt() throws InterruptedException {
        WeakReference<MemorySegment> ref = exportAutoSegmentToNumpy();
        PyCheck.collectGarbageHard();
        assertNotNull(ref.get(), "the export keeps the segment reachable");
        assertTrue(isTrue("(t_arr == np.arange(8192) * 7 + 1).all()"), "numpy reads correct values");
        py.exec("del t_arr\ngc.collect()");
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (ref.get() != null && System.nanoTime() < deadline) {
            System.gc();                        // the Cleaner drops the unclosed handle's reference
            Thread.sleep(10);
            py.exec("pass");
        }
        assertNull(ref.get(), "collectable once numpy let go");
    }

    @Test
    void exportCountCountsNumpyArraysAndMemoryviews() {
        try (Arena arena = Arena.ofShared()) {
            JavaBuffer buf = py.export(BufferSpec.of(arena.allocate(JAVA_LONG, 10), "q"));
            py.setGlobal("t_buf", buf);
            py.exec("t_a = np.asarray(t_buf)\nt_b = np.frombuffer(t_buf, dtype=np.int64)\nt_m = memoryview(t_buf)");
            assertEquals(3, buf.exportCount());
            py.exec("t_c = t_a[2:5]\nt_d = t_b.reshape(2, 5)");
            assertEquals(3, buf.exportCount(), "numpy views of an array share its export");
            py.exec("del t_a");
            assertEquals(3, buf.exportCount(), "t_c still holds t_a's export");
            py.exec("del t_c");
            assertEquals(2, buf.exportCount());
            py.exec("del t_b, t_d\nt_m.release()");
            assertEquals(0, buf.exportCount());
            buf.close();
        }
    }

    @Test
    void numpyAsksDynamicExportersConsistently() {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment seg = arena.allocate(JAVA_LONG, 6);
            fill(seg, 1);
            RecordingExporter rec = new RecordingExporter(BufferSpec.of(seg, "q").shape(2, 3));
            JavaBuffer buf = py.export(rec);
            py.setGlobal("t_buf", buf);
            py.exec("t_a = np.asarray(t_buf)");
            int asarray = rec.requests.getLast();
            int asarrayCalls = rec.requests.size();
            py.exec("t_b = np.frombuffer(t_buf, dtype=np.int64)");
            int frombuffer = rec.requests.getLast();
            System.out.printf("numpy request flags: asarray %s (0x%x) in %d call(s), frombuffer %s (0x%x)%n",
                    BufferRequest.describe(asarray), asarray, asarrayCalls, BufferRequest.describe(frombuffer), frombuffer);
            assertTrue(new BufferRequest(asarray).wantsFormat() && new BufferRequest(asarray).wantsStrides(),
                    "asarray needs the format and the strides to build its dtype and layout");
            assertEquals("(2, 3) [[1, 2, 3], [4, 5, 6]]", str("f'{t_a.shape} {t_a.tolist()}'"));
            assertEquals("[1, 2, 3, 4, 5, 6]", str("t_b.tolist()"));
            assertEquals(2, buf.exportCount());
            assertEquals(rec.requests.size(), rec.given.size());
            py.exec("del t_a, t_b\ngc.collect()");
            assertEquals(2, rec.released.size(), "one release per view numpy kept");
            assertEquals(0, buf.exportCount());
            buf.close();
        }
    }

    @Test
    void numpyOnReadOnlyDynamicExportGetsOneViewAndOneRelease() {
        try (Arena arena = Arena.ofShared()) {
            RecordingExporter rec = new RecordingExporter(BufferSpec.of(arena.allocate(JAVA_LONG, 2), "q").readOnly());
            JavaBuffer buf = py.export(rec);
            py.setGlobal("t_buf", buf);
            py.exec("t_a = np.frombuffer(t_buf, dtype=np.int64)");
            assertFalse(isTrue("t_a.flags.writeable"));
            System.out.printf("numpy frombuffer on a read-only exporter asked: %s%n",
                    rec.requests.stream().map(f -> BufferRequest.describe(f) + " (0x" + Integer.toHexString(f) + ")").toList());
            long refusedWritable = rec.requests.stream().filter(f -> new BufferRequest(f).wantsWritable()).count();
            assertEquals(rec.requests.size() - refusedWritable, buf.exportCount(),
                    "writable requests are refused, the rest became the views numpy holds");
            py.exec("del t_a\ngc.collect()");
            assertEquals(rec.requests.size() - refusedWritable, rec.released.size());
            assertEquals(0, buf.exportCount());
            buf.close();
        }
    }
}
