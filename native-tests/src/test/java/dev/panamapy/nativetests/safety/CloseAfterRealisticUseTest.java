package dev.panamapy.nativetests.safety;

import dev.panamapy.CPython;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;

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

    private static final Path NUMPY_VENV = Path.of("/work/main/target/venvs/py3.11/bin/python");

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
    void closeReturnsAfterNumpyWasImportedOnJavaThreads(CPython py) throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(NUMPY_VENV), "no numpy venv at " + NUMPY_VENV);
        Assumptions.assumeTrue(py.minorVersion() == 11, "the numpy venv is 3.11's: run once, with 3.11");
        ChildJvm.main(CloseAfterUseMain.class).args("numpy", NUMPY_VENV.toString()).timeout(180).run()
                .assertExit(0)
                .assertOutputContains("used CPython (3, 11)")
                .assertOutputContains("closed: true");
    }
}
