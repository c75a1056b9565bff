package dev.panamapy.nativetests.safety;

import org.junit.jupiter.api.Test;

/**
 * Misuse of the GIL. Closing {@code py.gil()} scopes out of order was a {@code Py_FatalError}
 * abort: it is refused and changes nothing. A thread that ends with its scope open, and a Java
 * function that waits for another thread calling Python, deadlock every caller and cannot be
 * refused: the watchdog logs them, with the stacks. Each case runs in a child JVM
 * ({@link GilMisuseMain}), its failure being an abort or a hang.
 */
@Adversarial
class GilMisuseTest {

    private static ChildJvm.Result child(String scenario) throws Exception {
        return ChildJvm.main(GilMisuseMain.class).jvmArgs("-Dpanamapy.gilWatchdogMillis=200").args(scenario)
                .timeout(120).run().assertExit(0).assertOutputContains("done");
    }

    @Test
    void gilScopesClosedOutOfOrderAreRefusedAndStayUsable() throws Exception {
        child("out-of-order")
                .assertOutputContains("outer closed before inner: py.gil() scopes must be closed in the reverse order of "
                        + "opening: a scope opened after this one (or a call made inside it) is still open on this "
                        + "thread; nothing was released")
                .assertOutputContains("inner closed on another thread: a Gil scope must be closed by the thread that "
                        + "opened it (main)")
                .assertOutputContains("still inside both scopes: 42")
                .assertOutputContains("outer closed from a Java function: refused")
                .assertOutputContains("another thread after both closed: 42");
    }

    @Test
    void threadEndingWithItsGilScopeOpenIsLoggedWithTheWaiters() throws Exception {
        child("dead-owner")
                .assertOutputContains("logged ERROR: thread 'leaves-gil-open' ended with a py.gil() scope open")
                .assertOutputContains("every call into Python from now on waits forever")
                .assertOutputContains("Threads waiting for the GIL:\n  thread 'waits-for-gil'")
                .assertOutputContains("waiter still waiting: true");
    }

    @Test
    void javaFunctionWaitingForAThreadThatCallsPythonIsLoggedWithBothStacks() throws Exception {
        child("blocked-holder")
                .assertOutputContains("logged WARN: thread 'holds-gil' holds the GIL")
                .assertOutputContains("blocked in Java (WAITING)")
                .assertOutputContains("this is a deadlock")
                .assertOutputContains("GilMisuseMain.lambda$blockedHolder")          // the holder's stack
                .assertOutputContains("Threads waiting for the GIL:\n  thread 'needs-gil'")
                .assertOutputContains("function returned 42")
                .assertOutputContains("other thread got 42");
    }
}
