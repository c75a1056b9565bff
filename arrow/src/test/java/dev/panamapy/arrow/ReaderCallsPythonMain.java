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
    private static String behaviour = "withoutGil";

    /** Three batches of four rows; before each, a wait without the GIL and a call into Python. */
    private static ArrowReader reader(BufferAllocator a) {
        List<org.apache.arrow.vector.VectorSchemaRoot> batches = new ArrayList<>();
        for (int i = 0; i < 3; i++) batches.add(Samples.root(a, 4));
        return new ListReader(a, batches) {
            @Override
            public boolean loadNextBatch() throws IOException {
                try {
                    switch (behaviour) {
                        case "otherThread" -> {                  // waits, without the GIL, for another thread's Python
                            long v = py.withoutGil(() -> {
                                java.util.concurrent.CompletableFuture<Long> f = new java.util.concurrent.CompletableFuture<>();
                                Thread.ofPlatform().start(() -> {
                                    try (PyObject o = py.eval("3 * 14")) {
                                        f.complete(o.asLong());
                                    } catch (Throwable t) {
                                        f.completeExceptionally(t);
                                    }
                                });
                                return f.get(30, java.util.concurrent.TimeUnit.SECONDS);
                            });
                            if (v == 42) answers++;
                        }
                        case "leakGil" -> py.gil();             // never closed: the bridge closes it, the read fails
                        default -> {
                            py.withoutGil(() -> Thread.sleep(2));
                            try (PyObject v = py.eval("6 * 7")) {  // dropped without the GIL: deferred, not a race
                                if (v.asLong() == 42) answers++;
                            }
                        }
                    }
                } catch (IOException e) {
                    throw e;
                } catch (Exception e) {
                    throw new IOException(e);
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
            case "ctypes" -> {
                // a consumer made of ctypes calls: get_next called without the GIL (CFUNCTYPE) or
                // with it (PYFUNCTYPE), on this thread or on a thread Python made, perhaps after a
                // subinterpreter was made (from then on PyGILState_Check answers 1 everywhere)
                boolean held = Boolean.parseBoolean(args[1]), pythonThread = Boolean.parseBoolean(args[2]);
                if (Boolean.parseBoolean(args[3])) {
                    py.exec("""
                            try:
                                import _xxsubinterpreters as si
                            except ImportError:
                                import _interpreters as si
                            si.destroy(si.create())
                            """);
                }
                behaviour = args[4];
                try (PyObject src = ArrowExport.stream(py, reader(a))) {
                    py.setGlobal("src", src);
                    py.exec("""
                            import ctypes, threading
                            class Stream(ctypes.Structure):
                                _fields_ = [('get_schema', ctypes.c_void_p), ('get_next', ctypes.c_void_p),
                                            ('get_last_error', ctypes.c_void_p), ('release', ctypes.c_void_p),
                                            ('private', ctypes.c_void_p)]
                            cap = src.__arrow_c_stream__()
                            get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
                            get_pointer.restype = ctypes.c_void_p
                            get_pointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
                            sp = get_pointer(cap, b'arrow_array_stream')
                            st = Stream.from_address(sp)
                            kind = ctypes.PYFUNCTYPE if HELD else ctypes.CFUNCTYPE
                            get_next = kind(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)(st.get_next)
                            out = ctypes.create_string_buffer(80)
                            rcs = []
                            def read():
                                for i in range(3):
                                    rcs.append(get_next(sp, out))
                                    release = ctypes.c_void_p.from_buffer(out, 64).value
                                    if release:
                                        ctypes.CFUNCTYPE(None, ctypes.c_void_p)(release)(ctypes.addressof(out))
                            if PYTHREAD:
                                t = threading.Thread(target=read)
                                t.start()
                                t.join()
                            else:
                                read()
                            del cap, st, src
                            """.replace("HELD", held ? "True" : "False").replace("PYTHREAD", pythonThread ? "True" : "False"));
                    try (PyObject rcs = py.getGlobal("rcs")) {
                        System.out.println("RCS " + rcs);
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
