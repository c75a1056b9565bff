package dev.panamapy.nativetests.safety;

import org.junit.jupiter.api.Test;

/**
 * A BufferMixin exporter recursing into its own export ends in RecursionError on any thread
 * stack, never in a JVM crash (run in a child JVM: a failure would be one).
 */
@Adversarial
class NewBufferRecursionTest {

    @Test
    void selfExportingGetBufferEndsInRecursionErrorOnSmallStacks() throws Exception {
        ChildJvm.main(NewBufferRecursionMain.class).timeout(180).run().assertExit(0)
                .assertOutputContains("OK java thread 256 KiB").assertOutputContains("OK java thread 2048 KiB")
                .assertOutputContains("OK python thread").assertOutputContains("OK after");
    }
}
