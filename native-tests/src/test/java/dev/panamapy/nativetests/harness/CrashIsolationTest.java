package dev.panamapy.nativetests.harness;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A native crash kills only the JVM it happens in. The build runs every native test class in a
 * JVM of its own (surefire forkCount=1, reuseForks=false), so a crash fails that class, which
 * surefire names ("The forked VM terminated without properly saying goodbye" with the class),
 * and the others still run. This proves the mechanism: a child JVM like surefire's fork (same
 * java, same class path, same Python) crashes CPython through {@link Crasher}; it dies of the
 * signal with an hs_err report, and this JVM and its interpreter carry on.
 */
@PythonTest
class CrashIsolationTest {

    @Test
    void nativeCrashInAChildJvmKillsOnlyTheChild(CPython py, @TempDir Path dir) throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>(List.of(java.toString(), "--enable-native-access=ALL-UNNAMED",
                "-XX:ErrorFile=" + dir.resolve("hs_err_pid%p.log"), "-Xss4m",
                "-cp", System.getProperty("java.class.path")));
        String python = System.getProperty("panamapy.python");
        if (python != null && !python.isBlank()) cmd.add("-Dpanamapy.python=" + python);
        cmd.add(Crasher.class.getName());
        Path log = dir.resolve("child.log");
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(child.waitFor(120, TimeUnit.SECONDS), "the crashing child finished");
        int exit = child.exitValue();
        String out = Files.readString(log, StandardCharsets.UTF_8);

        assertFalse(out.contains("still alive"), out);
        assertTrue(out.contains("crasher: reading unmapped memory"), "the child got as far as the bad read:\n" + out);
        // the JVM's crash handler aborts: 134 = 128 + SIGABRT; 139 = 128 + SIGSEGV if it could not
        assertTrue(exit == 134 || exit == 139, "exit code " + exit + " is a signal's:\n" + out);
        assertTrue(out.contains("SIGSEGV") || hsErrFiles(dir).findAny().isPresent(), out);
        try (Stream<Path> files = hsErrFiles(dir)) {
            Path report = files.findFirst().orElseThrow(() -> new AssertionError("no hs_err file in " + dir + ":\n" + out));
            String text = Files.readString(report);
            assertTrue(text.contains("SIGSEGV"), "the hs_err report names the signal");
            assertTrue(text.contains("libpython"), "the hs_err report shows the crash in libpython");
        }

        // this JVM and its CPython are untouched
        try (PyObject r = py.eval("sum(range(10))")) {
            assertEquals(45, r.asLong());
        }
    }

    private static Stream<Path> hsErrFiles(Path dir) throws IOException {
        return Files.list(dir).filter(p -> p.getFileName().toString().startsWith("hs_err_pid"));
    }
}
