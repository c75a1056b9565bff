package dev.panamapy.nativetests.embedding;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.nativetests.Pythons;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Embedding a venv's python sees the venv: its site-packages, its sys.path, its sys.prefix. */
class VenvTest {

    @TempDir
    static Path tmp;

    private static Path venv;
    private static Path venvPython;
    private static CPython py;

    /** Runs a command and returns its stdout (stripped); fails on a non-zero exit. */
    private static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "timed out: " + String.join(" ", command));
        assertEquals(0, p.exitValue(), String.join(" ", command) + " failed:\n" + out);
        return out.strip();
    }

    @BeforeAll
    static void createVenvAndStart() throws Exception {
        // the base interpreter of the Python under test (panamapy.python may itself be a venv)
        Path base = Path.of(run(Pythons.underTest().toString(), "-c",
                "import sys, os; print(os.path.join(sys.base_prefix, 'bin', 'python3'))"));
        venv = tmp.resolve("venv");
        run(base.toString(), "-m", "venv", "--without-pip", venv.toString());
        venvPython = venv.resolve("bin/python");
        Path sitePackages = Path.of(run(venvPython.toString(), "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])"));
        Files.writeString(sitePackages.resolve("panamapy_venv_probe.py"), "ANSWER = 42\n");
        py = CPython.builder().python(venvPython).start();
    }

    @AfterAll
    static void close() {
        if (py != null) py.close();
    }

    @Test
    void moduleInVenvSitePackagesImports() {
        try (PyObject m = py.importModule("panamapy_venv_probe"); PyObject answer = m.getAttr("ANSWER");
             PyObject file = m.getAttr("__file__")) {
            assertEquals(42, answer.asLong());
            assertTrue(file.asString().startsWith(venv.toString()), file.asString());
        }
    }

    @Test
    void embeddedSysPathEqualsWhatTheVenvPythonSees() throws Exception {
        String expected = run(venvPython.toString(), "-c", "import sys; print(sys.path[1:])");
        try (PyObject path = py.eval("repr(__import__('sys').path)")) {
            assertEquals(expected, path.asString());
        }
        assertTrue(expected.contains("site-packages"), expected);
    }

    @Test
    void sysPrefixIsTheVenv() throws Exception {
        String expectedBase = run(venvPython.toString(), "-c", "import sys; print(sys.base_prefix)");
        try (PyObject prefix = py.eval("__import__('sys').prefix");
             PyObject basePrefix = py.eval("__import__('sys').base_prefix")) {
            assertEquals(venv.toString(), prefix.asString());
            assertEquals(expectedBase, basePrefix.asString());
        }
        assertEquals(py.minorVersion(), Integer.parseInt(run(venvPython.toString(), "-c",
                "import sys; print(sys.version_info[1])")));
    }
}
