package dev.panamapy.arrow;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.VectorSchemaRoot;

/**
 * duckdb queries a Java batch, in a JVM of its own: duckdb (1.5.6) aborts the embedding process
 * when it exits ("PyEval_SaveThread: the function must be called with the GIL held"; its C++
 * static destructors release a GIL their thread does not hold), finalized interpreter or not,
 * and keeps the Arrow data it scanned until then. Prints the result.
 */
public final class DuckdbMain {
    private DuckdbMain() { }

    public static void main(String[] args) {
        try (CPython py = CPython.start()) {
            BufferAllocator a = new RootAllocator();       // not closed: duckdb keeps the scanned data until exit
            try (VectorSchemaRoot root = Samples.root(a, 100); PyObject obj = ArrowExport.batch(py, root)) {
                py.setGlobal("obj", obj);
                py.exec("import duckdb, pyarrow as pa\ntbl = pa.table(obj)\ncon = duckdb.connect()\n"
                        + "res = con.sql('select count(*), sum(id) from tbl where x >= 10').fetchall()\ncon.close()");
                try (PyObject r = py.getGlobal("res")) {
                    System.out.println("RESULT " + r);
                }
            }
        }
        System.out.println("CLOSED");
    }
}
