package dev.panamapy.nativetests.embedding;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.PythonStartupException;
import dev.panamapy.nativetests.Pythons;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Pythons that cannot be embedded are refused with a message that says why and what to do.
 * A refused start loads nothing (the executable is probed and validated first), so the refusals
 * run one after another in this JVM and a good Python still starts after them (the last method).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class StartupErrorsTest {

    @TempDir
    static Path tmp;

    private static Path script(String name, String body) throws IOException {
        Path p = tmp.resolve(name);
        Files.writeString(p, body);
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }

    private static PythonStartupException refused(Path exe) {
        PythonStartupException e = assertThrows(PythonStartupException.class, () -> CPython.builder().python(exe).start());
        assertTrue(CPython.running().isEmpty(), "a refused start left an interpreter behind");
        return e;
    }

    @Test
    @Order(1)
    void executableThatPrintsNothingIsNotPython() {
        PythonStartupException e = refused(Path.of("/bin/true"));
        assertTrue(e.getMessage().startsWith("/bin/true is not a Python interpreter"), e.getMessage());
        assertTrue(e.getMessage().contains("exited 0 and printed: (nothing)"), e.getMessage());
    }

    @Test
    @Order(2)
    void scriptPrintingGarbageIsNotPython() throws IOException {
        Path fake = script("fake-python", "#!/bin/sh\necho 'garbage from a fake python'\nexit 3\n");
        PythonStartupException e = refused(fake);
        assertTrue(e.getMessage().contains(fake + " is not a Python interpreter"), e.getMessage());
        assertTrue(e.getMessage().contains("exited 3 and printed: garbage from a fake python"), e.getMessage());
    }

    @Test
    @Order(3)
    void fileThatCannotBeExecutedIsRefused() throws IOException {
        Path text = tmp.resolve("not-executable.txt");
        Files.writeString(text, "print('hi')\n");
        PythonStartupException e = refused(text);
        assertTrue(e.getMessage().contains(text + " cannot be run"), e.getMessage());
        assertTrue(e.getMessage().contains("it must be a CPython executable"), e.getMessage());
    }

    @Test
    @Order(4)
    void nonExistentPathIsRefused() {
        Path missing = tmp.resolve("no/such/python3");
        PythonStartupException e = refused(missing);
        assertTrue(e.getMessage().startsWith("Python executable " + missing + " does not exist"), e.getMessage());
        assertTrue(e.getMessage().contains("CPython.builder().python(path)"), e.getMessage());
    }

    @Test
    @Order(5)
    void python38IsTooOld() {
        Pythons.Found py38 = Pythons.version("3.8").orElse(null);
        assumeTrue(py38 != null, "no CPython 3.8 on this machine (scripts/lib/common.sh find_pythons)");
        PythonStartupException e = refused(py38.executable());
        assertTrue(e.getMessage().startsWith("Python " + py38.version() + " at " + py38.executable() + " is too old"),
                e.getMessage());
        assertTrue(e.getMessage().contains("needs CPython 3.9 or newer"), e.getMessage());
    }

    @Test
    @Order(6)
    void python27IsTooOld() {
        Pythons.Found py27 = Pythons.version("2.7").orElse(null);
        assumeTrue(py27 != null, "no CPython 2.7 on this machine (scripts/lib/common.sh find_pythons)");
        PythonStartupException e = refused(py27.executable());
        assertTrue(e.getMessage().startsWith("Python " + py27.version() + " at " + py27.executable() + " is too old"),
                e.getMessage());
        assertTrue(e.getMessage().contains("3.9"), e.getMessage());
    }

    @Test
    @Order(7)
    void pythonWithoutSharedLibpythonSaysEnableShared() throws IOException {
        // the bridge probes with `<exe> -c <code>`: this wrapper runs that code after making
        // sysconfig say the build is static, as a Python built without --enable-shared does
        Path real = Pythons.underTest();
        Path staticPython = script("static-python", "#!/bin/sh\nexec '" + real + "' -c "
                + "\"import sysconfig, sys; sysconfig.get_config_vars()['Py_ENABLE_SHARED'] = 0; exec(sys.argv[1])\" \"$2\"\n");
        PythonStartupException e = refused(staticPython);
        assertTrue(e.getMessage().contains("has no shared libpython"), e.getMessage());
        assertTrue(e.getMessage().contains("--enable-shared"), e.getMessage());
        assertTrue(e.getMessage().contains("PYTHON_CONFIGURE_OPTS=--enable-shared pyenv install"), e.getMessage());
    }

    @Test
    @Order(8)
    void freeThreadedPythonIsRefusedNamingTheGilBuild() throws IOException {
        // no free-threaded CPython (3.13t) is installed here: this wrapper runs the probe after
        // making sysconfig say Py_GIL_DISABLED, as a free-threaded build's sysconfig does
        Path real = Pythons.underTest();
        Path freeThreaded = script("python3t", "#!/bin/sh\nexec '" + real + "' -c "
                + "\"import sysconfig, sys; sysconfig.get_config_vars()['Py_GIL_DISABLED'] = 1; exec(sys.argv[1])\" \"$2\"\n");
        PythonStartupException e = refused(freeThreaded);
        assertTrue(e.getMessage().matches("Python 3\\.\\d+\\.\\d+ at " + Pattern.quote(freeThreaded.toString())
                + " is a free-threaded build \\(Py_GIL_DISABLED\\): .*"), e.getMessage());
        assertTrue(e.getMessage().contains("hard-code the object header of the default (GIL) build"), e.getMessage());
        assertTrue(e.getMessage().matches(".*\\(python3\\.(\\d+), not python3\\.\\1t\\)$"), e.getMessage());
    }

    @Test
    @Order(100)
    void goodPythonStartsAfterRefusedOnes() {
        try (CPython py = CPython.builder().python(Pythons.underTest()).start();
             PyObject r = py.eval("sum(range(10))")) {
            assertEquals(45, r.asLong());
            assertTrue(CPython.running().isPresent());
        }
    }
}
