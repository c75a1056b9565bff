package dev.panamapy.arrow.internal;

import dev.panamapy.PyObject;
import dev.panamapy.internal.Capsules;
import dev.panamapy.internal.Interpreter;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.dictionary.DictionaryProvider;
import org.apache.arrow.vector.ipc.ArrowReader;

import java.lang.foreign.MemorySegment;

import static dev.panamapy.arrow.internal.CData.*;
import static dev.panamapy.bindings.Python_h.*;

/** The Python half of imports: calls the producer's dunder methods and reads its capsules. All under the GIL. */
public final class ImportCalls {
    private ImportCalls() { }

    /** {@code obj.__arrow_c_array__()} as a batch (struct) or one array; requires the GIL. */
    public static Object array(PyObject obj, BufferAllocator allocator, DictionaryProvider.MapDictionaryProvider dictionaries,
                               boolean batch) {
        requireMethod(obj, "__arrow_c_array__");
        try (PyObject pair = obj.callMethod("__arrow_c_array__")) {
            long t = Glue.address(pair);
            if (PyTuple_Size(MemorySegment.ofAddress(t)) != 2) {
                PyErr_Clear();
                throw new IllegalArgumentException("__arrow_c_array__() must return a (schema, array) tuple of capsules, got "
                        + pair);
            }
            long s = Capsules.pointer(PyTuple_GetItem(MemorySegment.ofAddress(t), 0).address(), "arrow_schema");
            long a = Capsules.pointer(PyTuple_GetItem(MemorySegment.ofAddress(t), 1).address(), "arrow_array");
            long[] ids = {firstFreeId(dictionaries)};
            Imports.Node sn = Imports.parse(s, ids);
            if (dictionaries == null && hasDictionary(sn)) {
                throw new IllegalArgumentException("the data has dictionary-encoded columns: import it with the ArrowImport "
                        + "overload that takes a DictionaryProvider.MapDictionaryProvider (nothing was imported)");
            }
            Imports.validate(a, sn);
            Imported imp = Imported.move(a, ARRAY.byteSize(), A_RELEASE);
            try {
                Imports.Target target = new Imports.Target(allocator, imp, dictionaries);
                if (batch) {
                    VectorSchemaRoot r = Imports.loadBatch(imp.address(), sn, target);
                    return r;
                }
                FieldVector v = Imports.loadArray(imp.address(), sn, target);
                return v;
            } finally {
                imp.unref();            // the buffers hold their own references now
            }
        }
    }

    /** {@code obj.__arrow_c_stream__()} as a reader; requires the GIL. */
    public static ArrowReader stream(Interpreter in, PyObject obj, BufferAllocator allocator) {
        requireMethod(obj, "__arrow_c_stream__");
        try (PyObject cap = obj.callMethod("__arrow_c_stream__")) {
            long p = Capsules.pointer(Glue.address(cap), "arrow_array_stream");
            if (getLong(p + ST_RELEASE) == 0) throw new IllegalArgumentException("the ArrowArrayStream was released already");
            if (getLong(p + ST_GET_SCHEMA) == 0 || getLong(p + ST_GET_NEXT) == 0 || getLong(p + ST_GET_LAST_ERROR) == 0) {
                throw new IllegalArgumentException("the ArrowArrayStream has a NULL callback");
            }
            return new StreamImport(in, allocator, Imported.move(p, STREAM.byteSize(), ST_RELEASE));
        }
    }

    private static void requireMethod(PyObject obj, String name) {
        if (!obj.hasAttr(name)) {
            throw new IllegalArgumentException("this Python object has no " + name + " (not an Arrow PyCapsule producer): " + obj);
        }
    }

    private static long firstFreeId(DictionaryProvider dictionaries) {
        long max = -1;
        if (dictionaries != null) for (long id : dictionaries.getDictionaryIds()) max = Math.max(max, id);
        return max + 1;
    }

    private static boolean hasDictionary(Imports.Node n) {
        if (n.dictionary() != null) return true;
        for (Imports.Node k : n.children()) if (hasDictionary(k)) return true;
        return false;
    }
}
