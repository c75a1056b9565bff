package dev.panamapy.arrow;

import dev.panamapy.CPython;
import dev.panamapy.testing.PythonTest;
import dev.panamapy.PyObject;
import dev.panamapy.testing.RequiresPythonPackage;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * duckdb reads a Java batch in place (in a child JVM: see {@link DuckdbMain}). Not
 * {@code @RequiresPythonPackage("duckdb")}: that imports duckdb into this JVM's interpreter,
 * and duckdb then aborts this JVM at exit; {@code find_spec} looks without importing.
 */
@PythonTest
@RequiresPythonPackage("pyarrow")
class DuckdbTest {

    @Test
    void duckdbQueriesAJavaBatch(CPython py) throws Exception {
        try (PyObject has = py.eval("__import__('importlib.util').util.find_spec('duckdb') is not None")) {
            assumeTrue(has.asBoolean(), "duckdb is not installed for " + py.executable());
        }
        Path log = Files.createTempFile("panamapy-duckdb", ".log");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--add-opens=java.base/java.nio=ALL-UNNAMED",
                "--sun-misc-unsafe-memory-access=allow", "-cp", System.getProperty("java.class.path"),
                "-Dpanamapy.python=" + py.executable(), DuckdbMain.class.getName()));
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        boolean done = child.waitFor(120, TimeUnit.SECONDS);
        if (!done) child.destroyForcibly();
        String out = Files.readString(log, StandardCharsets.UTF_8);
        assertTrue(done, "the child JVM hung:\n" + out);
        assertTrue(out.contains("RESULT [(80, 37920)]"), out);
        // duckdb 1.5.6 aborts the embedding process at exit (see DuckdbMain); anything else is ours
        assertTrue(child.exitValue() == 0 || out.contains("PyEval_SaveThread: the function must be called with the GIL held"),
                "exit " + child.exitValue() + ":\n" + out);
    }
}
