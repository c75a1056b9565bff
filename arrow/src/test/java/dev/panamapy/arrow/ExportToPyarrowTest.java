package dev.panamapy.arrow;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.testing.PythonRunner;
import dev.panamapy.testing.PythonTest;
import dev.panamapy.testing.RequiresPythonPackage;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@PythonTest
@RequiresPythonPackage("pyarrow")
class ExportToPyarrowTest {

    private static VectorSchemaRoot sample(BufferAllocator a, int n) {
        BigIntVector ids = new BigIntVector("id", a);
        VarCharVector names = new VarCharVector("name", a);
        ids.allocateNew(n);
        names.allocateNew(n);
        for (int i = 0; i < n; i++) {
            if (i % 5 == 3) ids.setNull(i); else ids.set(i, i * 10L);
            names.setSafe(i, ("n" + i).getBytes(StandardCharsets.UTF_8));
        }
        ids.setValueCount(n);
        names.setValueCount(n);
        return new VectorSchemaRoot(List.of(ids.getField(), names.getField()), List.of(ids, names), n);
    }

    @Test
    void pyarrowRecordBatchReadsJavaBuffersInPlace(CPython py) {
        try (BufferAllocator a = new RootAllocator(); VectorSchemaRoot root = sample(a, 10)) {
            long idData = root.getVector("id").getDataBuffer().memoryAddress();
            long nameData = root.getVector("name").getDataBuffer().memoryAddress();
            try (PyObject obj = ArrowExport.batch(py, root);
                 PyObject ns = PythonRunner.run(py, """
                         import pyarrow as pa
                         b = pa.record_batch(obj)
                         ids = b.column(0).to_pylist()
                         names = b.column(1).to_pylist()
                         id_addr = b.column(0).buffers()[1].address
                         name_addr = b.column(1).buffers()[2].address
                         """, Map.of("obj", obj))) {
                assertEquals("[0, 10, 20, None, 40, 50, 60, 70, None, 90]", ns.getItem("ids").toString());
                assertEquals("['n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7', 'n8', 'n9']", ns.getItem("names").toString());
                assertEquals(idData, ns.getItem("id_addr").asLong());
                assertEquals(nameData, ns.getItem("name_addr").asLong());
            }
            py.exec("pass");       // references Java dropped are decremented on the next call
        }
    }

    @Test
    void javaMemoryOutlivesRootAndAllocatorCloseWhilePyarrowHoldsIt(CPython py) {
        BufferAllocator a = new RootAllocator();
        VectorSchemaRoot root = sample(a, 1000);
        try (PyObject obj = ArrowExport.batch(py, root)) {
            py.setGlobal("obj", obj);
        }
        root.close();
        py.exec("import pyarrow as pa\nkept = pa.record_batch(obj)\ndel obj");
        IllegalStateException e = assertThrows(IllegalStateException.class, a::close);
        assertTrue(e.getMessage().contains("panamapy-export#"), e.getMessage());
        try (PyObject s = py.eval("kept.column(0)[999].as_py()")) {
            assertEquals(9990, s.asLong());
        }
        py.exec("del kept");   // released into a closed allocator: logged, nothing thrown, memory not freed twice
    }

    @Test
    void rootClosedUnderALivePyarrowArrayIsFreedWhenPythonLetsGo(CPython py) {
        try (BufferAllocator a = new RootAllocator()) {
            VectorSchemaRoot root = sample(a, 100);
            try (PyObject obj = ArrowExport.batch(py, root)) {
                py.setGlobal("obj", obj);
            }
            root.close();
            py.exec("import pyarrow as pa\nkept = pa.record_batch(obj)\ndel obj");
            assertTrue(a.getAllocatedMemory() > 0);
            try (PyObject s = py.eval("kept.column(1)[42].as_py()")) {
                assertEquals("n42", s.toString());
            }
            py.exec("del kept");
            assertEquals(0, a.getAllocatedMemory());
        }
    }
}
