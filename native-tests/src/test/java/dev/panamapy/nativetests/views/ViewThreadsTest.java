package dev.panamapy.nativetests.views;

import dev.panamapy.BufferRequest;
import dev.panamapy.CPython;
import dev.panamapy.PyBufferView;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Views are confined to their thread by default; shared views cross threads; the Cleaner waits for segments too. */
@PythonTest
class ViewThreadsTest {

    private final CPython py;

    ViewThreadsTest(CPython py) {
        this.py = py;
    }

    @Test
    void confinedViewRefusesOtherThreadsAndStaysOpen() throws Exception {
        try (PyObject ba = py.eval("bytearray(b'abcd')"); PyBufferView v = ba.getBuffer(BufferRequest.SIMPLE)) {
            assertFalse(v.isShared());
            ExecutionException read = assertThrows(ExecutionException.class,
                    () -> CompletableFuture.supplyAsync(() -> v.segment().get(ValueLayout.JAVA_BYTE, 0)).get(10, TimeUnit.SECONDS));
            assertInstanceOf(WrongThreadException.class, read.getCause());
            ExecutionException close = assertThrows(ExecutionException.class,
                    () -> CompletableFuture.runAsync(v::close).get(10, TimeUnit.SECONDS));
            assertInstanceOf(WrongThreadException.class, close.getCause());
            assertTrue(close.getCause().getMessage().contains("getBufferShared"), close.getCause().getMessage());
            assertFalse(v.isClosed(), "a refused close changes nothing");
            assertEquals('a', v.segment().get(ValueLayout.JAVA_BYTE, 0));
        }
    }

    @Test
    void sharedViewIsReadAndClosedByAnotherThread() throws Exception {
        try (PyObject ba = py.eval("bytearray(b'xyz')")) {
            PyBufferView v = ba.getBufferShared(BufferRequest.WRITABLE);
            assertTrue(v.isShared());
            byte b = CompletableFuture.supplyAsync(() -> v.segment().get(ValueLayout.JAVA_BYTE, 2)).get(10, TimeUnit.SECONDS);
            assertEquals('z', b);
            CompletableFuture.runAsync(v::close).get(10, TimeUnit.SECONDS);
            assertTrue(v.isClosed());
            py.setGlobal("t_ba", ba);
            py.exec("t_ba.extend(b'!')");             // no longer exported: resizing works again
            try (PyObject r = py.eval("bytes(t_ba)")) {
                assertEquals("b'xyz!'", r.toString());
            }
        }
    }

    @Test
    void cleanerWaitsUntilNoSegmentOfTheViewIsReachable() throws Exception {
        try (PyObject ba = py.eval("bytearray(16)")) {
            py.setGlobal("t_ba", ba);
            MemorySegment kept = keepOnlySegment(ba);
            for (int i = 0; i < 5; i++) {
                System.gc();
                Thread.sleep(20);
            }
            // the view is gone but its segment is not: the buffer must still be held (no resize)
            PythonException e = assertThrows(PythonException.class, () -> py.exec("t_ba.extend(b'x')"));
            assertTrue(e.is("BufferError"), e.getMessage());
            kept.set(ValueLayout.JAVA_BYTE, 0, (byte) 9);
            try (PyObject r = py.eval("t_ba[0]")) {
                assertEquals(9, r.asLong());
            }
            kept = null;
            long deadline = System.nanoTime() + 10_000_000_000L;
            boolean resized = false;
            while (!resized && System.nanoTime() < deadline) {
                System.gc();
                Thread.sleep(20);
                try {
                    py.exec("t_ba.extend(b'x')");
                    resized = true;
                } catch (PythonException again) {
                    assertTrue(again.is("BufferError"), again.getMessage());
                }
            }
            assertTrue(resized, "the buffer is released once neither view nor segment is reachable");
        }
    }

    private static MemorySegment keepOnlySegment(PyObject ba) {
        PyBufferView v = ba.getBuffer(BufferRequest.WRITABLE);
        return v.segment();
    }
}
