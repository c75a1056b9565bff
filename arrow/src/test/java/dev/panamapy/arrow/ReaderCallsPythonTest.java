package dev.panamapy.arrow;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A Java reader behind an exported stream runs when the consumer asks, and consumers ask without
 * the GIL (pyarrow lets it go while it reads), even under a call this thread made into Python.
 * The reader may still wait with {@code withoutGil} and call Python: the bridge sees that the GIL
 * is not held rather than trusting its own count. A crash, so in a child JVM
 * ({@link ReaderCallsPythonMain}).
 */
@PythonTest
@Tag("adversarial")
class ReaderCallsPythonTest {

    @Test
    void aReaderReadByPyarrowWithoutTheGilMayLetItGoAndCallPython(CPython py) throws Exception {
        try (PyObject has = py.eval("__import__('importlib.util').util.find_spec('pyarrow') is not None")) {
            assumeTrue(has.asBoolean(), "pyarrow is not installed for " + py.executable());
        }
        check(ChildJvm.run(ReaderCallsPythonMain.class, py.executable().toString(), "pyarrow"));
    }

    @Test
    void aReaderReadByPyarrowOnAThreadPythonMadeMayCallPython(CPython py) throws Exception {
        try (PyObject has = py.eval("__import__('importlib.util').util.find_spec('pyarrow') is not None")) {
            assumeTrue(has.asBoolean(), "pyarrow is not installed for " + py.executable());
        }
        check(ChildJvm.run(ReaderCallsPythonMain.class, py.executable().toString(), "pythonThread"));
    }

    @Test
    void aReaderReadThroughOurOwnImportMayLetTheGilGoAndCallPython(CPython py) throws Exception {
        check(ChildJvm.run(ReaderCallsPythonMain.class, py.executable().toString(), "roundtrip"));
    }

    /**
     * get_next called by ctypes without the GIL or with it, on this thread or a thread Python made,
     * before and after a subinterpreter existed: a reader that waits without the GIL for another
     * thread's Python gets its answer (before: an abort without the GIL, a deadlock with it on a
     * Python thread, and after a subinterpreter PyGILState_Check could not tell), and one that
     * leaves a gil() scope open fails the read (EIO) instead of hanging or aborting.
     */
    @ParameterizedTest
    @CsvSource({
            "false, false, false", "false, true, false", "true, false, false", "true, true, false",
            "false, false, true", "false, true, true", "true, true, true"})
    void aReaderCalledByCtypesWithOrWithoutTheGilMayWaitForAnotherThreadsPython(boolean held, boolean pythonThread,
                                                                               boolean subinterpreter, CPython py) throws Exception {
        ChildJvm.Result r = ChildJvm.run(ReaderCallsPythonMain.class, py.executable().toString(), "ctypes",
                Boolean.toString(held), Boolean.toString(pythonThread), Boolean.toString(subinterpreter), "otherThread");
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("RCS [0, 0, 0]"), r.output());
        assertTrue(r.output().contains("PYTHON ANSWERS 3"), r.output());
        assertTrue(r.output().contains("END"), r.output());
    }

    @ParameterizedTest
    @CsvSource({"false, false", "true, false", "true, true"})
    void aReaderLeavingAGilScopeOpenFailsTheRead(boolean held, boolean pythonThread, CPython py) throws Exception {
        ChildJvm.Result r = ChildJvm.run(ReaderCallsPythonMain.class, py.executable().toString(), "ctypes",
                Boolean.toString(held), Boolean.toString(pythonThread), "false", "leakGil");
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("RCS [5, 5, 5]"), r.output());   // EIO, each time
        assertTrue(r.output().contains("END"), r.output());
    }

    private static void check(ChildJvm.Result r) {
        assertEquals(0, r.exit(), r.output());
        assertTrue(r.output().contains("ROWS 12"), r.output());
        assertTrue(r.output().contains("PYTHON ANSWERS 4"), r.output());   // three batches and the end of the stream
        assertTrue(r.output().contains("END"), r.output());
    }
}
