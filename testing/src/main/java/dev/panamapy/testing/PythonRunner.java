package dev.panamapy.testing;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;
import org.junit.jupiter.api.Assertions;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Runs Python from JUnit tests against the embedded interpreter: snippets with Java objects
 * bound to names, and whole pytest suites in-process (the Python tests then see the same
 * interpreter, the same {@code sys.modules} and the Java objects the JUnit test exported).
 *
 * <p>A Python exception fails the JUnit test ({@link org.opentest4j.AssertionFailedError}) with
 * the Python type, message and traceback in the message. Every method takes the GIL itself.
 */
public final class PythonRunner {
    private PythonRunner() { }

    /** The helper module's name in {@code sys.modules}. */
    static final String HELPER = "_panamapy_testing";

    /** The Python half: snippet runner, and a pytest plugin object that counts outcomes. */
    private static final String HELPER_SOURCE = """
            import sys, linecache, io, contextlib

            _count = [0]

            def run_snippet(src, bindings):
                _count[0] += 1
                filename = "<panamapy snippet %d>" % _count[0]
                # so tracebacks show the snippet's source lines
                linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
                ns = {"__name__": "__panamapy_snippet__", "__builtins__": __builtins__}
                ns.update(bindings)
                exec(compile(src, filename, "exec"), ns)
                return ns

            class Collector:
                \"""A pytest plugin object: counts passed/failed/skipped and keeps failure reports.\"""
                def __init__(self):
                    self.passed = self.failed = self.skipped = 0
                    self.failures = []

                def _fail(self, report, what):
                    self.failed += 1
                    text = getattr(report, "longreprtext", "") or str(report.longrepr)
                    self.failures.append("%s (%s)\\n%s" % (report.nodeid or "<collection>", what, text))

                def pytest_runtest_logreport(self, report):
                    if report.when == "call":
                        if report.passed:
                            self.passed += 1
                        elif report.failed:
                            self._fail(report, "failed")
                        elif report.skipped:
                            self.skipped += 1
                    elif report.failed:
                        self._fail(report, "error in " + report.when)
                    elif report.skipped and report.when == "setup":
                        self.skipped += 1

                def pytest_collectreport(self, report):
                    if report.failed:
                        self._fail(report, "collection error")

            def has_pytest():
                import importlib.util
                return importlib.util.find_spec("pytest") is not None

            def run_pytest(args):
                import pytest
                if not getattr(sys, "argv", None):
                    sys.argv = ["pytest"]
                collector = Collector()
                out = io.StringIO()
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                    code = pytest.main(list(args), plugins=[collector])
                return (int(code), collector.passed, collector.failed, collector.skipped,
                        tuple(collector.failures), out.getvalue())
            """;

    /**
     * pytest options always passed: no cache directory written next to the tests, no
     * {@code faulthandler} (it would install SIGSEGV/SIGBUS handlers over the JVM's, which uses
     * those signals itself), capture at {@code sys} level only (fd-level capture would swallow
     * the JVM's own stdout, which the build tool may use to talk to this JVM), and the
     * {@code importlib} import mode, so running pytest again in the same interpreter re-collects
     * cleanly.
     */
    static final List<String> FIXED_OPTIONS = List.of(
            "-p", "no:cacheprovider", "-p", "no:faulthandler", "--capture=sys", "--import-mode=importlib");

    private static PyObject helper(CPython py) {
        try {
            try (PyObject sys = py.importModule("sys"); PyObject modules = sys.getAttr("modules")) {
                try (PyObject has = py.eval("'" + HELPER + "' in __import__('sys').modules")) {
                    if (!has.asBoolean()) {
                        try (PyObject types = py.importModule("types");
                             PyObject mod = types.callMethod("ModuleType", HELPER);
                             PyObject builtins = py.importModule("builtins");
                             PyObject dict = mod.getAttr("__dict__")) {
                            builtins.callMethod("exec", HELPER_SOURCE, dict).close();
                            modules.setItem(HELPER, mod);
                        }
                    }
                }
                return modules.getItem(HELPER);
            }
        } catch (PythonException e) {
            throw new IllegalStateException("could not set up the panamapy testing helper in Python: " + e.getMessage(), e);
        }
    }

    /**
     * Runs a snippet of statements in a fresh namespace (not {@code __main__}) in which each
     * binding's key names its value, converted as {@link PyObject#call} converts arguments:
     * null, Boolean, numbers, String, byte[] (copied), {@link PyObject}, {@link dev.panamapy.JavaBuffer}.
     *
     * @return the namespace after the run (a dict; the caller owns it), to read results from
     * @throws org.opentest4j.AssertionFailedError if the snippet raised: the message has the
     *         Python type, message and traceback (with the snippet's lines)
     */
    public static PyObject run(CPython py, String snippet, Map<String, ?> bindings) {
        Objects.requireNonNull(snippet, "snippet");
        Objects.requireNonNull(bindings, "bindings");
        try (PyObject h = helper(py); PyObject dictType = py.eval("dict"); PyObject ns = dictType.call()) {
            for (Map.Entry<String, ?> b : bindings.entrySet()) ns.setItem(b.getKey(), b.getValue());
            return h.callMethod("run_snippet", snippet, ns);
        } catch (PythonException e) {
            throw failure("Python snippet raised " + e.pythonType(), e);
        }
    }

    /** {@link #run(CPython, String, Map)} without bindings. */
    public static PyObject run(CPython py, String snippet) {
        return run(py, snippet, Map.of());
    }

    /** Whether pytest can be imported by the embedded Python. */
    public static boolean hasPytest(CPython py) {
        try (PyObject h = helper(py); PyObject r = h.callMethod("has_pytest")) {
            return r.asBoolean();
        }
    }

    /**
     * Runs pytest in this process ({@code pytest.main}) on a file or directory, with a plugin
     * that counts outcomes, and prints pytest's output (each line prefixed {@code "pytest| "})
     * and the summary line {@code "pytest: N passed, N failed, N skipped"} to {@code System.out}.
     * The tests run in the embedded interpreter, so they see whatever the JUnit test bound in
     * {@code __main__} or put in {@code sys.modules}. Always passes {@link #FIXED_OPTIONS} first.
     *
     * @param args more pytest arguments ({@code "-k", "numpy"}, {@code "-x"} ...)
     * @throws org.opentest4j.TestAbortedException (a skipped test) if pytest is not installed and
     *         not required for this Python; {@link org.opentest4j.AssertionFailedError} if it is
     *         required but does not import (see {@link PythonPackages})
     * @throws IllegalArgumentException if the path does not exist
     */
    public static PytestResult pytest(CPython py, Path fileOrDir, String... args) {
        Objects.requireNonNull(fileOrDir, "fileOrDir");
        if (!Files.exists(fileOrDir)) throw new IllegalArgumentException("no such test file or directory: " + fileOrDir);
        PythonPackages.require(py, "pytest", "pytest");
        List<String> all = new ArrayList<>(FIXED_OPTIONS);
        Path abs = fileOrDir.toAbsolutePath().normalize();
        all.add("--rootdir=" + (Files.isDirectory(abs) ? abs : abs.getParent()));
        all.addAll(List.of(args));
        all.add(abs.toString());
        PytestResult result;
        try (PyObject h = helper(py); PyObject argList = py.eval("list")) {
            PyObject pyArgs = argList.call();
            for (String a : all) pyArgs.callMethod("append", a).close();
            try (pyArgs; PyObject r = h.callMethod("run_pytest", pyArgs)) {
                List<String> failures = new ArrayList<>();
                try (PyObject f = r.getItem(4L)) {
                    for (long i = 0, n = f.length(); i < n; i++) {
                        try (PyObject s = f.getItem(i)) { failures.add(s.asString()); }
                    }
                }
                result = new PytestResult((int) longAt(r, 0), (int) longAt(r, 1), (int) longAt(r, 2),
                        (int) longAt(r, 3), failures, stringAt(r, 5));
            }
        } catch (PythonException e) {
            throw failure("pytest could not run " + fileOrDir, e);
        }
        StringBuilder out = new StringBuilder();
        for (String line : result.output().split("\n", -1)) {
            if (!line.isEmpty()) out.append("pytest| ").append(line).append('\n');
        }
        out.append(result.summary());
        System.out.println(out);
        return result;
    }

    /**
     * {@link #pytest} that fails the JUnit test unless pytest exited 0 (tests ran, none failed):
     * the message has the summary and every failure report with its Python traceback.
     */
    public static PytestResult assertPytestPasses(CPython py, Path fileOrDir, String... args) {
        PytestResult r = pytest(py, fileOrDir, args);
        if (!r.ok()) {
            StringBuilder m = new StringBuilder(r.summary()).append(" (pytest exit code ").append(r.exitCode())
                    .append(r.exitCode() == 5 ? ": no tests collected" : "").append(") in ").append(fileOrDir);
            for (String f : r.failures()) m.append("\n\n").append(f);
            if (r.failures().isEmpty()) m.append("\n\n").append(r.output());
            Assertions.fail(m.toString());
        }
        return r;
    }

    private static long longAt(PyObject tuple, long i) {
        try (PyObject v = tuple.getItem(i)) { return v.asLong(); }
    }

    private static String stringAt(PyObject tuple, long i) {
        try (PyObject v = tuple.getItem(i)) { return v.asString(); }
    }

    private static AssertionError failure(String what, PythonException e) {
        String tb = e.pythonTraceback().isEmpty() ? "" : "\n" + e.pythonTraceback().stripTrailing();
        return new org.opentest4j.AssertionFailedError(what + ": " + e.pythonType() + ": " + e.pythonMessage() + tb, e);
    }
}
