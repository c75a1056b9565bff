package dev.panamapy.nativetests.safety;

import dev.panamapy.CPython;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Each test leaves the interpreter's counts as it found them: after Python's garbage collection,
 * as many JavaBuffers and Java-held references as before the test, and no view of Java memory.
 * Register it with {@code @RegisterExtension} after anything the class takes once (module
 * imports), which the baseline then includes.
 */
final class NothingLeftBehind implements BeforeEachCallback, AfterEachCallback {
    private final CPython py;
    private CPython.Diagnostics before;

    NothingLeftBehind(CPython py) {
        this.py = py;
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        before = py.diagnostics();
    }

    @Override
    public void afterEach(ExtensionContext context) {
        py.exec("import gc; gc.collect()");
        CPython.Diagnostics after = py.diagnostics();
        assertEquals(0, after.liveViews(), "every view was released");
        assertEquals(before.liveExporters(), after.liveExporters(), "every JavaBuffer is gone");
        assertEquals(before.liveReferences(), after.liveReferences(), "no reference left");
    }
}
