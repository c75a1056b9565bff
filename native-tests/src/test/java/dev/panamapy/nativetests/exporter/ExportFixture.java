package dev.panamapy.nativetests.exporter;

import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.testing.PanamapyExtension;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * What a consumer test over Java memory needs, one per test: a shared arena, exports bound to
 * the Python global {@code t_buf}, and a teardown that checks the consumer let go of every view
 * before anything is closed. A JUnit extension: register it on an instance field,
 * {@code @RegisterExtension final ExportFixture fx = new ExportFixture("numpy");}; it opens
 * before each test (before the class's {@code @BeforeEach}) and checks and closes after it
 * (after the class's {@code @AfterEach}).
 */
public final class ExportFixture implements BeforeEachCallback, AfterEachCallback {
    private final String consumer;
    private final List<JavaBuffer> buffers = new ArrayList<>();
    private CPython py;
    private Arena arena;

    /** @param consumer what reads the exports, named in the teardown's assertion ("numpy released every view") */
    public ExportFixture(String consumer) {
        this.consumer = consumer;
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        py = PanamapyExtension.python();
        arena = Arena.ofShared();
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (arena != null) close();   // null: the test was not set up
    }

    /** The test's memory; closed after the test. */
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
     * Forgets the test's {@code t_*} globals, asserts that the consumer released every view,
     * then closes the exports (which would refuse while a view lived) and the arena.
     */
    private void close() {
        PyCheck.forgetTestGlobals();
        for (JavaBuffer b : buffers) {
            if (!b.isClosed()) assertEquals(0, b.exportCount(), consumer + " released every view");
            b.close();
        }
        buffers.clear();
        arena.close();
        arena = null;
    }
}
