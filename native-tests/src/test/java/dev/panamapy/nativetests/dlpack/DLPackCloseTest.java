package dev.panamapy.nativetests.dlpack;

import dev.panamapy.nativetests.safety.Adversarial;
import dev.panamapy.nativetests.safety.ChildJvm;
import org.junit.jupiter.api.Test;

/**
 * DLPack deleters and {@code close()}: a consumer frees a JavaBuffer tensor on any thread at any
 * time (torch on its own threads), so the deleter is counted as a call in flight, which
 * {@code close()} waits for, and after close it frees the tensor without touching Python. In a
 * child JVM ({@link DeleterCloseRaceMain}): a deleter taking the GIL during or after
 * finalization aborts the process.
 */
@Adversarial
class DLPackCloseTest {

    @Test
    void deletersRacingCloseAndAfterItReturnWithoutCrashing() throws Exception {
        ChildJvm.Result r = ChildJvm.main(DeleterCloseRaceMain.class).args("5000", "200").timeout(120).run();
        System.out.println(r.output());
        r.assertExit(0)
                .assertOutputContains("tensors held: 20200")
                .assertOutputContains("racing deleters returned: 20000 of 20000")
                .assertOutputContains("deleters after close returned: 200")
                .assertOutputContains("done");
    }
}
