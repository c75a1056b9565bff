package dev.panamapy.nativetests.safety;

import dev.panamapy.CPython;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Closing CPython while daemon Python threads run Python code inside panamapy.newbuffer's
 * upcalls (and, before 3.12, panamapy.Buffer's): the upcalls are counted like Java functions,
 * so finalization waits for those in flight and refuses new ones, and no thread is ended by
 * CPython with Java frames on its stack (the JVM then still lists it inside the upcall; a thread
 * like that aborts the process). Each case closes an interpreter: a child JVM
 * ({@link NewBufferCloseMain}), run a few times since the threads race the close.
 */
@Adversarial
class NewBufferCloseTest {

    private static final int RUNS = Integer.getInteger("panamapy.test.newbuffer.closeRuns", 3);

    private final CPython py;

    NewBufferCloseTest(CPython py) {
        this.py = py;
    }

    @ParameterizedTest
    @ValueSource(strings = {"get", "release", "wrapper"})
    void closeWithDaemonThreadsInsideNewbufferUpcallsFinalizesCleanly(String upcall) throws Exception {
        closeRuns(upcall);
    }

    @ParameterizedTest
    @ValueSource(strings = {"backport", "backport-release"})
    void closeWithDaemonThreadsInsideBufferBackportUpcallsFinalizesCleanly(String upcall) throws Exception {
        assumeTrue(py.minorVersion() < 12, "from 3.12 on panamapy.Buffer is plain PEP 688: no upcalls");
        closeRuns(upcall);
    }

    private static void closeRuns(String upcall) throws Exception {
        for (int i = 0; i < RUNS; i++) {
            ChildJvm.main(NewBufferCloseMain.class).args(upcall).timeout(120).run().assertExit(0)
                    .assertOutputContains("closed: true")
                    .assertOutputContains("threads left inside newbuffer upcalls: 0 []").assertOutputContains("done");
        }
    }
}
