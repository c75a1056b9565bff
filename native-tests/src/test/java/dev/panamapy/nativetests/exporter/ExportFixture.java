package dev.panamapy.nativetests.exporter;

import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.nativetests.Py;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * What a consumer test over Java memory needs, one per test: a shared arena, exports bound to
 * the Python global {@code t_buf}, and a teardown that checks the consumer let go of every view
 * before anything is closed.
 */
public final class ExportFixture {
    private final CPython py = Py.get();
    private final Arena arena = Arena.ofShared();
    private final List<JavaBuffer> buffers = new ArrayList<>();

    /** The test's memory; closed by {@link #close}. */
    public Arena arena() { return arena; }

    /** Exports the spec, binds it to {@code t_buf}, and remembers it for the teardown. */
    public JavaBuffer export(BufferSpec spec) {
        JavaBuffer buf = py.export(spec);
        buffers.add(buf);
        py.setGlobal("t_buf", buf);
        return buf;
    }

    /** Remembers an export made otherwise (a dynamic exporter, a second global) for the teardown. */
    public JavaBuffer track(JavaBuffer buf) {
        buffers.add(buf);
        return buf;
    }

    /**
     * Forgets the test's {@code t_*} globals, asserts that {@code consumer} released every view,
     * then closes the exports (which would refuse while a view lived) and the arena.
     */
    public void close(String consumer) {
        PyCheck.forgetTestGlobals();
        for (JavaBuffer b : buffers) {
            if (!b.isClosed()) assertEquals(0, b.exportCount(), consumer + " released every view");
            b.close();
        }
        arena.close();
    }
}
