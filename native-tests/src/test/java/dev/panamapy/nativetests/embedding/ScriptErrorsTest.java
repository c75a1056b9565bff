package dev.panamapy.nativetests.embedding;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The README's commands find a JDK >= 25 themselves, and say clearly when there is none: run
 * the scripts' JDK discovery with every place it looks pointed at nothing (or at JDK 17 only).
 */
class ScriptErrorsTest {

    private static Path repoRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("scripts/lib/common.sh"))) p = p.getParent();
        assumeTrue(p != null, "not run from a checkout with scripts/");
        return p;
    }

    private static String[] run(Map<String, String> env) throws Exception {
        Path root = repoRoot();
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", ". scripts/lib/common.sh && find_jdk && echo JAVA_HOME=$JAVA_HOME")
                .directory(root.toFile()).redirectErrorStream(true);
        pb.environment().remove("CI");
        pb.environment().remove("PANAMAPY_INSTALL");
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return new String[]{String.valueOf(p.exitValue()), out};
    }

    /**
     * A JDK older than the floor on this machine, found as the scripts find JDKs: the one behind
     * {@code java} on {@code /usr/bin:/bin}, measured with {@code jdk_major}; else a path that
     * does not exist (the script must refuse both).
     */
    private static String oldJdk() throws Exception {
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", ". scripts/lib/common.sh && j=$(PATH=/usr/bin:/bin command -v java)"
                + " && h=$(dirname \"$(dirname \"$(readlink -f \"$j\")\")\") && m=$(jdk_major \"$h\")"
                + " && ((m < PANAMAPY_MIN_JDK)) && echo \"$h\"")
                .directory(repoRoot().toFile()).redirectError(ProcessBuilder.Redirect.DISCARD);
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        return out.isEmpty() ? "/nonexistent-jdk" : out;
    }

    @Test
    void noJdk25OrNewerIsAClearErrorThatSaysWhatToInstall() throws Exception {
        String[] r = run(Map.of(
                "JAVA_HOME", oldJdk(),
                "PATH", "/usr/bin:/bin",                       // /usr/bin/java, if any, is the old default JDK
                "PANAMAPY_JDK_SEARCH", "/nonexistent-jvm-dir"));
        assertEquals("1", r[0], r[1]);
        assertTrue(r[1].contains("no JDK 25 or newer found"), r[1]);
        assertTrue(r[1].contains("JAVA_HOME"), r[1]);
    }

    @Test
    void aJdk25OrNewerInTheSearchedFoldersIsFound() throws Exception {
        Path home = Path.of(System.getProperty("java.home"));      // this JVM: 25 or newer by construction
        String[] r = run(Map.of(
                "JAVA_HOME", "/nonexistent-jdk",
                "PATH", "/usr/bin:/bin",
                "PANAMAPY_JDK_SEARCH", home.getParent().toString()));
        assertEquals("0", r[0], r[1]);
        assertTrue(r[1].contains("JAVA_HOME="), r[1]);
    }
}
