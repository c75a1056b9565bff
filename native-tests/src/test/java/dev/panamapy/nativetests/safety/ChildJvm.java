package dev.panamapy.nativetests.safety;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs a {@code main} class in a fresh JVM like this test JVM (same java, class path and
 * {@code panamapy.python}), for cases whose failure is a crash, an abort or a hang of the
 * process, or that need an interpreter of their own (closing it, starting it with another
 * environment). A hang is killed at the timeout and reported as such.
 *
 * <pre>{@code
 * ChildJvm.Result r = ChildJvm.main(CloseAfterThreading.class).timeout(60).run();
 * r.assertExit(0);
 * }</pre>
 */
public final class ChildJvm {

    private final String mainClass;
    private final List<String> jvmArgs = new ArrayList<>(List.of("--enable-native-access=ALL-UNNAMED"));
    private final List<String> args = new ArrayList<>();
    private final Map<String, String> env = new LinkedHashMap<>();
    private long timeoutSeconds = 120;

    private ChildJvm(String mainClass) {
        this.mainClass = mainClass;
    }

    /** A child that runs {@code main.main(args)}. */
    public static ChildJvm main(Class<?> main) {
        return new ChildJvm(main.getName());
    }

    /** JVM options, e.g. {@code "-Xss512k"}. */
    public ChildJvm jvmArgs(String... more) {
        jvmArgs.addAll(List.of(more));
        return this;
    }

    /** Arguments of {@code main}. */
    public ChildJvm args(String... more) {
        args.addAll(List.of(more));
        return this;
    }

    /** An environment variable of the child. */
    public ChildJvm env(String name, String value) {
        env.put(name, value);
        return this;
    }

    /** How long the child may run before it counts as hung and is killed (default 120 s). */
    public ChildJvm timeout(long seconds) {
        this.timeoutSeconds = seconds;
        return this;
    }

    /** Starts the child, waits for it (killing it at the timeout) and returns what it did. */
    public Result run() throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("panamapy-child");
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>();
        cmd.add(java.toString());
        cmd.add("-XX:ErrorFile=" + dir.resolve("hs_err_pid%p.log"));
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        String python = System.getProperty("panamapy.python");
        if (python != null && !python.isBlank()) cmd.add("-Dpanamapy.python=" + python);
        cmd.add(mainClass);
        cmd.addAll(args);
        Path log = dir.resolve("child.log");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().putAll(env);
        Process child = pb.start();
        boolean finished = child.waitFor(timeoutSeconds, TimeUnit.SECONDS);
        if (!finished) {
            child.descendants().forEach(ProcessHandle::destroyForcibly);
            child.destroyForcibly();
            child.waitFor(30, TimeUnit.SECONDS);
        }
        String out = Files.readString(log, StandardCharsets.UTF_8);
        String hsErr = "";
        try (var files = Files.list(dir)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                if (p.getFileName().toString().startsWith("hs_err_pid")) hsErr = Files.readString(p, StandardCharsets.UTF_8);
            }
        }
        return new Result(String.join(" ", cmd), finished, finished ? child.exitValue() : -1, out, hsErr);
    }

    /**
     * What the child did.
     *
     * @param command  the command line, for messages
     * @param finished false if it was killed at the timeout (a hang)
     * @param exit     its exit code (-1 if killed); 134 or 139 mean a crash
     * @param output   stdout and stderr together
     * @param hsErr    the JVM's crash report, or "" if there is none
     */
    public record Result(String command, boolean finished, int exit, String output, String hsErr) {

        /** Fails with the child's output unless it finished in time with this exit code. */
        public Result assertExit(int expected) {
            if (!finished) throw new AssertionError("the child JVM hung (killed at the timeout):\n" + output);
            if (exit != expected) {
                throw new AssertionError("the child JVM exited " + exit + ", expected " + expected
                        + (hsErr.isEmpty() ? "" : " (it crashed: " + firstLines(hsErr, 12) + ")") + ":\n" + output);
            }
            return this;
        }

        /** Fails unless the output contains the text. */
        public Result assertOutputContains(String text) {
            if (!output.contains(text)) throw new AssertionError("the child's output lacks \"" + text + "\":\n" + output);
            return this;
        }

        private static String firstLines(String s, int n) {
            return String.join("\n", s.lines().limit(n).toList());
        }
    }

    /** What a child's main runs. */
    @FunctionalInterface
    public interface Body {
        void run() throws Exception;
    }

    /**
     * Runs a child's main body; on any failure prints it and exits with status 1 at once, so
     * threads the case left parked or waiting cannot keep the child JVM up until the timeout.
     */
    public static void exitOnFailure(Body body) {
        try {
            body.run();
        } catch (Throwable t) {
            t.printStackTrace();
            System.exit(1);
        }
    }
}
