package dev.panamapy.nativetests.embedding;

import org.junit.jupiter.api.Test;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * On the module path, the flag the README documents
 * ({@code --enable-native-access=dev.panamapy.bridge,dev.panamapy.bindings}) is all native access
 * needs: the bridge works and the JVM prints no restricted-method warning.
 */
class ModulePathTest {

    @Test
    void bridgeRunsAsNamedModulesWithTheDocumentedNativeAccessFlag() throws Exception {
        List<String> modules = new ArrayList<>(), rest = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            boolean module = e.contains("bindings" + File.separator + "target") || e.contains("bridge" + File.separator + "target")
                    || e.contains("panamapy-bindings") || e.contains("panamapy-bridge") || e.contains("slf4j-api");
            (module ? modules : rest).add(e);
        }
        assertEquals(3, modules.size(), "bindings, bridge and slf4j-api on the test class path: " + modules);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java,
                "--module-path", String.join(File.pathSeparator, modules),
                "--add-modules", "dev.panamapy.bridge",
                "--enable-native-access=dev.panamapy.bridge,dev.panamapy.bindings",
                "-cp", String.join(File.pathSeparator, rest)));
        String python = System.getProperty("panamapy.python");
        if (python != null && !python.isBlank()) cmd.add("-Dpanamapy.python=" + python);
        cmd.add(ModulePathMain.class.getName());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM finished");
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("answer=42 module=dev.panamapy.bridge"), out);
        assertFalse(out.contains("restricted method"), "no native-access warning:\n" + out);
    }
}
