package dev.panamapy.nativetests.safety;

import dev.panamapy.CPython;
import dev.panamapy.testing.RequiresPythonPackage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code close()} returns after realistic use, whichever threads imported what and whatever
 * thread states Java threads keep. On 3.9 to 3.12 {@code threading} makes the thread that
 * imports it first its main thread, and {@code Py_FinalizeEx} (through
 * {@code threading._shutdown}) waited for that thread's state, which a Java thread keeps until
 * {@code detachThread()}: {@code py.exec("import threading"); py.close()} never returned. Each
 * case closes an interpreter in a child JVM ({@link CloseAfterUseMain}) that must exit 0.
 */
@Adversarial
class CloseAfterRealisticUseTest {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"threading-on-this-thread", "threading-on-a-live-thread", "threading-on-an-ended-thread",
            "threading-on-a-pool-thread", "threading-imported-again", "concurrent-futures", "asyncio",
            "python-threads-running", "everything"})
    void closeReturnsAfterRealisticUse(String use, CPython py) throws Exception {
        ChildJvm.main(CloseAfterUseMain.class).args(use).timeout(120).run()
                .assertExit(0)
                .assertOutputContains("used CPython (3, " + py.minorVersion() + ")")
                .assertOutputContains("closed: true");
    }

    @Test
    @RequiresPythonPackage("numpy")
    void closeReturnsAfterNumpyWasImportedOnJavaThreads(CPython py) throws Exception {
        ChildJvm.main(CloseAfterUseMain.class).args("numpy", py.executable().toString()).timeout(180).run()
                .assertExit(0)
                .assertOutputContains("used CPython (3, " + py.minorVersion() + ")")
                .assertOutputContains("closed: true");
    }
}
