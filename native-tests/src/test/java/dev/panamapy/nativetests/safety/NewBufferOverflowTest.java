package dev.panamapy.nativetests.safety;

import dev.panamapy.CPython;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A Java stack overflow inside a panamapy.newbuffer upcall ({@code Py_buffer.__bool__} here, the
 * one entry that had no catch) becomes a Python exception, never a Throwable crossing the upcall
 * (which aborts the JVM). In a child JVM ({@link NewBufferOverflowMain}): a failure is a crash.
 */
@Adversarial
class NewBufferOverflowTest {

    private final CPython py;

    NewBufferOverflowTest(CPython py) {
        this.py = py;
    }

    @Test
    void aStackOverflowInBoolIsAPythonException() throws Exception {
        // 3.9 and 3.10: the C recursion under sys.setrecursionlimit(1000000) overflows the thread's
        // stack in CPython's own frames first (the JVM's stack walk then dies in frame::java_sender).
        // Not panamapy's: the same script with bool(b'') in place of bool(v) segfaults standalone
        // python3.9, 3.10 and 3.11 too (checked 2026-12-01); on 3.11+ the bridge's upcall ends it first.
        assumeTrue(py.minorVersion() >= 11, "before 3.11 the C recursion the test asks for (recursion limit 1,000,000) "
                + "crashes CPython itself, standalone as embedded");
        ChildJvm.Result r = ChildJvm.main(NewBufferOverflowMain.class).timeout(120).run().assertExit(0)
                .assertOutputContains("after: False").assertOutputContains("done");
        if (!r.output().contains("ended in RecursionError") && !r.output().contains("ended in SystemError")) {
            throw new AssertionError("the sweep did not end in a Python exception:\n" + r.output());
        }
    }
}
