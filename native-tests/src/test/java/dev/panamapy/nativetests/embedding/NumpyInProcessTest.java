package dev.panamapy.nativetests.embedding;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.testing.RequiresPythonPackage;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** numpy's C extensions load into the JVM process from the embedded libpython, with no LD_PRELOAD. */
class NumpyInProcessTest {

    @Test
    @RequiresPythonPackage("numpy")   // per test, so that each skipped test is reported as skipped
    void numpyImportsAndComputesWithoutLdPreload(CPython py) {
        assertNull(System.getenv("LD_PRELOAD"), "this test must run without LD_PRELOAD");
        py.exec("import numpy as np");
        try (PyObject sum = py.eval("int(np.arange(10).sum())")) {
            assertEquals(45, sum.asLong());
        }
        try (PyObject mean = py.eval("float(np.linspace(0.0, 1.0, 101).mean())")) {
            assertEquals(0.5, mean.asDouble(), 1e-12);
        }
    }

    @Test
    @RequiresPythonPackage("numpy")
    void numpyLinalgSolvesAndInverts(CPython py) {
        py.exec("import numpy as np\n"
                + "_a = np.array([[3.0, 1.0], [1.0, 2.0]])\n"
                + "_x = np.linalg.solve(_a, np.array([9.0, 8.0]))\n");
        try (PyObject x0 = py.eval("float(_x[0])"); PyObject x1 = py.eval("float(_x[1])")) {
            assertEquals(2.0, x0.asDouble(), 1e-12);
            assertEquals(3.0, x1.asDouble(), 1e-12);
        }
        try (PyObject det = py.eval("float(np.linalg.det(_a))");
             PyObject identity = py.eval("bool(np.allclose(_a @ np.linalg.inv(_a), np.eye(2)))")) {
            assertEquals(5.0, det.asDouble(), 1e-12);
            assertTrue(identity.asBoolean());
        }
    }

    @Test
    @RequiresPythonPackage("numpy")
    void numpyExtensionIsMappedIntoThisJvmProcess(CPython py) throws IOException {
        py.exec("import sys, numpy");
        String so;
        try (PyObject f = py.eval("[m.__file__ for n, m in list(sys.modules.items())\n"
                + " if n.endswith('_multiarray_umath') and str(getattr(m, '__file__', '')).endswith('.so')][0]")) {
            so = f.asString();
        }
        String maps = Files.readString(Path.of("/proc/self/maps"));
        assertTrue(maps.contains(Path.of(so).toRealPath().toString()) || maps.contains(so),
                "numpy's extension " + so + " is not mapped into the JVM process");
        assertTrue(maps.contains(py.libpython().toRealPath().getFileName().toString()),
                "libpython " + py.libpython() + " is not mapped into the JVM process");
    }
}
