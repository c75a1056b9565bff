package dev.panamapy.nativetests.embedding;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.nativetests.Pythons;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One interpreter per process, not restartable, unusable after close. The methods run in order
 * on one interpreter: it is running for the first, closed by the second, and stays closed.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LifecycleTest {

    private static CPython py;
    private static PyObject kept;

    @BeforeAll
    static void start() {
        py = CPython.start();
        kept = py.eval("[1, 2, 3]");
    }

    @Test
    @Order(1)
    void secondStartWhileRunningSaysAlreadyRunning() {
        IllegalStateException e = assertThrows(IllegalStateException.class, CPython::start);
        assertTrue(e.getMessage().contains("is already running in this process"), e.getMessage());
        assertTrue(e.getMessage().contains(py.version()), e.getMessage());
        IllegalStateException e2 = assertThrows(IllegalStateException.class,
                () -> CPython.builder().python(Pythons.underTest()).start());
        assertTrue(e2.getMessage().contains("already running"), e2.getMessage());
        assertSame(py, CPython.running().orElseThrow());
        try (PyObject len = kept.callMethod("__len__")) {
            assertEquals(3, len.asLong(), "the running interpreter is unharmed");
        }
    }

    @Test
    @Order(2)
    void callsAfterCloseThrowIllegalStateException() {
        py.close();
        assertTrue(py.isClosed());
        assertTrue(CPython.running().isEmpty());
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> py.eval("1"));
        assertEquals("CPython is closed: no calls can be made after close()", e.getMessage());
        assertThrows(IllegalStateException.class, () -> py.exec("x = 1"));
        assertThrows(IllegalStateException.class, () -> py.importModule("sys"));
        assertThrows(IllegalStateException.class, () -> py.setGlobal("x", 1));
        assertThrows(IllegalStateException.class, () -> py.gil());
        IllegalStateException a = assertThrows(IllegalStateException.class, () -> kept.getAttr("append"));
        assertTrue(a.getMessage().contains("CPython is closed"), a.getMessage());
        assertThrows(IllegalStateException.class, () -> kept.call());
        assertThrows(IllegalStateException.class, () -> kept.length());
        assertThrows(IllegalStateException.class, () -> kept.repr());
    }

    @Test
    @Order(3)
    void closingPyObjectAfterInterpreterClosedIsSilentNoOp() {
        assertTrue(py.isClosed());
        long live = py.diagnostics().liveReferences();
        assertDoesNotThrow(kept::close);
        assertDoesNotThrow(kept::close);
        assertTrue(kept.isClosed());
        assertEquals(live - 1, py.diagnostics().liveReferences(), "the dropped reference is no longer counted");
        assertEquals("<closed PyObject>", kept.toString());
    }

    @Test
    @Order(4)
    void closeIsIdempotent() {
        assertDoesNotThrow(py::close);
        assertTrue(py.isClosed());
    }

    @Test
    @Order(5)
    void startAfterCloseSaysItCannotBeRestarted() {
        IllegalStateException e = assertThrows(IllegalStateException.class, CPython::start);
        assertTrue(e.getMessage().contains("cannot be restarted"), e.getMessage());
        assertTrue(e.getMessage().contains("start a new JVM"), e.getMessage());
        assertTrue(CPython.running().isEmpty());
    }
}
