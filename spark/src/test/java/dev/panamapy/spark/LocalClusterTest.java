package dev.panamapy.spark;

import dev.panamapy.spark.bench.LocalClusterProbe;
import dev.panamapy.testing.RequiresPythonPackage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledIfSystemProperty;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Beyond local[2]: {@code local-cluster[2,1,1024]}, a standalone master and two workers in a child
 * JVM, each worker starting its executor as a JVM of its own, with its own embedded CPython. Runs
 * in a child JVM because a JVM holds one SparkContext (this suite's shares local[2,2]).
 * -Dpanamapy.spark.cluster=false skips it.
 */
@RequiresPythonPackage("pyarrow")
@DisabledIfSystemProperty(named = "panamapy.spark.cluster", matches = "false")
class LocalClusterTest {

    @Test
    void twoExecutorJvmsEachRunPythonAndTogetherGetEveryRow() throws IOException, InterruptedException {
        Path home = Files.createDirectories(Path.of("target", "local-cluster-home", "jars")).getParent();
        Files.writeString(home.resolve("RELEASE"), "a Spark home for local-cluster: Spark's jars come from the class path\n");
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        String flags = System.getProperty("spark.jvm.flags", "");
        for (String f : flags.trim().split("\\s+")) if (!f.isEmpty()) cmd.add(f);
        cmd.add("-Dspark.jvm.flags=" + flags);
        cmd.add("-Dpanamapy.python=" + System.getProperty("panamapy.python", ""));
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(LocalClusterProbe.class.getName());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("SPARK_HOME", home.toAbsolutePath().toString());
        pb.environment().put("SPARK_SCALA_VERSION", "2.13");
        Path log = home.resolve("probe.log");
        pb.redirectOutput(log.toFile());
        Process p = pb.start();
        boolean exited = p.waitFor(5, TimeUnit.MINUTES);
        if (!exited) p.destroyForcibly();
        String out = Files.readString(log, StandardCharsets.UTF_8);
        assertTrue(exited && p.exitValue() == 0, "the local-cluster job failed (log " + log.toAbsolutePath() + "):\n" + tail(out));
        Set<Long> executors = new TreeSet<>();
        Matcher m = Pattern.compile("executor process (\\d+): ").matcher(out);
        while (m.find()) executors.add(Long.parseLong(m.group(1)));
        Matcher summary = Pattern.compile("(\\d+) executor JVMs ran Python; sum (\\d+) \\(expected (\\d+)\\), driver pid (\\d+)").matcher(out);
        assertTrue(summary.find(), tail(out));
        assertEquals(2, executors.size(), "two executor processes ran Python: " + executors + "\n" + tail(out));
        assertEquals(summary.group(3), summary.group(2));
        assertFalse(executors.contains(Long.parseLong(summary.group(4))), "the driver ran no Python");
    }

    private static String tail(String s) {
        return s.length() > 6000 ? s.substring(s.length() - 6000) : s;
    }
}
