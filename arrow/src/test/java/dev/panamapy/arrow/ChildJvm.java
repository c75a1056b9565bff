package dev.panamapy.arrow;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs a test {@code main} class in a JVM of its own (this JVM's java, class path and Arrow
 * flags, the given Python): for cases that close CPython or may crash or hang the process.
 */
final class ChildJvm {
    private ChildJvm() { }

    /** What the child did: its exit value and its output (stdout and stderr). */
    record Result(int exit, String output) { }

    /** Runs {@code main} with {@code args}; fails the test if it does not end within two minutes. */
    static Result run(Class<?> main, String python, String... args) throws Exception {
        Path dir = Files.createTempDirectory("panamapy-arrow-child");
        Path log = dir.resolve("child.log");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:ErrorFile=" + dir.resolve("hs_err_pid%p.log"),
                "--enable-native-access=ALL-UNNAMED", "--add-opens=java.base/java.nio=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow", "-cp", System.getProperty("java.class.path"),
                "-Dpanamapy.python=" + python, main.getName()));
        cmd.addAll(List.of(args));
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        boolean done = child.waitFor(120, TimeUnit.SECONDS);
        if (!done) child.destroyForcibly().waitFor();
        String out = Files.readString(log, StandardCharsets.UTF_8);
        assertTrue(done, "the child JVM hung:\n" + out);
        return new Result(child.exitValue(), out);
    }
}
