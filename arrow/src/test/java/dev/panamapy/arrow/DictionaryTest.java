package dev.panamapy.arrow;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.testing.PythonTest;
import dev.panamapy.testing.RequiresPythonPackage;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.dictionary.Dictionary;
import org.apache.arrow.vector.dictionary.DictionaryEncoder;
import org.apache.arrow.vector.dictionary.DictionaryProvider;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.DictionaryEncoding;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Dictionary-encoded columns both ways, with the dictionaries zero copy too. */
@PythonTest
@RequiresPythonPackage("pyarrow")
class DictionaryTest extends AllocatorTest {


    @Test
    void pyarrowDictionaryArrayToJavaAndBack(CPython py) {
        py.exec("import pyarrow as pa\norig = pa.array(['x', 'y', None, 'x', 'z']).dictionary_encode()");
        DictionaryProvider.MapDictionaryProvider dictionaries = new DictionaryProvider.MapDictionaryProvider();
        try (PyObject orig = py.getGlobal("orig"); FieldVector indices = ArrowImport.array(py, orig, allocator, dictionaries)) {
            DictionaryEncoding enc = indices.getField().getDictionary();
            Dictionary d = dictionaries.lookup(enc.getId());
            try (FieldVector decoded = (FieldVector) DictionaryEncoder.decode(indices, d)) {
                assertEquals("[x, y, null, x, z]", decoded.toString());
            }
            try (PyObject back = ArrowExport.array(py, indices, dictionaries)) {
                py.setGlobal("back", back);
                try (PyObject same = py.eval("(lambda a: a.equals(orig) and a.dictionary.buffers()[2].address == "
                        + "orig.dictionary.buffers()[2].address)(pa.array(back))")) {
                    assertTrue(same.asBoolean());
                }
            }
        } finally {
            for (long id : dictionaries.getDictionaryIds()) dictionaries.lookup(id).getVector().close();
            py.exec("orig = back = None");
        }
    }

    @Test
    void javaDictionaryEncodedColumnToPyarrow(CPython py) {
        try (VarCharVector dictVector = new VarCharVector("dict", allocator); IntVector indices = new IntVector("color",
                new org.apache.arrow.vector.types.pojo.FieldType(true, new ArrowType.Int(32, true),
                        new DictionaryEncoding(7L, false, new ArrowType.Int(32, true))), allocator)) {
            dictVector.allocateNew();
            int i = 0;
            for (String s : List.of("red", "green", "blue")) dictVector.setSafe(i++, s.getBytes(StandardCharsets.UTF_8));
            dictVector.setValueCount(3);
            indices.allocateNew(4);
            indices.set(0, 2);
            indices.set(1, 0);
            indices.setNull(2);
            indices.set(3, 2);
            indices.setValueCount(4);
            DictionaryProvider.MapDictionaryProvider provider = new DictionaryProvider.MapDictionaryProvider(
                    new Dictionary(dictVector, indices.getField().getDictionary()));
            try (VectorSchemaRoot root = new VectorSchemaRoot(List.of(indices.getField()), List.of(indices), 4);
                 PyObject obj = ArrowExport.batch(py, root, provider)) {
                py.setGlobal("obj", obj);
                try (PyObject r = py.eval("__import__('pyarrow').record_batch(obj).column(0).to_pylist()")) {
                    assertEquals("['blue', 'red', None, 'blue']", r.toString());
                }
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ArrowExport.batch(py, root));
                assertTrue(e.getMessage().contains("no DictionaryProvider was given"), e.getMessage());
            } finally {
                py.exec("obj = None");
            }
        }
    }

    @Test
    void importingDictionariesWithoutAProviderIsRefusedBeforeAnythingIsTaken(CPython py) {
        py.exec("import pyarrow as pa\nb = pa.record_batch({'c': pa.array(['a', 'b']).dictionary_encode()})");
        try (PyObject b = py.getGlobal("b")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ArrowImport.batch(py, b, allocator));
            assertTrue(e.getMessage().contains("DictionaryProvider.MapDictionaryProvider"), e.getMessage());
        } finally {
            py.exec("b = None");
        }
    }
}
