package dev.panamapy.arrow;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * An imported stream's get_schema/get_next are entries into CPython: refused once it is closed
 * (a pyarrow generator-backed producer would take the GIL after finalization), and counted in
 * flight, so close() waits for one that runs. Each case closes its own CPython in a child JVM
 * ({@link StreamAfterCloseMain}).
 */
@PythonTest
@Tag("adversarial")
class StreamAfterCloseTest {

    @Test
    void readingAJavaBackedStreamAfterCloseIsRefused(CPython py) throws Exception {
        ChildJvm.Result r = ChildJvm.run(StreamAfterCloseMain.class, py.executable().toString(), "java-closed");
        assertRefusedAndClean(r);
    }

    @Test
    void readingAPyarrowGeneratorStreamAfterCloseIsRefusedNotACrash(CPython py) throws Exception {
        try (PyObject has = py.eval("__import__('importlib.util').util.find_spec('pyarrow') is not None")) {
            assumeTrue(has.asBoolean(), "pyarrow is not installed for " + py.executable());
        }
        ChildJvm.Result r = ChildJvm.run(StreamAfterCloseMain.class, py.executable().toString(), "pyarrow-closed");
        assertRefusedAndClean(r);
    }

    @Test
    void closeWaitsForAGetNextInFlight(CPython py) throws Exception {
        ChildJvm.Result r = ChildJvm.run(StreamAfterCloseMain.class, py.executable().toString(), "in-flight");
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("CLOSE WAITS FOR THE CALL IN FLIGHT"), r.output());
        assertTrue(r.output().contains("READ 4"), r.output());
        assertTrue(r.output().contains("CPYTHON CLOSED true"), r.output());
        assertTrue(r.output().contains("END"), r.output());
    }

    @Test
    void aCloseThatReleasesWhileAReaderHoldsTheGilDoesNotDeadlock(CPython py) throws Exception {
        try (PyObject has = py.eval("__import__('importlib.util').util.find_spec('pyarrow') is not None")) {
            assumeTrue(has.asBoolean(), "pyarrow is not installed for " + py.executable());
        }
        ChildJvm.Result r = ChildJvm.run(StreamAfterCloseMain.class, py.executable().toString(), "close-against-gil");
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("NO DEADLOCK"), r.output());
        assertTrue(r.output().contains("SECOND REFUSED"), r.output());
        assertTrue(r.output().contains("ALLOCATOR CLOSED"), r.output());
    }

    private static void assertRefusedAndClean(ChildJvm.Result r) {
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("REFUSED the imported Arrow stream's get_schema cannot be called: CPython is closed"),
                r.output());
        assertTrue(r.output().contains("READER CLOSED"), r.output());
        assertTrue(r.output().contains("END"), r.output());
    }
}
