package dev.panamapy.nativetests.views;

import dev.panamapy.BufferRequest;
import dev.panamapy.CPython;
import dev.panamapy.PyBufferView;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;
import dev.panamapy.testing.PythonPackages;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Every producer against every named request: accepted (with the layout it gave) or refused
 * (with the Python type and message). Prints the table, then checks the key expectations.
 * numpy and pyarrow rows appear only when those are installed.
 */
@PythonTest
class ViewsRequestTableTest {

    private final CPython py;

    private static final Map<String, BufferRequest> REQUESTS = new LinkedHashMap<>();
    static {
        REQUESTS.put("SIMPLE", BufferRequest.SIMPLE);
        REQUESTS.put("WRITABLE", BufferRequest.WRITABLE);
        REQUESTS.put("FORMAT", BufferRequest.FORMAT);
        REQUESTS.put("ND", BufferRequest.ND);
        REQUESTS.put("STRIDES", BufferRequest.STRIDES);
        REQUESTS.put("C_CONTIGUOUS", BufferRequest.C_CONTIGUOUS);
        REQUESTS.put("F_CONTIGUOUS", BufferRequest.F_CONTIGUOUS);
        REQUESTS.put("ANY_CONTIGUOUS", BufferRequest.ANY_CONTIGUOUS);
        REQUESTS.put("INDIRECT", BufferRequest.INDIRECT);
        REQUESTS.put("CONTIG", BufferRequest.CONTIG);
        REQUESTS.put("STRIDED", BufferRequest.STRIDED);
        REQUESTS.put("RECORDS_RO", BufferRequest.RECORDS_RO);
        REQUESTS.put("FULL", BufferRequest.FULL);
        REQUESTS.put("FULL_RO", BufferRequest.FULL_RO);
    }

    ViewsRequestTableTest(CPython py) {
        this.py = py;
    }

    record Outcome(boolean accepted, String detail) {
        @Override public String toString() { return (accepted ? "ok  " : "NO  ") + detail; }
    }

    private Map<String, String> producers() {
        Map<String, String> p = new LinkedHashMap<>();
        py.exec("import array, mmap");
        p.put("bytearray", "bytearray(b'0123456789')");
        p.put("bytes", "b'0123456789'");
        p.put("array('i')", "array.array('i', range(6))");
        p.put("mmap", "mmap.mmap(-1, 4096)");
        p.put("memoryview[2:10:2]", "memoryview(bytearray(range(16)))[2:10:2]");
        p.put("int (no buffer)", "12345");
        if (py.minorVersion() >= 12) {
            py.exec("class TableP688:\n    def __buffer__(self, flags):\n        return memoryview(bytearray(8)).cast('d')");
            p.put("PEP 688 class", "TableP688()");
        }
        if (PythonPackages.available(py, "numpy", "numpy")) {
            py.exec("import numpy as np\n_ro = np.arange(6.0)\n_ro.flags.writeable = False");
            p.put("numpy C (3,4) f8", "np.ones((3, 4))");
            p.put("numpy F (3,4) f8", "np.asfortranarray(np.ones((3, 4)))");
            p.put("numpy [::2, ::-1]", "np.ones((4, 6))[::2, ::-1]");
            p.put("numpy 0-d", "np.array(3.5)");
            p.put("numpy read-only", "_ro");
            p.put("numpy >i4", "np.arange(4, dtype='>i4')");
        }
        if (PythonPackages.available(py, "pyarrow", "pyarrow")) {
            py.exec("import pyarrow as pa");
            p.put("pa.py_buffer", "pa.py_buffer(b'0123456789')");
            p.put("pa int64 buffers()[1]", "pa.array([1, 2, 3]).buffers()[1]");
        }
        return p;
    }

    private Outcome attempt(String expr, BufferRequest req) {
        try (PyObject o = py.eval(expr)) {
            try (PyBufferView v = o.getBuffer(req)) {
                return new Outcome(true, (v.hasFormat() ? v.format() : "-") + " nd=" + v.ndim()
                        + (v.hasShape() ? " shape" : "") + (v.hasStrides() ? " strides" : "")
                        + (v.readOnly() ? " ro" : " rw") + " bytes=" + v.segment().byteSize());
            } catch (PythonException e) {
                return new Outcome(false, e.pythonType() + ": " + e.pythonMessage());
            }
        }
    }

    @Test
    void producerByRequestTable() {
        Map<String, Map<String, Outcome>> table = new LinkedHashMap<>();
        for (var p : producers().entrySet()) {
            Map<String, Outcome> row = new LinkedHashMap<>();
            for (var r : REQUESTS.entrySet()) row.put(r.getKey(), attempt(p.getValue(), r.getValue()));
            table.put(p.getKey(), row);
        }

        StringBuilder out = new StringBuilder("\n=== producer x request (CPython " + py.version() + ") ===\n");
        for (var p : table.entrySet()) {
            out.append("## ").append(p.getKey()).append('\n');
            for (var r : p.getValue().entrySet()) {
                out.append(String.format("  %-15s %s%n", r.getKey(), r.getValue()));
            }
        }
        System.out.println(out);

        // the key expectations
        for (String req : REQUESTS.keySet()) {
            if (!req.equals("WRITABLE") && !req.equals("CONTIG") && !req.equals("STRIDED") && !req.equals("FULL")
                    && !req.equals("FORMAT")) {
                assertTrue(table.get("bytearray").get(req).accepted(), "bytearray " + req);
                assertTrue(table.get("bytes").get(req).accepted(), "bytes " + req);
            }
            Outcome none = table.get("int (no buffer)").get(req);
            assertFalse(none.accepted());
            assertTrue(none.detail().startsWith("TypeError"), none.detail());
        }
        for (String req : new String[]{"WRITABLE", "CONTIG", "STRIDED", "FULL"}) {
            Outcome o = table.get("bytes").get(req);
            assertFalse(o.accepted(), "bytes " + req);
            assertTrue(o.detail().startsWith("BufferError") && o.detail().contains("writable"), o.detail());
            assertTrue(table.get("bytearray").get(req).accepted(), "bytearray " + req);
            assertTrue(table.get("mmap").get(req).accepted(), "mmap " + req);
        }
        Map<String, Outcome> slice = table.get("memoryview[2:10:2]");
        for (String req : new String[]{"SIMPLE", "ND", "C_CONTIGUOUS", "F_CONTIGUOUS", "ANY_CONTIGUOUS", "CONTIG"}) {
            assertFalse(slice.get(req).accepted(), "stepped slice " + req);
            assertTrue(slice.get(req).detail().startsWith("BufferError"), slice.get(req).detail());
        }
        for (String req : new String[]{"STRIDES", "STRIDED", "RECORDS_RO", "FULL", "FULL_RO", "INDIRECT"}) {
            assertTrue(slice.get(req).accepted(), "stepped slice " + req);
            assertTrue(slice.get(req).detail().endsWith("bytes=7"), slice.get(req).detail());
        }
        if (table.containsKey("numpy F (3,4) f8")) {
            Map<String, Outcome> f = table.get("numpy F (3,4) f8");
            assertFalse(f.get("C_CONTIGUOUS").accepted());
            assertTrue(f.get("C_CONTIGUOUS").detail().contains("C-contiguous"), f.get("C_CONTIGUOUS").detail());
            assertTrue(f.get("F_CONTIGUOUS").accepted());
            assertTrue(f.get("ANY_CONTIGUOUS").accepted());
            assertFalse(f.get("ND").accepted(), "ND without STRIDES needs C order");
            Map<String, Outcome> c = table.get("numpy C (3,4) f8");
            for (String req : REQUESTS.keySet()) {
                boolean expect = !req.equals("F_CONTIGUOUS");
                assertEquals(expect, c.get(req).accepted(), "numpy C " + req + ": " + c.get(req));
            }
            assertTrue(c.get("SIMPLE").detail().endsWith("bytes=96"), "numpy's ndim=0 SIMPLE answer: " + c.get("SIMPLE"));
            Map<String, Outcome> s = table.get("numpy [::2, ::-1]");
            assertFalse(s.get("ND").accepted());
            assertTrue(s.get("STRIDES").accepted());
            assertTrue(s.get("FULL").detail().endsWith("bytes=144"), s.get("FULL").detail());
            Map<String, Outcome> ro = table.get("numpy read-only");
            assertFalse(ro.get("WRITABLE").accepted());
            assertTrue(ro.get("FULL_RO").accepted() && ro.get("FULL_RO").detail().contains(" ro "), ro.get("FULL_RO").detail());
        }
        if (table.containsKey("pa.py_buffer")) {
            assertFalse(table.get("pa.py_buffer").get("WRITABLE").accepted());
            assertTrue(table.get("pa.py_buffer").get("FULL_RO").accepted());
            assertTrue(table.get("pa int64 buffers()[1]").get("FULL_RO").accepted());
        }
        if (table.containsKey("PEP 688 class")) {
            Outcome full = table.get("PEP 688 class").get("FULL");
            assertTrue(full.accepted() && full.detail().startsWith("d nd=1") && full.detail().endsWith("bytes=8"), full.toString());
        }
    }
}
