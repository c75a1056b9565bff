package dev.panamapy.nativetests.safety;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Closing CPython while daemon Python threads run Python code inside panamapy.newbuffer's
 * upcalls: the upcalls are counted like Java functions, so finalization waits for those in
 * flight and refuses new ones, and no thread is ended by CPython with Java frames on its stack
 * (the JVM then still lists it inside the upcall; a thread like that aborts the process). Each case closes an interpreter: a child JVM
 * ({@link NewBufferCloseMain}), run a few times since the threads race the close.
 */
@Adversarial
class NewBufferCloseTest {

    private static final int RUNS = Integer.getInteger("panamapy.test.newbuffer.closeRuns", 3);

    @ParameterizedTest
    @ValueSource(strings = {"get", "release", "wrapper"})
    void closeWithDaemonThreadsInsideNewbufferUpcallsFinalizesCleanly(String upcall) throws Exception {
        for (int i = 0; i < RUNS; i++) {
            ChildJvm.main(NewBufferCloseMain.class).args(upcall).timeout(120).run().assertExit(0)
                    .assertOutputContains("closed: true")
                    .assertOutputContains("threads left inside newbuffer upcalls: 0 []").assertOutputContains("done");
        }
    }
}
