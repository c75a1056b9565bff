package dev.panamapy.nativetests.numpy;

import dev.panamapy.CPython;
import dev.panamapy.PyBufferView;
import dev.panamapy.BufferRequest;
import dev.panamapy.PyObject;
import dev.panamapy.testing.RequiresPythonPackage;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/** numpy calling Java functions. */
@RequiresPythonPackage("numpy")
class FunctionsNumpyTest {

    private static CPython py;

    @BeforeEach
    void numpy(CPython python) {
        py = python;
        py.exec("import numpy as np");
    }

    @Test
    void applyAlongAxisCallsJavaOnEveryRow() {
        AtomicInteger calls = new AtomicInteger();
        // each row arrives as a numpy array: Java sums it through a buffer view
        py.defineFunction("j_rowsum", args -> {
            calls.incrementAndGet();
            try (PyBufferView v = ((PyObject) args[0]).getBuffer(BufferRequest.FULL_RO)) {
                return v.sum();
            }
        }).close();
        py.exec("m = np.arange(300_000, dtype=np.float64).reshape(100_000, 3)\n"
                + "aa = np.apply_along_axis(j_rowsum, 1, m)");
        try (PyObject ok = py.eval("bool(np.array_equal(aa, m.sum(axis=1)))")) {
            assertTrue(ok.asBoolean());
        }
        assertEquals(100_000, calls.get());
    }

    @Test
    void vectorizeCallsJavaWithScalars() {
        py.defineFunction("j_poly", args -> {
            double x = ((Number) args[0]).doubleValue();
            return x * x + 1;
        }).close();
        py.exec("vz = np.vectorize(j_poly, otypes=[np.float64])(np.linspace(0, 1, 1001))");
        try (PyObject ok = py.eval("bool(np.allclose(vz, np.linspace(0, 1, 1001) ** 2 + 1))")) {
            assertTrue(ok.asBoolean());
        }
    }
}
