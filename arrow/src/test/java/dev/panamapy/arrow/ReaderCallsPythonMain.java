package dev.panamapy.arrow;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.ipc.ArrowReader;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The child JVM of {@link ReaderCallsPythonTest}: an exported stream whose Java reader lets the
 * GIL go ({@code withoutGil}) and calls Python while a consumer reads it without the GIL, under a
 * call of this thread's ({@code py.exec}). Modes: {@code pyarrow} (pyarrow's {@code read_all},
 * which lets the GIL go), {@code pythonThread} (the same on a thread Python made: its thread state
 * is Python's, not one the bridge keeps) and {@code roundtrip} (our own import of our own export). Prints
 * {@code ROWS n}, {@code PYTHON ANSWERS k}, {@code END}; before the fix both aborted CPython
 * ("PyEval_SaveThread: the function must be called with the GIL held").
 */
public final class ReaderCallsPythonMain {
    private ReaderCallsPythonMain() { }

    private static CPython py;
    private static int answers;

    /** Three batches of four rows; before each, a wait without the GIL and a call into Python. */
    private static ArrowReader reader(BufferAllocator a) {
        List<org.apache.arrow.vector.VectorSchemaRoot> batches = new ArrayList<>();
        for (int i = 0; i < 3; i++) batches.add(Samples.root(a, 4));
        return new ListReader(a, batches) {
            @Override
            public boolean loadNextBatch() throws IOException {
                try {
                    py.withoutGil(() -> Thread.sleep(2));
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
                try (PyObject v = py.eval("6 * 7")) {          // dropped without the GIL: deferred, not a race
                    if (v.asLong() == 42) answers++;
                }
                return super.loadNextBatch();
            }
        };
    }

    public static void main(String[] args) throws Exception {
        BufferAllocator a = new RootAllocator();
        py = CPython.start();
        long rows = 0;
        switch (args[0]) {
            case "pyarrow" -> {
                try (PyObject src = ArrowExport.stream(py, reader(a))) {
                    py.setGlobal("src", src);
                    py.exec("import pyarrow as pa\nrows = pa.RecordBatchReader.from_stream(src).read_all().num_rows\ndel src");
                    try (PyObject n = py.getGlobal("rows")) {
                        rows = n.asLong();
                    }
                }
            }
            case "pythonThread" -> {                            // a thread Python made reaches the reader
                try (PyObject src = ArrowExport.stream(py, reader(a))) {
                    py.setGlobal("src", src);
                    py.defineFunction("java_echo", x -> x[0]);
                    py.exec("""
                            import pyarrow as pa, threading
                            out = []
                            def read():
                                out.append(pa.RecordBatchReader.from_stream(src).read_all().num_rows)
                                out.append(java_echo(7))               # a Java function after the reads
                            t = threading.Thread(target=read)
                            t.start()
                            t.join()
                            rows = out[0] if out[1] == 7 else -1
                            del src
                            """);
                    try (PyObject n = py.getGlobal("rows")) {
                        rows = n.asLong();
                    }
                }
            }
            case "roundtrip" -> {
                try (PyObject src = ArrowExport.stream(py, reader(a)); ArrowReader in = ArrowImport.stream(py, src, a)) {
                    while (in.loadNextBatch()) rows += in.getVectorSchemaRoot().getRowCount();
                }
            }
            default -> throw new IllegalArgumentException(args[0]);
        }
        System.out.println("ROWS " + rows);
        System.out.println("PYTHON ANSWERS " + answers);
        py.close();
        System.out.println("END");
    }
}
