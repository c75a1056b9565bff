package dev.panamapy.nativetests.safety;

import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PyObject;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A Python exception that passes through a Java function (Python raises it, the Java function
 * lets it go, Python sees its own exception again) and is then caught by Python code must not
 * stay pinned by Java: the exception, its traceback and the locals of every frame it passed
 * (here a JavaBuffer and a sentinel object) are freed with it. Found with the RecursionError of
 * {@link StackDepthTest}: Java kept every such exception until 10,000 had piled up.
 */
@Adversarial
class RestoredExceptionTest {

    @AfterEach
    void forget(CPython py) {
        py.exec("for _n in [n for n in globals() if n.startswith('t_')]: del globals()[_n]\nimport gc; gc.collect()");
    }

    @Test
    void anExceptionCaughtInPythonAfterPassingThroughJavaPinsNothing(CPython py) throws Exception {
        py.defineFunction("t_fail", a -> py.eval("1 / 0"));
        py.exec("""
                import sys
                t_sentinel = object()
                def t_catch(b):
                    keep = t_sentinel
                    try:
                        t_fail()
                    except ZeroDivisionError:
                        return 'caught'
                """);
        try (Arena arena = Arena.ofShared(); PyObject catcher = py.getGlobal("t_catch")) {
            long sentinelRefs = refcount(py);
            long exporters = settledExporters(py);
            for (int i = 0; i < 200; i++) {
                try (JavaBuffer b = py.export(BufferSpec.of(py.arena().allocate(16), "B"));
                     PyObject r = catcher.call(b)) {
                    assertEquals("caught", r.asString());
                }
            }
            assertEquals(exporters, settledExporters(py), "JavaBuffers still alive in frames of caught exceptions");
            assertEquals(sentinelRefs, refcount(py), "references to a local of the frames still held");
        }
    }

    private static long refcount(CPython py) {
        try (PyObject n = py.eval("sys.getrefcount(t_sentinel)")) {
            return n.asLong();
        }
    }

    private static long settledExporters(CPython py) throws InterruptedException {
        long n = -1;
        for (int i = 0; i < 20; i++) {
            System.gc();
            Thread.sleep(20);
            py.exec("import gc; gc.collect()");
            long next = py.diagnostics().liveExporters();
            if (next == n) return n;
            n = next;
        }
        return n;
    }
}
