package dev.panamapy.nativetests.embedding;

import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PyObject;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A reference dropped without the GIL is not left waiting for the next call: the object goes
 * shortly after close() even when Java never calls Python again. Observed through Java memory
 * that the object's __del__ writes, so that observing needs no call.
 */
@PythonTest
class DeferredDropTest {

    @Test
    void droppedObjectIsFreedSoonWithoutAnotherCall(CPython py) throws Exception {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment flag = arena.allocate(8);
            try (JavaBuffer buf = py.export(BufferSpec.of(flag, "B"))) {
                py.setGlobal("t_flag", buf);
                py.exec("""
                        t_view = memoryview(t_flag)
                        class Probe:
                            def __del__(self):
                                t_view[0] = 1
                        """);
                PyObject probe = py.eval("Probe()");
                probe.close();                      // this thread does not hold the GIL: queued
                long deadline = System.nanoTime() + 5_000_000_000L;
                while (flag.get(ValueLayout.JAVA_BYTE, 0) == 0 && System.nanoTime() < deadline) {
                    Thread.sleep(1);
                }
                assertEquals(1, flag.get(ValueLayout.JAVA_BYTE, 0), "__del__ ran without any further call");
                py.exec("t_view.release()\ndel t_view, t_flag");
            }
        }
    }
}
