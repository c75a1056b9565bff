package dev.panamapy.nativetests.safety;

import dev.panamapy.BufferExporter;
import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PyObject;
import dev.panamapy.testing.PythonRunner;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Map;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 15 class 1 end to end: the reproductions whose arithmetic overflowed (one of them was a
 * SIGSEGV in {@code memoryview(b)[1, 1]}) are refused in Java with an IllegalArgumentException,
 * before Python sees anything: no JavaBuffer is made, no view handed out. A dynamic exporter that
 * returns such a spec gets the consumer a BufferError naming the element, not a view.
 */
@Adversarial
class SpecOverflowExportTest {

    private final CPython py;
    private final Arena arena = Arena.ofShared();
    @RegisterExtension
    final NothingLeftBehind nothingLeftBehind;

    SpecOverflowExportTest(CPython py) {
        this.py = py;
        PythonRunner.run(py, "pass").close();       // its helper module's references are taken once, here
        this.nothingLeftBehind = new NothingLeftBehind(py);
    }

    @AfterEach
    void closeArena() {
        arena.close();
    }

    /** The export is refused in Java, and Python was never asked for anything. */
    private IllegalArgumentException refusedBeforePython(Supplier<BufferSpec> spec) {
        long exporters = py.diagnostics().liveExporters();
        long views = py.diagnostics().totalExports();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> py.export(spec.get()).close());
        assertEquals(exporters, py.diagnostics().liveExporters(), "no JavaBuffer was made");
        assertEquals(views, py.diagnostics().totalExports(), "no view was handed out");
        return e;
    }

    @Test
    void stridesWhoseSumWrapsAreRefusedBeforePython() {
        MemorySegment seg = arena.allocate(16);
        IllegalArgumentException e = refusedBeforePython(
                () -> BufferSpec.of(seg, "B").shape(2, 2).strides(1L << 62, 1L << 62));
        assertTrue(e.getMessage().startsWith("element [0, 1] lies at bytes [4611686018427387904, 4611686018427387905)"),
                e.getMessage());
    }

    @Test
    void aShapeOfLongMaxIsRefusedNamingIt() {
        MemorySegment seg = arena.allocate(16);
        IllegalArgumentException e = refusedBeforePython(() -> BufferSpec.of(seg, "d").shape(Long.MAX_VALUE));
        assertTrue(e.getMessage().startsWith("shape[0] = 9223372036854775807 makes the byte size"), e.getMessage());
        IllegalArgumentException b = refusedBeforePython(() -> BufferSpec.of(seg, "B").shape(Long.MAX_VALUE));
        assertTrue(b.getMessage().startsWith("element [16] lies at bytes [16, 17)"), b.getMessage());
    }

    @Test
    void aStrideOfLongMaxIsRefusedWithTheExactRange() {
        MemorySegment seg = arena.allocate(16);
        IllegalArgumentException e = refusedBeforePython(() -> BufferSpec.of(seg, "B").shape(3).strides(Long.MAX_VALUE));
        assertTrue(e.getMessage().startsWith("element [1] lies at bytes [9223372036854775807, 9223372036854775808)"),
                e.getMessage());
    }

    @Test
    void anOffsetOfLongMaxIsRefusedWithoutAWrappedRange() {
        MemorySegment seg = arena.allocate(16);
        IllegalArgumentException e = refusedBeforePython(() -> BufferSpec.of(seg, "B").offset(Long.MAX_VALUE));
        assertTrue(e.getMessage().startsWith("element [0] lies at bytes [9223372036854775807, 9223372036854775808)"),
                e.getMessage());
    }

    @Test
    void aDynamicExporterReturningAWrappingSpecGivesBufferErrorNotAView() {
        MemorySegment seg = arena.allocate(16);
        BufferExporter exporter = request -> BufferSpec.of(seg, "B").shape(2, 2).strides(1L << 62, 1L << 62);
        try (JavaBuffer b = py.export(exporter);
             PyObject ns = PythonRunner.run(py, """
                     try:
                         with memoryview(b) as m:          # never indexed: were it accepted, m[1, 1] would be SIGSEGV
                             r = 'VIEW %r %r' % (m.shape, m.strides)
                     except BufferError as e:
                         r = 'BufferError: %s' % e
                     """, Map.of("b", b));
             PyObject r = ns.getItem("r")) {
            String s = r.asString();
            assertTrue(s.startsWith("BufferError: ") && s.contains("element [0, 1] lies at bytes [4611686018427387904"), s);
            assertEquals(0, b.exportCount());
        }
    }
}
