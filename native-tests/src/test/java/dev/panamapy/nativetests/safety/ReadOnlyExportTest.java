package dev.panamapy.nativetests.safety;

import dev.panamapy.BufferExporter;
import dev.panamapy.BufferRequest;
import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.HarnessSpec;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PyBufferView;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;
import dev.panamapy.testing.PythonRunner;
import dev.panamapy.testing.RequiresPythonPackage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 15 class 2: memory Java marked read-only is never writable from Python. A spec over a
 * read-only segment gives {@code readonly = 1} to every view: memoryview refuses writes with
 * TypeError, writable requests (struct.pack_into, ctypes.from_buffer, Java's WRITABLE) get
 * BufferError, numpy's {@code flags.writeable} is False and cannot be set, for static and
 * dynamic exports. A {@code READ_ONLY} file mapping, where a write would be SIGSEGV, runs in
 * {@link ReadOnlyMappingMain} in a child JVM.
 */
@Adversarial
class ReadOnlyExportTest {

    private final CPython py;
    private final Arena arena = Arena.ofShared();
    @RegisterExtension
    final NothingLeftBehind nothingLeftBehind;

    ReadOnlyExportTest(CPython py) {
        this.py = py;
        PythonRunner.run(py, "pass").close();       // its helper module's references are taken once, here
        this.nothingLeftBehind = new NothingLeftBehind(py);
    }

    @AfterEach
    void closeArena() {
        arena.close();
    }

    /** 16 bytes 0..15, read-only. */
    private MemorySegment readOnlyBytes() {
        MemorySegment seg = arena.allocate(16);
        for (int i = 0; i < 16; i++) seg.set(ValueLayout.JAVA_BYTE, i, (byte) i);
        return seg.asReadOnly();
    }

    /** Runs {@code expr} with {@code b} bound: "value: repr", or "ExceptionType: message". */
    private String react(Object b, String expr) {
        String snippet = "try:\n    r = 'value: ' + repr(" + expr + ")\n"
                + "except Exception as e:\n    r = type(e).__name__ + ': ' + str(e)\n";
        try (PyObject ns = PythonRunner.run(py, snippet, Map.of("b", b)); PyObject r = ns.getItem("r")) {
            return r.asString();
        }
    }

    private static void assertUnchanged(MemorySegment seg) {
        for (int i = 0; i < 16; i++) assertEquals(i, seg.get(ValueLayout.JAVA_BYTE, i), "byte " + i + " unchanged");
    }

    @Test
    void aReadOnlySegmentIsReadOnlyInMemoryview() {
        MemorySegment ro = readOnlyBytes();
        BufferSpec spec = BufferSpec.of(ro, "B");
        assertTrue(spec.isReadOnly());
        try (JavaBuffer b = py.export(spec)) {
            assertEquals("value: True", react(b, "memoryview(b).readonly"));
            assertTrue(react(b, "repr(b)").contains("readonly=True"), react(b, "repr(b)"));
        }
    }

    @Test
    void writesThroughMemoryviewRaiseTypeErrorAndChangeNothing() {
        MemorySegment ro = readOnlyBytes();
        try (JavaBuffer b = py.export(BufferSpec.of(ro, "B").shape(4, 4))) {
            assertEquals("TypeError: cannot modify read-only memory", react(b, "memoryview(b).__setitem__((0, 0), 99)"));
            assertEquals("TypeError: cannot modify read-only memory",
                    react(b, "memoryview(b).cast('B').__setitem__(slice(0, 4), b'abcd')"));
        }
        assertUnchanged(ro);
    }

    @Test
    void writableRequestsOnReadOnlyMemoryAreRefused() {
        MemorySegment ro = readOnlyBytes();
        try (JavaBuffer b = py.export(BufferSpec.of(ro, "B")); PyObject x = b.asPyObject()) {
            String pack = react(b, "__import__('struct').pack_into('B', b, 0, 99)");
            assertTrue(pack.startsWith("BufferError: ") || pack.startsWith("TypeError: "), pack);
            String ctypes = react(b, "(__import__('ctypes').c_char * 16).from_buffer(b)");
            assertTrue(ctypes.startsWith("BufferError: ") || ctypes.startsWith("TypeError: "), ctypes);
            PythonException e = assertThrows(PythonException.class, () -> x.getBuffer(BufferRequest.WRITABLE));
            assertEquals("BufferError", e.pythonType());
            try (PyBufferView v = x.getBuffer(BufferRequest.FULL_RO)) {
                assertTrue(v.readOnly());
                assertTrue(v.segment().isReadOnly());
                assertThrows(UnsupportedOperationException.class, () -> v.setLong(1, 0));
            }
        }
        assertUnchanged(ro);
    }

    @Test
    @RequiresPythonPackage("numpy")
    void numpySeesAReadOnlySegmentAsNotWriteable() {
        MemorySegment ro = readOnlyBytes();
        try (JavaBuffer b = py.export(BufferSpec.of(ro, "B"))) {
            assertEquals("value: False", react(b, "__import__('numpy').asarray(b).flags.writeable"));
            String write = react(b, "__import__('numpy').asarray(b).__setitem__(0, 99)");
            assertTrue(write.startsWith("ValueError: assignment destination is read-only"), write);
            String flag = react(b, "setattr(__import__('numpy').asarray(b).flags, 'writeable', True)");
            assertTrue(flag.startsWith("ValueError: "), flag);
            assertEquals("value: False", react(b, "__import__('numpy').frombuffer(b, dtype='u1').flags.writeable"));
        }
        assertUnchanged(ro);
    }

    @Test
    void aDynamicExporterOverReadOnlyMemoryGivesReadOnlyViews() {
        MemorySegment ro = readOnlyBytes();
        BufferExporter exporter = request -> BufferSpec.of(ro, "B");
        try (JavaBuffer b = py.export(exporter); PyObject x = b.asPyObject()) {
            assertEquals("value: True", react(b, "memoryview(b).readonly"));
            assertEquals("TypeError: cannot modify read-only memory", react(b, "memoryview(b).__setitem__(0, 99)"));
            PythonException e = assertThrows(PythonException.class, () -> x.getBuffer(BufferRequest.WRITABLE));
            assertEquals("BufferError", e.pythonType());
        }
        assertUnchanged(ro);
    }

    @Test
    void aDynamicExporterCannotHandOutAWritableViewOfReadOnlyMemory() {
        MemorySegment ro = readOnlyBytes();
        BufferExporter exporter = request -> HarnessSpec.of(ro, "B").readOnly(false);   // throws in Java
        try (JavaBuffer b = py.export(exporter)) {
            String r = react(b, "memoryview(b)");
            assertTrue(r.startsWith("BufferError: ") && r.contains("IllegalArgumentException")
                    && r.contains("the memory is read-only"), r);
            assertEquals(0, b.exportCount());
        }
        assertUnchanged(ro);
    }

    @Test
    void anIndirectViewOfReadOnlyDataIsReadOnly() {
        MemorySegment ro = readOnlyBytes();
        try (JavaBuffer b = py.export(BufferSpec.indirect(ro, "B", 4, 4))) {
            assertEquals("value: True", react(b, "memoryview(b).readonly"));
            assertEquals("value: [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]]",
                    react(b, "memoryview(b).tolist()"));
            assertEquals("TypeError: cannot modify read-only memory", react(b, "memoryview(b).__setitem__((1, 1), 99)"));
        }
        assertUnchanged(ro);
    }

    @Test
    void aReadOnlyFileMappingWrittenFromPythonRaisesAndDoesNotCrash() throws Exception {
        ChildJvm.Result r = ChildJvm.main(ReadOnlyMappingMain.class).timeout(120).run();
        System.out.println(r.output());
        r.assertExit(0)
                .assertOutputContains("spec read-only: true")
                .assertOutputContains("memoryview readonly: True")
                .assertOutputContains("memoryview write: TypeError")
                .assertOutputContains("pack_into: refused")
                .assertOutputContains("ctypes.from_buffer: refused")
                .assertOutputContains("numpy: ")
                .assertOutputContains("__dlpack__: refused BufferError")
                .assertOutputContains("torch")
                .assertOutputContains("file unchanged: true");
    }
}
