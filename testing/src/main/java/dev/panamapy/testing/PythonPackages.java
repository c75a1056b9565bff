package dev.panamapy.testing;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;
import org.opentest4j.AssertionFailedError;
import org.opentest4j.TestAbortedException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The one rule for Python packages a test needs (numpy, pyarrow, pillow, pytest): a package the
 * test command installed for the Python under test is <em>required</em>, and a test that cannot
 * import it fails with the import error; any other missing package skips the test, with the
 * reason. Used by {@link RequiresPythonPackage @RequiresPythonPackage} and by
 * {@link PythonRunner#pytest}.
 *
 * <p>Which packages are required for the Python under test, first match wins:
 * <ol>
 *   <li>the system property {@value #PROPERTY}, else the environment variable {@value #ENV}: the
 *       packages installed for this Python, separated by commas or spaces (empty: none).
 *       {@code scripts/test} sets it for each Python from what it installed into that Python's
 *       venv ({@code target/venvs/py3.X});</li>
 *   <li>else the record {@value #RECORD} that {@code scripts/test} writes into each venv it
 *       makes, found in the embedded Python's {@code sys.prefix}: its {@code installed} lines (so a
 *       plain {@code mvn test -Dpanamapy.python=target/venvs/py3.11/bin/python} keeps the rule);</li>
 *   <li>else nothing is required.</li>
 * </ol>
 * The record's {@code missing} lines give the reason in a skip message ("no wheel for Python 3.9
 * on the package index").
 */
public final class PythonPackages {
    private PythonPackages() { }

    /** System property listing the packages installed for the Python under test (set by {@code scripts/test}). */
    public static final String PROPERTY = "panamapy.test.packages";
    /** Environment variable read when {@link #PROPERTY} is not set. */
    public static final String ENV = "PANAMAPY_TEST_PACKAGES";
    /** The file in a venv's root where {@code scripts/test} records what it installed ("installed|missing TAB name TAB version|reason"). */
    public static final String RECORD = ".panamapy-packages";

    private static Rule rule; // guarded by PythonPackages.class

    /** Required packages, why others are missing, and where that was read. */
    private record Rule(Set<String> required, Map<String, String> missing, String source) { }

    /**
     * Imports {@code module} in {@code py}; returns if it imports, else fails or skips the running
     * test as the class comment says. Takes the GIL itself; any thread.
     *
     * @param distribution the package's name as pip knows it ({@code "pillow"})
     * @param module       the module to import ({@code "PIL.Image"})
     * @throws AssertionFailedError  if the package is required for this Python but does not import
     * @throws TestAbortedException  (the test is skipped) if it does not import and is not required
     */
    public static void require(CPython py, String distribution, String module) {
        if (!available(py, distribution, module)) {
            throw new TestAbortedException(distribution + " is not installed for " + describe(py) + ": "
                    + whyMissing(py, distribution));
        }
    }

    /**
     * Whether {@code module} imports in {@code py}, for tests that use a package when it is there
     * (a table that gains rows with numpy); a required package that does not import fails the
     * test. Takes the GIL itself; any thread.
     *
     * @return true if it imports, false if it does not and is not required for this Python
     * @throws AssertionFailedError if the package is required for this Python but does not import
     */
    public static boolean available(CPython py, String distribution, String module) {
        String error = importError(py, module);
        if (error == null) return true;
        if (whyMissing(py, distribution) != null) return false;
        throw new AssertionFailedError(distribution + " is required on " + describe(py) + " (" + rule(py).source()
                + " lists it as installed) but 'import " + module + "' fails: " + error);
    }

    /**
     * Why {@code distribution} may be missing on {@code py} (the skip reason), or null if it is
     * required there. Takes the GIL itself; any thread.
     */
    public static String whyMissing(CPython py, String distribution) {
        Rule r = rule(py);
        String name = normalize(distribution);
        if (r.required().contains(name)) return null;
        String recorded = r.missing().get(name);
        if (recorded != null) return recorded + " (" + r.source() + ")";
        String unlisted = r.source().startsWith("no ") ? r.source() : r.source() + " does not list it";
        return "not required here (" + unlisted + "); pip install " + distribution
                + " into that Python, or run scripts/test, which installs it where the package index has a wheel";
    }

    /** The import error ("ModuleNotFoundError: No module named 'numpy'"), or null if {@code module} imports. */
    static String importError(CPython py, String module) {
        try (PyObject m = py.importModule(module)) {
            return null;
        } catch (PythonException e) {
            return e.pythonType() + ": " + e.pythonMessage();
        }
    }

    private static String describe(CPython py) {
        return "Python " + py.version() + " (" + py.executable() + ")";
    }

    private static synchronized Rule rule(CPython py) {
        if (rule == null) rule = readRule(py);
        return rule;
    }

    private static Rule readRule(CPython py) {
        Path record;
        try (PyObject prefix = py.eval("__import__('sys').prefix")) {
            record = Path.of(prefix.asString(), RECORD);
        }
        Set<String> installed = new LinkedHashSet<>();
        Map<String, String> missing = new HashMap<>();
        if (Files.isRegularFile(record)) {
            try {
                for (String line : Files.readAllLines(record)) {
                    String[] f = line.split("\t", 3);
                    if (f.length < 2) continue;
                    if (f[0].equals("installed")) installed.add(normalize(f[1]));
                    else if (f[0].equals("missing")) missing.put(normalize(f[1]), f.length > 2 ? f[2] : "not installable");
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + record, e);
            }
        }
        Optional<String> listed = Optional.ofNullable(System.getProperty(PROPERTY)).map(p -> "-D" + PROPERTY + "=" + p)
                .or(() -> Optional.ofNullable(System.getenv(ENV)).map(p -> ENV + "=" + p));
        if (listed.isPresent()) {
            Set<String> required = new LinkedHashSet<>();
            String list = listed.get().substring(listed.get().indexOf('=') + 1);
            for (String p : list.split("[,\\s]+")) if (!p.isBlank()) required.add(normalize(p));
            return new Rule(required, missing, listed.get());
        }
        if (Files.isRegularFile(record)) return new Rule(installed, missing, "the venv record " + record);
        return new Rule(Set.of(), missing, "no -D" + PROPERTY + ", no " + ENV + ", no venv record " + record);
    }

    /** pip's name normalization: case and {@code -_.} do not matter. */
    private static String normalize(String name) {
        return name.strip().toLowerCase(Locale.ROOT).replaceAll("[-_.]+", "-");
    }
}
