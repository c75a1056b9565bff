package dev.panamapy.nativetests.exporter;

import dev.panamapy.BufferExporter;
import dev.panamapy.BufferLayout;
import dev.panamapy.BufferRequest;
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
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static dev.panamapy.nativetests.exporter.PyCheck.*;
import static java.lang.foreign.ValueLayout.*;
import static org.junit.jupiter.api.Assertions.*;

/** {@link BufferExporter}: asked on each getbuffer with Python's flags, told of each release, failures contained. */
@PythonTest
class DynamicExporterTest {

    /** memoryview(obj) asks PyBUF_FULL_RO: INDIRECT | FORMAT. */
    static final int FULL_RO = 0x11C;

    private final CPython py;
    private Arena arena;
    private CPython.Diagnostics baseline;

    DynamicExporterTest(CPython py) {
        this.py = py;
    }

    @BeforeEach
    void before() {
        arena = Arena.ofShared();
        py.exec("import gc");
        baseline = settle(d -> true, Duration.ZERO);
    }

    @AfterEach
    void after() {
        forgetTestGlobals();
        CPython.Diagnostics d = settleTo(baseline);
        assertEquals(baseline.liveViews(), d.liveViews(), "views balanced: " + d);
        assertEquals(baseline.liveExporters(), d.liveExporters(), "exporters balanced: " + d);
        arena.close();
    }

    private JavaBuffer export(BufferExporter exporter) {
        JavaBuffer buf = py.export(exporter);
        py.setGlobal("t_buf", buf);
        return buf;
    }

    @Test
    void memoryviewAsksOnceWithFullReadOnlyFlags() {
        MemorySegment seg = arena.allocate(JAVA_INT, 4);
        for (int i = 0; i < 4; i++) seg.setAtIndex(JAVA_INT, i, 10 + i);
        RecordingExporter rec = new RecordingExporter(BufferSpec.of(seg, "i"));
        try (JavaBuffer buf = export(rec)) {
            py.exec("t_m = memoryview(t_buf)");
            assertEquals(List.of(FULL_RO), rec.requests);
            assertTrue(new BufferRequest(rec.requests.get(0)).wantsIndirect());
            assertFalse(new BufferRequest(rec.requests.get(0)).wantsWritable());
            assertEquals("[10, 11, 12, 13]", str("t_m.tolist()"));
            py.exec("t_m[0] = -1");
            assertEquals(-1, seg.getAtIndex(JAVA_INT, 0));
            assertEquals(List.of(), rec.released);
            py.exec("t_m.release()");
            assertEquals(1, rec.released.size());
            assertSame(rec.given.get(0), rec.released.get(0), "told of the release of the spec it gave");
            assertNull(buf.spec(), "a dynamic export has no static spec");
        }
    }

    @Test
    void releaseIsCalledOncePerView() {
        RecordingExporter rec = new RecordingExporter(BufferSpec.of(arena.allocate(8), "B"));
        try (JavaBuffer buf = export(rec)) {
            py.exec("t_views = [memoryview(t_buf) for _ in range(5)]\nt_slices = [v[1:] for v in t_views]");
            assertEquals(5, rec.requests.size());
            assertEquals(5, buf.exportCount());
            py.exec("for v in t_views: v.release()");
            assertEquals(0, rec.released.size(), "slices keep each view alive");
            py.exec("del t_slices\ngc.collect()");
            assertEquals(5, rec.released.size());
            assertEquals(0, buf.exportCount());
            py.exec("t_views[0].release()");
            assertEquals(5, rec.released.size(), "a second release() is a no-op");
        }
    }

    @Test
    void eachConsumerPassesItsOwnFlags() {
        MemorySegment seg = arena.allocate(16);
        for (int i = 0; i < 16; i++) seg.set(JAVA_BYTE, i, (byte) i);
        RecordingExporter rec = new RecordingExporter(BufferSpec.of(seg, "B"));
        try (JavaBuffer buf = export(rec)) {
            py.exec("import zlib, struct, io\nt_crc = zlib.crc32(t_buf)");
            int crcFlags = rec.requests.getLast();
            py.exec("struct.pack_into('B', t_buf, 15, 99)");
            int packFlags = rec.requests.getLast();
            py.exec("t_b = bytes(t_buf)");
            int bytesFlags = rec.requests.getLast();
            System.out.printf("observed request flags: zlib.crc32 %s (0x%x), struct.pack_into %s (0x%x), bytes() %s (0x%x)%n",
                    BufferRequest.describe(crcFlags), crcFlags, BufferRequest.describe(packFlags), packFlags,
                    BufferRequest.describe(bytesFlags), bytesFlags);
            assertEquals(3, rec.requests.size());
            assertFalse(new BufferRequest(crcFlags).wantsWritable(), "a checksum only reads");
            assertTrue(new BufferRequest(packFlags).wantsWritable(), "pack_into writes");
            assertEquals(99, seg.get(JAVA_BYTE, 15));
            assertEquals(99, asLong("t_b[15]"));
            assertEquals(3, rec.released.size(), "every consumer released its view");
            assertEquals(0, buf.exportCount());
        }
    }

    @Test
    void writableRequestOnReadOnlyViewIsRefusedWithoutARelease() {
        RecordingExporter rec = new RecordingExporter(BufferSpec.of(arena.allocate(8), "B").readOnly());
        try (JavaBuffer buf = export(rec)) {
            PythonException e = raises("import struct\nstruct.pack_into('B', t_buf, 0, 1)");
            assertTrue(e.is("TypeError") || e.is("BufferError"), e.getMessage());
            assertEquals(1, rec.requests.size(), "asked once");
            assertTrue(new BufferRequest(rec.requests.get(0)).wantsWritable());
            assertEquals(0, rec.released.size(), "a refused view is never released");
            assertEquals(0, buf.exportCount());
        }
    }

    @Test
    void exporterMayHandOutADifferentViewEachTime() {
        MemorySegment a = arena.allocate(JAVA_INT, 2), b = arena.allocate(JAVA_INT, 3);
        a.setAtIndex(JAVA_INT, 0, 1);
        b.setAtIndex(JAVA_INT, 2, 3);
        List<BufferSpec> specs = List.of(BufferSpec.of(a, "i"), BufferSpec.of(b, "i").readOnly());
        int[] next = {0};
        List<BufferLayout> released = new CopyOnWriteArrayList<>();
        BufferExporter alternating = new BufferExporter() {
            @Override public BufferSpec getBuffer(BufferRequest r) { return specs.get(next[0]++ % 2); }
            @Override public void releaseBuffer(BufferLayout v) { released.add(v); }
        };
        try (JavaBuffer buf = export(alternating)) {
            py.exec("t_x = memoryview(t_buf)\nt_y = memoryview(t_buf)");
            assertEquals("[1, 0] False [0, 0, 3] True", str("f'{t_x.tolist()} {t_x.readonly} {t_y.tolist()} {t_y.readonly}'"));
            String r = str("repr(t_buf)");
            assertTrue(r.contains("exports=2") && r.contains("dynamic exporter"), r);
            py.exec("t_y.release()\nt_x.release()");
            assertEquals(List.of(specs.get(1), specs.get(0)), released, "each release names its own view");
        }
    }

    @Test
    void throwingExporterGivesBufferErrorWithJavaClassAndMessage() {
        BufferExporter failing = request -> {
            throw new UnsupportedOperationException("no views on Tuesdays (flags " + request + ")");
        };
        try (JavaBuffer buf = export(failing)) {
            PythonException e = raises("memoryview(t_buf)");
            assertTrue(e.is("BufferError"), e.getMessage());
            assertTrue(e.pythonMessage().contains("UnsupportedOperationException"), e.pythonMessage());
            assertTrue(e.pythonMessage().contains("no views on Tuesdays (flags INDIRECT|FORMAT)"), e.pythonMessage());
            assertEquals(0, buf.exportCount());
            assertEquals(baseline.liveViews(), py.diagnostics().liveViews());
        }
    }

    @Test
    void pythonCanCatchTheExportersFailureAndCarryOn() {
        int[] calls = {0};
        MemorySegment seg = arena.allocate(4);
        BufferExporter flaky = request -> {
            if (calls[0]++ % 2 == 0) throw new IllegalStateException("odd call");
            return BufferSpec.of(seg, "B");
        };
        try (JavaBuffer buf = export(flaky)) {
            py.exec("""
                    t_ok = t_err = 0
                    for _ in range(100):
                        try:
                            with memoryview(t_buf) as m:
                                m[0] = 5
                            t_ok += 1
                        except BufferError as e:
                            assert 'IllegalStateException' in str(e) and 'odd call' in str(e), str(e)
                            t_err += 1
                    """);
            assertEquals(50, asLong("t_ok"));
            assertEquals(50, asLong("t_err"));
            assertEquals(5, seg.get(JAVA_BYTE, 0));
            assertEquals(0, buf.exportCount());
            assertEquals(baseline.liveViews(), py.diagnostics().liveViews());
        }
    }

    @Test
    void exporterReturningNullGivesBufferError() {
        try (JavaBuffer buf = export(request -> null)) {
            PythonException e = raises("memoryview(t_buf)");
            assertTrue(e.is("BufferError"), e.getMessage());
            assertEquals(0, buf.exportCount());
        }
    }

    @Test
    void throwingReleaseIsIgnoredAndCountsStayBalanced() {
        MemorySegment seg = arena.allocate(4);
        BufferExporter badRelease = new BufferExporter() {
            @Override public BufferSpec getBuffer(BufferRequest r) { return BufferSpec.of(seg, "B"); }
            @Override public void releaseBuffer(BufferLayout v) { throw new RuntimeException("release failed on purpose"); }
        };
        try (JavaBuffer buf = export(badRelease)) {
            py.exec("for _ in range(10): memoryview(t_buf).release()");
            assertEquals(0, buf.exportCount());
            assertEquals(10, buf.totalExports());
            assertEquals(baseline.liveViews(), py.diagnostics().liveViews());
            assertEquals("[0, 0, 0, 0]", str("memoryview(t_buf).tolist()"), "still usable");
        }
    }

    @Test
    void exporterWhoseSpecIsOutsideItsRulesIsRefusedByTheBridge() {
        // the bridge applies the request rules to the exporter's answer: a Fortran 2-D view cannot be
        // handed to a C-contiguous request
        MemorySegment seg = arena.allocate(JAVA_INT, 6);
        RecordingExporter rec = new RecordingExporter(BufferSpec.of(seg, "i").shape(2, 3).fortran());
        try (JavaBuffer buf = export(rec)) {
            PythonException e = raises("import zlib\nzlib.crc32(t_buf)");
            assertTrue(e.is("BufferError") || e.is("TypeError"), e.getMessage());
            assertEquals(0, rec.released.size());
            assertEquals("[[0, 0, 0], [0, 0, 0]]", str("memoryview(t_buf).tolist()"), "FULL_RO still works");
            assertEquals(1, rec.released.size());
        }
    }
}
