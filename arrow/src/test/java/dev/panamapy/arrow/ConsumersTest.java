package dev.panamapy.arrow;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.testing.PythonTest;
import dev.panamapy.testing.RequiresPythonPackage;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Real consumers and producers: pyarrow tables and readers, pandas, polars, duckdb. */
@PythonTest
@RequiresPythonPackage("pyarrow")
class ConsumersTest extends AllocatorTest {


    @Test
    void pyarrowTableOfAJavaBatch(CPython py) {
        try (VectorSchemaRoot root = Samples.root(allocator, 100); PyObject obj = ArrowExport.batch(py, root)) {
            py.setGlobal("obj", obj);
            try (PyObject r = py.eval("__import__('pyarrow').table(obj).column('x').to_pylist()[99]")) {
                assertEquals(49.5, r.asDouble());
            }
        } finally {
            py.exec("obj = None");
        }
    }

    @Test
    void pyarrowComputeOverJavaMemory(CPython py) {
        try (VectorSchemaRoot root = Samples.root(allocator, 1000); PyObject obj = ArrowExport.batch(py, root)) {
            py.setGlobal("obj", obj);
            py.exec("import pyarrow as pa, pyarrow.compute as pc\ntotal = pc.sum(pa.record_batch(obj).column('x')).as_py()");
            try (PyObject r = py.getGlobal("total")) {
                assertEquals(999 * 1000 / 4.0, r.asDouble());
            }
        } finally {
            py.exec("obj = None");
        }
    }

    @Test
    @RequiresPythonPackage("pandas")
    void javaRootToPandasAndTheResultBackToJava(CPython py) {
        try (VectorSchemaRoot root = Samples.root(allocator, 10); PyObject obj = ArrowExport.batch(py, root)) {
            py.setGlobal("obj", obj);
            py.exec("""
                    import pyarrow as pa, pandas as pd
                    df = pa.table(obj).to_pandas()
                    df['y'] = df['x'] * 2
                    result = pa.RecordBatch.from_pandas(df[['id', 'y']], preserve_index=False)
                    """);
            try (PyObject result = py.getGlobal("result"); VectorSchemaRoot back = ArrowImport.batch(py, result, allocator)) {
                assertEquals(10, back.getRowCount());
                assertEquals(9.0, ((Float8Vector) back.getVector("y")).get(9));
                assertTrue(back.getVector("id").isNull(3));
            }
        } finally {
            py.exec("obj = df = result = None");
        }
    }

    @Test
    @RequiresPythonPackage("pandas")
    void pandasArrowDtypeColumnsReadJavaMemory(CPython py) {
        try (VectorSchemaRoot root = Samples.root(allocator, 10); PyObject obj = ArrowExport.batch(py, root)) {
            py.setGlobal("obj", obj);
            try (PyObject r = py.eval("(lambda df: (str(df['id'].dtype), int(df['id'].sum())))"
                    + "(__import__('pyarrow').table(obj).to_pandas(types_mapper=__import__('pandas').ArrowDtype))")) {
                assertEquals("('int64[pyarrow]', 340)", r.toString());
            }
        } finally {
            py.exec("obj = None");
        }
    }

    @Test
    @RequiresPythonPackage("polars")
    void polarsReadsAJavaBatchAndJavaReadsPolars(CPython py) throws Exception {
        try (VectorSchemaRoot root = Samples.root(allocator, 10); PyObject obj = ArrowExport.batch(py, root)) {
            py.setGlobal("obj", obj);
            py.exec("import polars as pl\npdf = pl.DataFrame(obj)\ntotal = int(pdf['id'].sum())\nout = pdf.select((pl.col('x') + 1).alias('z'))");
            try (PyObject total = py.getGlobal("total"); PyObject out = py.getGlobal("out");
                 ArrowReader reader = ArrowImport.stream(py, out, allocator)) {
                assertEquals(340, total.asLong());       // 0, 10, ..., 90 without the nulls at 3 and 8
                double sum = 0;
                while (reader.loadNextBatch()) {
                    Float8Vector z = (Float8Vector) reader.getVectorSchemaRoot().getVector("z");
                    for (int i = 0; i < z.getValueCount(); i++) sum += z.get(i);
                }
                assertEquals(32.5, sum);
            }
        } finally {
            py.exec("obj = pdf = out = None");
        }
    }

    @Test
    void javaReaderToPyarrowRecordBatchReader(CPython py) throws Exception {
        List<VectorSchemaRoot> batches = new ArrayList<>();
        for (int b = 0; b < 3; b++) batches.add(Samples.root(allocator, 10 + b));
        ArrowReader reader = new ListReader(allocator, batches);
        try (PyObject obj = ArrowExport.stream(py, reader)) {
            py.setGlobal("obj", obj);
            py.exec("import pyarrow as pa\nr = pa.RecordBatchReader.from_stream(obj)\nsizes = [b.num_rows for b in r]\nr = None");
            try (PyObject sizes = py.getGlobal("sizes")) {
                assertEquals("[10, 11, 12]", sizes.toString());
            }
            PyObjectAssert.raises(py, "obj.__arrow_c_stream__()", "consumed already");
        } finally {
            py.exec("obj = None");
        }
    }

    @Test
    void pyarrowReaderToJavaReader(CPython py) throws Exception {
        py.exec("""
                import pyarrow as pa
                t = pa.table({'a': list(range(10)), 's': [str(i) for i in range(10)]})
                src = pa.RecordBatchReader.from_batches(t.schema, t.to_batches(max_chunksize=4))
                """);
        try (PyObject src = py.getGlobal("src"); ArrowReader reader = ArrowImport.stream(py, src, allocator)) {
            List<Integer> sizes = new ArrayList<>();
            long sum = 0;
            while (reader.loadNextBatch()) {
                VectorSchemaRoot r = reader.getVectorSchemaRoot();
                sizes.add(r.getRowCount());
                BigIntVector a = (BigIntVector) r.getVector("a");
                for (int i = 0; i < r.getRowCount(); i++) sum += a.get(i);
            }
            assertEquals(List.of(4, 4, 2), sizes);
            assertEquals(45, sum);
            assertFalse(reader.loadNextBatch());
        } finally {
            py.exec("t = src = None");
        }
    }

    @Test
    void anObjectWithoutTheProtocolIsRefusedNamingIt(CPython py) {
        try (PyObject o = py.eval("object()")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ArrowImport.array(py, o, allocator));
            assertTrue(e.getMessage().contains("no __arrow_c_array__"), e.getMessage());
        }
    }
}
