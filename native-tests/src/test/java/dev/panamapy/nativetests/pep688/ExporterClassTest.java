package dev.panamapy.nativetests.pep688;

import dev.panamapy.BufferExporter;
import dev.panamapy.BufferRequest;
import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.nativetests.exporter.RecordingExporter;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link CPython#exporterClass}: a Java {@code BufferExporter} as the base of Python classes, so
 * Python logic (slicing, casting, bookkeeping in {@code __release_buffer__}) composes with a Java
 * exporter through PEP 688 delegation ({@code super().__buffer__(flags)}).
 */
@PythonTest
class ExporterClassTest {

    private final CPython py;
    private Arena arena;
    private MemorySegment seg;
    private RecordingExporter exporter;
    private CPython.Diagnostics baseline;

    ExporterClassTest(CPython py) {
        this.py = py;
    }

    @BeforeEach
    void exportTwentyBytes() {
        py.exec("import gc, panamapy; gc.collect()");
        baseline = py.diagnostics();
        arena = py.arena();
        seg = arena.allocate(20);
        for (int i = 0; i < 20; i++) seg.set(JAVA_BYTE, i, (byte) (i + 1));
        exporter = new RecordingExporter(BufferSpec.of(seg, "B"));
        try (PyObject cls = py.exporterClass("Frame", exporter)) {
            py.setGlobal("Frame", cls);
        }
    }

    @AfterEach
    void nothingLeftOnceTheClassesAreGone() {
        py.exec("""
                for _n in [n for n in globals() if n in ('Frame', 'Header', 'Words', 'h', 'w', 'f', 'm', 'log')]:
                    del globals()[_n]
                gc.collect()
                """);
        arena.close();
        CPython.Diagnostics d = py.diagnostics();
        assertEquals(baseline.liveViews(), d.liveViews(), "views: " + d);
        assertEquals(baseline.liveExporters(), d.liveExporters(), "exporters: " + d);
        assertEquals(baseline.liveReferences(), d.liveReferences(), "references: " + d);
    }

    private String str(String expr) {
        try (PyObject r = py.eval(expr)) {
            return r.asString();
        }
    }

    @Test
    void instancesExportTheJavaMemory() {
        py.exec("f = Frame(); data = bytes(f)");
        assertEquals("b'\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\t\\n\\x0b\\x0c\\r\\x0e\\x0f\\x10\\x11\\x12\\x13\\x14'",
                str("repr(data)"));
        assertEquals(List.of(BufferRequest.FULL_RO.flags()), exporter.requests, "memoryview's request reaches Java");
        assertEquals(1, exporter.released.size(), "and its release");
    }

    @Test
    void aPythonSubclassCallsUpToJavaAndShapesTheView() {
        py.exec("""
                log = []
                class Header(Frame):
                    def __buffer__(self, flags):
                        log.append(flags)
                        return super().__buffer__(flags)[:4]
                    def __release_buffer__(self, view):
                        log.append('released %d bytes' % len(view))
                        view.release()
                h = Header()
                with memoryview(h) as m:
                    first = m.tolist()
                """);
        assertEquals("[1, 2, 3, 4] [284, 'released 4 bytes'] True", str("f'{first} {log} {isinstance(h, Frame)}'"));
        assertEquals(1, exporter.released.size(), "Java saw the release once the Python view was let go");
    }

    @Test
    void aPythonSubclassCanCastTheJavaMemoryAndWriteThroughIt() {
        py.exec("""
                class Words(Frame):
                    def __buffer__(self, flags):
                        return super().__buffer__(flags).cast('B', (4, 5))
                w = Words()
                with memoryview(w) as m:
                    shape = m.shape
                    m[0, 0] = 99
                """);
        assertEquals("(4, 5)", str("repr(shape)"));
        assertEquals(99, seg.get(JAVA_BYTE, 0), "the write reached Java's segment");
    }

    @Test
    void aNameThatIsNoIdentifierIsRefusedAndNothingIsExported() {
        long before = py.diagnostics().liveExporters();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> py.exporterClass("not a name", exporter));
        assertTrue(e.getMessage().contains("Python identifier"), e.getMessage());
        assertEquals(before, py.diagnostics().liveExporters());
    }

    @Test
    void aJavaRefusalIsTheConsumersBufferError() {
        BufferExporter refusing = request -> {
            throw new IllegalStateException("not now");
        };
        try (PyObject cls = py.exporterClass("Refusing", refusing)) {
            py.setGlobal("Refusing", cls);
        }
        // caught in Python: a PythonException in Java would keep the traceback (and the class) a while
        py.exec("""
                try:
                    memoryview(Refusing())
                except BufferError as e:
                    refused = str(e)
                del Refusing
                """);
        assertTrue(str("refused").contains("not now"), str("refused"));
        py.exec("del refused");
    }
}
