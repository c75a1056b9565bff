package dev.panamapy.nativetests.safety;

import dev.panamapy.CPython;
import dev.panamapy.PythonException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CPython never takes the JVM's signals. {@code faulthandler}, switched on by
 * {@code PYTHONFAULTHANDLER=1}, {@code PYTHONDEVMODE=1} or Python code, put its SIGSEGV handler
 * in front of the JVM's, and the JVM's next implicit null check or safepoint killed the process.
 * The children ({@link FaulthandlerMain}) start with those variables, let Python try every way of
 * switching it on, then take thousands of JVM SIGSEGVs and must exit 0.
 */
@Adversarial
class FaulthandlerTest {

    private static final String WARNED = "warnings: [('RuntimeWarning', 'faulthandler.enable() does nothing in a JVM "
            + "(panamapy)'), ('RuntimeWarning', 'faulthandler.enable() does nothing in a JVM (panamapy)'), "
            + "('RuntimeWarning', 'faulthandler.register() does nothing in a JVM (panamapy)'), ('RuntimeWarning', "
            + "'faulthandler.enable() does nothing in a JVM (panamapy)'), ('RuntimeWarning', 'faulthandler.enable() "
            + "does nothing in a JVM (panamapy)')]";

    private static ChildJvm.Result child(String variable) throws Exception {
        return run(variable == null ? ChildJvm.main(FaulthandlerMain.class) : ChildJvm.main(FaulthandlerMain.class).env(variable, "1"));
    }

    private static ChildJvm.Result run(ChildJvm child) throws Exception {
        return child.timeout(120).run().assertExit(0)
                .assertOutputContains("faulthandler enabled after start: False")
                .assertOutputContains(WARNED)
                .assertOutputContains("enabled after enable(): False")
                .assertOutputContains("with warnings as errors: RuntimeWarning")
                .assertOutputContains("dump_traceback still works: True")
                .assertOutputContains("null checks taken: 4000")
                .assertOutputContains("survived");
    }

    @Test
    void pythonFaulthandlerVariableIsIgnoredAndTheJvmKeepsItsSignals() throws Exception {
        child("PYTHONFAULTHANDLER")
                .assertOutputContains("os.environ keeps PYTHONFAULTHANDLER: '1'")
                .assertOutputContains("[PYTHONFAULTHANDLER] ignored by the embedded CPython");
    }

    @Test
    void pythonDevModeVariableIsIgnoredAndTheJvmKeepsItsSignals() throws Exception {
        child("PYTHONDEVMODE")
                .assertOutputContains("os.environ keeps PYTHONDEVMODE: '1'")
                .assertOutputContains("[PYTHONDEVMODE] ignored by the embedded CPython");
    }

    @Test
    void pythonCodeEnablingFaulthandlerGetsAWarningAndTheJvmKeepsItsSignals() throws Exception {
        child(null).assertOutputContains("os.environ keeps PYTHONFAULTHANDLER: None");
    }

    @Test
    void faulthandlerEnabledBySitecustomizeIsSwitchedOffAtStart(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("sitecustomize.py"), "import faulthandler\nfaulthandler.enable()\n");
        run(ChildJvm.main(FaulthandlerMain.class).env("PYTHONPATH", dir.toString()))
                .assertOutputContains("faulthandler was enabled during CPython's start-up (sitecustomize or a .pth "
                        + "file?); it is disabled again");
    }

    @Test
    void signalHandlersCannotBeSetFromJavaThreads(CPython py) {
        for (String call : new String[]{"signal.signal(signal.SIGINT, lambda *a: None)",
                "signal.signal(signal.SIGSEGV, signal.SIG_DFL)", "signal.set_wakeup_fd(-1)"}) {
            PythonException e = assertThrows(PythonException.class, () -> py.exec("import signal\n" + call));
            assertEquals("ValueError", e.pythonType(), call);
            assertTrue(e.pythonMessage().contains("main thread"), e.pythonMessage());
        }
    }
}
