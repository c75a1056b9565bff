/**
 * Arrow Java vectors and Python's Arrow libraries share memory through the
 * <a href="https://arrow.apache.org/docs/format/CDataInterface.html">Arrow C Data Interface</a>
 * and the <a href="https://arrow.apache.org/docs/format/CDataInterface/PyCapsuleInterface.html">Arrow
 * PyCapsule interface</a>, with the C structs in FFM (no JNI, no native library).
 *
 * <pre>{@code
 * try (VectorSchemaRoot root = ...;                                  // Java-owned vectors
 *      PyObject batch = ArrowExport.batch(py, root)) {               // zero copy
 *     py.setGlobal("batch", batch);
 *     py.exec("import pyarrow as pa\n"
 *           + "df = pa.table(batch).to_pandas()\n"                    // pandas over Java memory
 *           + "result = pa.RecordBatch.from_pandas(df.describe())");
 *     try (PyObject result = py.getGlobal("result");
 *          VectorSchemaRoot back = ArrowImport.batch(py, result, allocator)) {   // zero copy back
 *         ...
 *     }
 * }
 * }</pre>
 *
 * <p><b>JVM flags.</b> Arrow Java on JDK 25 needs {@code --add-opens=java.base/java.nio=ALL-UNNAMED}
 * (or {@code =org.apache.arrow.memory.core} on the module path) and
 * {@code --sun-misc-unsafe-memory-access=allow}, besides the bridge's
 * {@code --enable-native-access}.
 *
 * <p><b>Types.</b> null, bool, signed and unsigned integers, float16/32/64, utf8 and large_utf8,
 * binary and large_binary, fixed-size binary, decimal128/256, date32/64, time32/64, timestamp
 * (with time zone), duration, interval, list and large_list, fixed-size list, struct, map and
 * dictionary-encoded columns, nested freely; sliced arrays (offset != 0) on import. Unions,
 * view types, run-end encoded and list views are refused with an exception naming the type.
 */
package dev.panamapy.arrow;
