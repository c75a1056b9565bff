package dev.panamapy.internal;

import dev.panamapy.PythonStartupException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The support rules decide from a probe's answer alone, so they are tested with fabricated
 * answers (no Python needed): the free-threaded build, which no machine here has, among them.
 * The scripts read the same support.properties; the last tests check that they, and the parent
 * POM, say what the library says.
 */
class SupportRulesTest {

    private static final Path EXE = Path.of("/opt/python/bin/python3");
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    /** What probe.py prints for a healthy CPython 3.13 with a shared libpython, with some lines replaced. */
    private static String probeOutput(String... replacements) {
        String out = String.join("\n",
                "impl\tcpython",
                "version\t3.13.0",
                "executable\t/opt/python/bin/python3.13",
                "shared\t1",
                "gil_disabled\t0",
                "libdir\t/opt/python/lib",
                "libpython\t/opt/python/lib/libpython3.13.so.1.0",
                "end\tpanamapy-probe",
                "");
        for (String r : replacements) {
            String key = r.substring(0, r.indexOf('\t'));
            out = out.replaceFirst("(?m)^" + Pattern.quote(key) + "\t.*$", Matcher.quoteReplacement(r));
        }
        return out;
    }

    private static String refusedWith(String probeOutput) {
        PythonInstallation p = PythonInstallation.parse(EXE, probeOutput);
        PythonStartupException e = assertThrows(PythonStartupException.class, p::requireEmbeddable);
        return e.getMessage();
    }

    @Test
    void healthyGilBuildIsEmbeddable() {
        PythonInstallation p = PythonInstallation.parse(EXE, probeOutput());
        assertEquals(3, p.major());
        assertEquals(13, p.minor());
        assertEquals("/opt/python/bin/python3.13", p.sysExecutable());
        assertEquals(Path.of("/opt/python/lib/libpython3.13.so.1.0"), p.libpython());
        assertFalse(p.gilDisabled());
        assertTrue(SupportRules.refusal(p).isEmpty());
        assertSame(p, p.requireEmbeddable());
    }

    @Test
    void freeThreadedBuildIsRefusedBecauseOfTheObjectHeader() {
        String m = refusedWith(probeOutput("gil_disabled\t1",
                "libpython\t/opt/python/lib/libpython3.13t.so.1.0"));
        assertEquals("Python 3.13.0 at " + EXE + " is a free-threaded build (Py_GIL_DISABLED): panamapy's bindings "
                + "hard-code the object header of the default (GIL) build, which the free-threaded build changes; use "
                + "the default build of the same version (python3.13, not python3.13t)", m);
    }

    @Test
    void freeThreadedIsRefusedEvenWithoutSharedLibpython() {
        // the free-threaded rule comes first: rebuilding with --enable-shared would not help
        String m = refusedWith(probeOutput("gil_disabled\t1", "shared\t0", "libpython\t"));
        assertTrue(m.contains("is a free-threaded build"), m);
    }

    @Test
    void pythonOlderThan39IsRefusedAsTooOld() {
        String m = refusedWith(probeOutput("version\t3.8.18"));
        assertTrue(m.startsWith("Python 3.8.18 at " + EXE + " is too old: panamapy needs CPython 3.9 or newer"), m);
        assertTrue(m.contains("PyType_FromSpec only from 3.9 on"), m);
    }

    @Test
    void python2IsRefusedAsTooOld() {
        String m = refusedWith(probeOutput("version\t2.7.18"));
        assertTrue(m.startsWith("Python 2.7.18 at " + EXE + " is too old"), m);
    }

    @Test
    void staticBuildIsRefusedSayingEnableShared() {
        String m = refusedWith(probeOutput("shared\t0", "libpython\t"));
        assertTrue(m.contains("has no shared libpython (it was built without --enable-shared)"), m);
        assertTrue(m.contains("PYTHON_CONFIGURE_OPTS=--enable-shared pyenv install 3.13.0"), m);
        assertTrue(m.contains("the libpython3.13 package"), m);
    }

    @Test
    void sharedBuildWithoutItsLibraryIsRefusedNamingLibdir() {
        String m = refusedWith(probeOutput("libpython\t"));
        assertTrue(m.contains("it is not in its LIBDIR (/opt/python/lib)"), m);
        assertNull(PythonInstallation.parse(EXE, probeOutput("libpython\t")).libpython());
    }

    @Test
    void otherImplementationsAreRefused() {
        String m = refusedWith(probeOutput("impl\tpypy"));
        assertTrue(m.contains("is pypy, not CPython: panamapy embeds CPython 3.9 or newer"), m);
    }

    @Test
    void jdkOlderThan25IsRefused() {
        PythonStartupException e = assertThrows(PythonStartupException.class,
                () -> SupportRules.requireJdk(Runtime.Version.parse("22.0.2+9")));
        assertTrue(e.getMessage().startsWith("panamapy needs Java 25 or newer"), e.getMessage());
        assertTrue(e.getMessage().contains("this JVM is Java 22.0.2+9"), e.getMessage());
        SupportRules.requireJdk(Runtime.Version.parse("25"));
        SupportRules.requireJdk(Runtime.version());
    }

    @Test
    void parentPomRequiresTheSameJdk() throws IOException {
        String pom = Files.readString(ROOT.resolve("pom.xml"));
        Matcher enforcer = Pattern.compile("<requireJavaVersion>\\s*<version>\\[(\\d+),\\)</version>").matcher(pom);
        assertTrue(enforcer.find(), "the parent POM has no requireJavaVersion [N,) rule");
        assertEquals(SupportRules.MIN_JDK, Integer.parseInt(enforcer.group(1)), "enforcer's JDK floor");
        Matcher release = Pattern.compile("<maven.compiler.release>(\\d+)</maven.compiler.release>").matcher(pom);
        assertTrue(release.find(), "the parent POM has no maven.compiler.release");
        assertEquals(SupportRules.MIN_JDK, Integer.parseInt(release.group(1)), "compiler release");
    }

    @Test
    void scriptsRefuseWithTheLibrarysWords() throws Exception {
        Path common = ROOT.resolve("scripts/lib/common.sh");
        String[][] cases = {
                {"gil_disabled\t1"}, {"version\t3.8.18"}, {"version\t2.7.18"}, {"shared\t0", "libpython\t"},
                {"libpython\t"}, {"impl\tpypy"}};
        for (String[] c : cases) {
            String input = probeOutput(c);
            String library = refusedWith(input).replace(" at " + EXE + " ", " ");
            Process p = new ProcessBuilder("bash", "-c", ". \"$1\" && python_verdict", "bash", common.toString())
                    .redirectErrorStream(true).start();
            p.getOutputStream().write(input.getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "bash did not finish");
            assertEquals(0, p.exitValue(), out);
            assertEquals("skipped\t" + library, out, "scripts vs library for " + List.of(c));
        }
    }
}
