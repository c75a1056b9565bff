package dev.panamapy.nativetests.safety;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The stack guard only ever lowers CPython's recursion budget: on a thread whose stack holds
 * CPython's own limits, deep Python code reaches exactly the depths it reaches standalone.
 * (The small-stack cases, whose failure is a crash, are in {@link StackDepthTest}.)
 */
@Adversarial
class StackBudgetTest {

    @Test
    void aThreadWithABigStackKeepsCPythonsOwnLimits(CPython py) throws Exception {
        py.exec("def t_nest(n):\n    x = []\n    for i in range(n): x = [x]\n    return x");
        // 3.9-3.11 count repr's C recursion against the limit of 1000; 3.12 has a C limit of its own, 1500
        int nesting = py.minorVersion() >= 12 ? 1400 : 900;
        AtomicReference<Object> result = new AtomicReference<>();
        Thread t = new Thread(null, () -> {
            try (PyObject r = py.eval("(lambda f: f(f, 990))(lambda f, n: f(f, n - 1) + 1 if n else 0)");
                 PyObject nested = py.eval("len(repr(t_nest(" + nesting + ")))")) {
                result.set(r.asLong() + " " + nested.asLong());
            } catch (Throwable e) {
                result.set(e);
            }
        }, "big-stack", 64L << 20);
        t.start();
        t.join();
        py.exec("del t_nest");
        // 990 Python levels under the default limit of 1000; nesting + 1 levels of repr
        assertEquals("990 " + 2 * (nesting + 1), String.valueOf(result.get()));
    }
}
