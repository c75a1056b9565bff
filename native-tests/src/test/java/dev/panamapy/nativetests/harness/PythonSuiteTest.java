package dev.panamapy.nativetests.harness;

import dev.panamapy.BufferRequest;
import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.HarnessSpec;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PyObject;
import dev.panamapy.testing.PytestResult;
import dev.panamapy.testing.PythonPackages;
import dev.panamapy.testing.PythonRunner;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs the Python-side suite in {@code src/test/python} with pytest, in this JVM's CPython. The
 * tests get Java exporters through the module {@code panamapy_fixtures}, put into
 * {@code sys.modules} here: {@code export(fmt, data, shape, strides, offset, readonly)} copies
 * the bytes into new native memory and exports that layout (a checked spec);
 * {@code harness(name)} exports one of the deliberately broken views of {@link #harness};
 * {@code why_missing(package)} is {@link PythonPackages#whyMissing}, for the conftest's
 * {@code need} fixture. Skipped (with the reason) where pytest is not installed and not
 * required, failed where it is required ({@link PythonPackages}).
 */
@PythonTest
class PythonSuiteTest {

    static final Path SUITE = Path.of("src", "test", "python");

    @BeforeAll
    static void bindFixtures(CPython py) {
        try (PyObject export = py.function("export", PythonSuiteTest::export);
             PyObject harness = py.function("harness", a -> harness(py, (String) a[0]));
             PyObject whyMissing = py.function("why_missing", a -> PythonPackages.whyMissing(py, (String) a[0]))) {
            PythonRunner.run(py, """
                    import sys, types
                    m = types.ModuleType("panamapy_fixtures", "Java exporters for the Python-side suite")
                    m.export = export
                    m.harness = harness
                    m.why_missing = why_missing
                    sys.modules["panamapy_fixtures"] = m
                    """, Map.of("export", export, "harness", harness, "why_missing", whyMissing)).close();
        }
    }

    @Test
    void pythonSuitePasses(CPython py) {
        PytestResult r = PythonRunner.assertPytestPasses(py, SUITE, "-q", "-rs");
        assertTrue(r.passed() > 0, r.summary());
    }

    /** export(fmt, data, shape, strides or None, offset, readonly) from Python. */
    private static Object export(Object[] a) {
        String format = (String) a[0];
        byte[] data = (byte[]) a[1];
        long[] shape = longs((PyObject) a[2]);
        long offset = (Long) a[4];
        boolean readOnly = (Boolean) a[5];
        MemorySegment seg = Arena.ofAuto().allocate(Math.max(1, data.length), 16).asSlice(0, data.length);
        MemorySegment.copy(data, 0, seg, ValueLayout.JAVA_BYTE, 0, data.length);
        BufferSpec spec = BufferSpec.of(seg, format);
        long[] strides = a[3] == null ? BufferSpec.cStrides(shape, spec.itemsize()) : longs((PyObject) a[3]);
        return py().export(spec.layout(offset, shape, strides).readOnly(readOnly));
    }

    private static CPython py() {
        return dev.panamapy.testing.PanamapyExtension.python();
    }

    /** The harness views by name, as in HarnessViewsTest. */
    static JavaBuffer harness(CPython py, String name) {
        HarnessSpec s = switch (name) {
            case "len8" -> HarnessSpec.of(Reactions.doubles(1, 2, 3, 4), "d").len(8);
            case "unknown_format" -> HarnessSpec.of(Reactions.ints(1, 2), "Z");
            case "ndim64" -> HarnessSpec.of(Reactions.ints(7), "i").shape(ones(64));
            case "ndim65" -> HarnessSpec.of(Reactions.ints(7), "i").shape(ones(65));
            case "indirect" -> HarnessSpec.from(BufferSpec.indirect(Reactions.ints(1, 2, 3, 4, 5, 6), "i", 2, 3));
            case "null_strides_fortran" -> HarnessSpec.of(Reactions.ints(1, 2, 3, 4, 5, 6), "i").shape(2, 3)
                    .fortran().nullStrides();
            case "refusing_writable" -> HarnessSpec.from(BufferSpec.of(Reactions.ints(1, 2, 3), "i"))
                    .refusing(BufferRequest.PyBUF_WRITABLE, "no writes");
            default -> throw new IllegalArgumentException("no harness view named '" + name + "'");
        };
        return py.export(s);
    }

    private static long[] longs(PyObject seq) {
        long[] r = new long[(int) seq.length()];
        for (int i = 0; i < r.length; i++) {
            try (PyObject v = seq.getItem((long) i)) { r[i] = v.asLong(); }
        }
        return r;
    }

    private static long[] ones(int n) {
        long[] o = new long[n];
        Arrays.fill(o, 1);
        return o;
    }
}
