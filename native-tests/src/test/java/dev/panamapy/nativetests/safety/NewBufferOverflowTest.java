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
        // 3.9 and 3.10: CPython's own C recursion crashes the JVM's stack walk first (frame::java_sender)
        assumeTrue(py.minorVersion() >= 11, "before 3.11 the deep C recursion crashes outside panamapy's upcalls");
        ChildJvm.Result r = ChildJvm.main(NewBufferOverflowMain.class).timeout(120).run().assertExit(0)
                .assertOutputContains("after: False").assertOutputContains("done");
        if (!r.output().contains("ended in RecursionError") && !r.output().contains("ended in SystemError")) {
            throw new AssertionError("the sweep did not end in a Python exception:\n" + r.output());
        }
    }
}
