package dev.panamapy.spark;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** No Python, no Spark: what PythonFunction accepts. */
class PythonFunctionTest {

    @Test
    void aModuleSpecNeedsAModuleAndAFunction() {
        assertEquals("'numpy' is not of the form module:function (e.g. mypackage.udfs:plus_one)",
                assertThrows(IllegalArgumentException.class, () -> PythonFunction.fromModule("numpy")).getMessage());
        assertEquals("function name in 'a.b:1x' '1x' is not a Python identifier",
                assertThrows(IllegalArgumentException.class, () -> PythonFunction.fromModule("a.b:1x")).getMessage());
        assertEquals("module", PythonFunction.fromModule("pkg.mod:Cls.method").kind());
    }

    @Test
    void sourceNeedsANameAndText() {
        assertThrows(IllegalArgumentException.class, () -> PythonFunction.fromSource(" ", "f"));
        assertThrows(IllegalArgumentException.class, () -> PythonFunction.fromSource("def f(x): pass", "f()"));
        assertThrows(IllegalArgumentException.class, () -> PythonFunction.fromSource("def f(x): pass\0", "f"));
    }

    @Test
    void theKeyChangesWithTheTextAndSurvivesSerialization() throws Exception {
        PythonFunction a = PythonFunction.fromSource("def f(x):\n    return x\n", "f");
        PythonFunction b = PythonFunction.fromSource("def f(x):\n    return x + 1\n", "f");
        assertNotEquals(a.key(), b.key());
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(a);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            PythonFunction back = (PythonFunction) in.readObject();
            assertEquals(a, back);
            assertEquals(a.key(), back.key());
        }
    }
}
