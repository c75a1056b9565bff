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
        AtomicReference<Object> result = new AtomicReference<>();
        Thread t = new Thread(null, () -> {
            try (PyObject r = py.eval("(lambda f: f(f, 990))(lambda f, n: f(f, n - 1) + 1 if n else 0)");
                 PyObject nested = py.eval("len(repr(t_nest(1400)))")) {
                result.set(r.asLong() + " " + nested.asLong());
            } catch (Throwable e) {
                result.set(e);
            }
        }, "big-stack", 64L << 20);
        t.start();
        t.join();
        py.exec("del t_nest");
        // 990 Python levels under the default limit of 1000; 1401 C levels of repr (3.12's C limit is 1500)
        assertEquals("990 2802", String.valueOf(result.get()));
    }
}
