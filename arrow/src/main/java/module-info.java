/**
 * panamapy arrow: Arrow Java vectors and Python's Arrow objects (pyarrow, pandas, polars, duckdb,
 * nanoarrow) share memory through the Arrow C Data Interface and the Arrow PyCapsule interface,
 * with the C structs in FFM: no JNI, no native library. Only {@code dev.panamapy.arrow} is exported.
 */
module dev.panamapy.arrow {
    requires transitive dev.panamapy.bridge;
    requires dev.panamapy.bindings;
    requires transitive org.apache.arrow.vector;
    requires transitive org.apache.arrow.memory.core;
    requires org.slf4j;
    exports dev.panamapy.arrow;
}
