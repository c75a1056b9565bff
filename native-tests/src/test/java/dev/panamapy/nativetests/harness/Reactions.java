package dev.panamapy.nativetests.harness;

import dev.panamapy.BufferRequest;
import dev.panamapy.CPython;
import dev.panamapy.PyBufferView;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;
import dev.panamapy.testing.PythonRunner;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;

/** How a consumer reacts to an exported object, as one comparable string. */
final class Reactions {
    private Reactions() { }

    /**
     * Evaluates {@code expr} with {@code x} bound: {@code "value: <repr>"}, or
     * {@code "<ExceptionType>: <message>"} if it raised.
     */
    static String react(CPython py, Object x, String expr) {
        String snippet = "try:\n    r = 'value: ' + repr(" + expr + ")\n"
                + "except Exception as e:\n    r = type(e).__name__ + ': ' + str(e)\n";
        try (PyObject ns = PythonRunner.run(py, snippet, Map.of("x", x)); PyObject r = ns.getItem("r")) {
            return r.asString();
        }
    }

    /** What {@code PyObject_GetBuffer(x, flags)} gives from Java: "ok ndim=.. readonly=.." or the error. */
    static String request(PyObject x, int flags) {
        try (PyBufferView v = x.getBuffer(BufferRequest.of(flags))) {
            return "ok ndim=" + v.ndim() + " readonly=" + v.readOnly();
        } catch (PythonException e) {
            return e.pythonType() + ": " + e.pythonMessage();
        }
    }

    /** A native segment (GC-freed) holding these ints, native byte order. */
    static MemorySegment ints(int... values) {
        MemorySegment s = Arena.ofAuto().allocate(4L * Math.max(1, values.length), 8);
        for (int i = 0; i < values.length; i++) s.setAtIndex(ValueLayout.JAVA_INT, i, values[i]);
        return s;
    }

    /** A native segment (GC-freed) holding these doubles. */
    static MemorySegment doubles(double... values) {
        MemorySegment s = Arena.ofAuto().allocate(8L * Math.max(1, values.length), 8);
        for (int i = 0; i < values.length; i++) s.setAtIndex(ValueLayout.JAVA_DOUBLE, i, values[i]);
        return s;
    }
}
