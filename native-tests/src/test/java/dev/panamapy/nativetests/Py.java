package dev.panamapy.nativetests;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;

import java.nio.file.Files;
import java.nio.file.Path;

/** Shared helpers for native tests: one CPython per test JVM (each test class runs in its own fork). */
public final class Py {
    private Py() { }

    private static CPython py;

    /** The interpreter of this test JVM, started on first use from -Dpanamapy.python (or discovery). */
    public static synchronized CPython get() {
        if (py == null) py = CPython.start();
        return py;
    }

    /** Whether the embedded Python can import a module. */
    public static boolean has(String module) {
        try (PyObject m = get().importModule(module)) {
            return true;
        } catch (dev.panamapy.PythonException e) {
            return false;
        }
    }

    /** The Python executable these tests embed (what -Dpanamapy.python names, or python3). */
    public static Path executable() {
        String p = System.getProperty("panamapy.python");
        if (p != null && !p.isBlank()) return Path.of(p);
        for (String dir : System.getenv("PATH").split(":")) {
            Path c = Path.of(dir, "python3");
            if (Files.isExecutable(c)) return c;
        }
        throw new IllegalStateException("no python3");
    }
}
