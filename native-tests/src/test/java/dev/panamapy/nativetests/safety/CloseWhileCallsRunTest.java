package dev.panamapy.nativetests.safety;

import org.junit.jupiter.api.Test;

/**
 * {@code close()} never finalizes under a running call: it refuses new calls, waits for the
 * calls in flight (which finish normally, Java callbacks and nested calls included), can be
 * interrupted or bounded without finalizing, and copes with Python threads still at work. Each
 * case closes an interpreter, so each runs in a child JVM ({@link CloseMain}).
 */
@Adversarial
class CloseWhileCallsRunTest {

    private static ChildJvm.Result child(String scenario) throws Exception {
        ChildJvm.Result r = ChildJvm.main(CloseMain.class).args(scenario).timeout(120).run();
        return r.assertExit(0).assertOutputContains("done");
    }

    @Test
    void closeWaitsForTheCallInFlightWhichFinishesWithItsCallbacks() throws Exception {
        child("call-in-flight")
                .assertOutputContains("new call refused: CPython is closing")
                .assertOutputContains("close() still waiting: true")
                .assertOutputContains("closed while the call runs: false")
                .assertOutputContains("call in flight returned 42")   // twice(21): a Java function and its nested call
                .assertOutputContains("close() threw: null")
                .assertOutputContains("closed: true")
                .assertOutputContains("after close: CPython is closed: no calls can be made after close()");
    }

    @Test
    void closeWithATimeoutRefusesToFinalizeUnderARunningCall() throws Exception {
        child("timeout")
                .assertOutputContains("tryClose(200 ms) with a call in flight: false")
                .assertOutputContains("usable after the timeout: 42")
                .assertOutputContains("call in flight returned 42")
                .assertOutputContains("tryClose(60 s) with nothing in flight: true")
                .assertOutputContains("closed: true");
    }

    @Test
    void interruptedCloseLeavesCPythonRunningAndCloseableAgain() throws Exception {
        child("interrupt")
                .assertOutputContains("interrupted close() threw java.lang.IllegalStateException: close() was "
                        + "interrupted while ")
                .assertOutputContains("call(s) were in flight; CPython was not finalized and keeps running: call close() "
                        + "again to finalize it")
                .assertOutputContains("cause: java.lang.InterruptedException")
                .assertOutputContains("interrupt flag kept: true")
                .assertOutputContains("closed: false")
                .assertOutputContains("usable after the interrupt: 42")
                .assertOutputContains("references dropped while closing were dropped: true")
                .assertOutputContains("call in flight returned 42")
                .assertOutputContains("closed again: true");
    }

    @Test
    void pythonThreadsStillRunningAtCloseAreJoinedOrLeftWithoutACrash() throws Exception {
        child("python-threads")
                .assertOutputContains("note: non-daemon worker finishing")   // a Java function during Py_FinalizeEx's join
                .assertOutputContains("close() threw: null")
                .assertOutputContains("closed: true")
                .assertOutputContains("daemon threads called Java: true");
    }

    @Test
    void closeInsideAJavaFunctionOrAGilScopeIsRefusedAndChangesNothing() throws Exception {
        child("refused-inside")
                .assertOutputContains("close() in a Java function: panamapy.JavaException: "
                        + "java.lang.IllegalStateException: close() called inside a call")
                .assertOutputContains("close() in a gil() scope: close() called inside a call")
                .assertOutputContains("still running: 42")
                .assertOutputContains("closed: true");
    }

    @Test
    void cleanersAndDroppedReferencesRacingCloseAreHarmless() throws Exception {
        child("cleaners")
                .assertOutputContains("closed: true")
                .assertOutputContains("every thread was refused once closing began: true");
    }
}
