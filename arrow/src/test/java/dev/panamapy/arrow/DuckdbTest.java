package dev.panamapy.arrow;

import dev.panamapy.CPython;
import dev.panamapy.testing.PythonTest;
import dev.panamapy.PyObject;
import dev.panamapy.testing.RequiresPythonPackage;
import org.junit.jupiter.api.Test;

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
        ChildJvm.Result r = ChildJvm.run(DuckdbMain.class, py.executable().toString());
        String out = r.output();
        assertTrue(out.contains("RESULT [(80, 37920)]"), out);
        // duckdb 1.5.6 aborts the embedding process at exit (see DuckdbMain); anything else is ours
        assertTrue(r.exit() == 0 || out.contains("PyEval_SaveThread: the function must be called with the GIL held"),
                "exit " + r.exit() + ":\n" + out);
    }
}
