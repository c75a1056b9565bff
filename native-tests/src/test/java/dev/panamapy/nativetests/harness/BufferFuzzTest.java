package dev.panamapy.nativetests.harness;

import dev.panamapy.CPython;
import dev.panamapy.fuzz.BufferFuzz;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.Test;

import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A fixed slice of the differential fuzzer ({@link BufferFuzz}): {@value #CASES} random layouts
 * from seed {@value #SEED}, each checked under all 256 request-flag combinations and through
 * memoryview, against {@code _testbuffer.ndarray}. About 20-30 s on CPython 3.11 here. For more,
 * {@code scripts/fuzz --cases 100000}.
 */
@PythonTest
class BufferFuzzTest {

    static final long SEED = 42;
    static final int CASES = 20_000;

    @Test
    void javaBufferAgreesWithTestbufferOnRandomLayouts(CPython py) {
        BufferFuzz.Result r = new BufferFuzz(py).run(SEED, 0, CASES, 5, 5_000, System.out);
        System.out.printf("fuzz: %d cases (%d refused by _testbuffer), %d requests, %.1f s%n", r.cases(), r.skipped(),
                r.requests(), r.nanos() / 1e9);
        String python = System.getProperty("panamapy.python");
        assertTrue(r.mismatches().isEmpty(), () -> r.mismatches().stream()
                .map(m -> m.describe(python == null || python.isBlank() ? null : python))
                .collect(Collectors.joining("\n\n")));
        assertTrue(r.cases() - r.skipped() > CASES / 2, "most layouts were really compared");
    }
}
