package dev.panamapy.arrow;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.testing.PythonTest;
import dev.panamapy.testing.RequiresPythonPackage;
import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.NullVector;
import org.apache.arrow.vector.compare.VectorEqualsVisitor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One round trip per Arrow type, both directions, comparing values and buffer addresses:
 * pyarrow -> Java -> pyarrow (Java vectors over pyarrow's memory, handed back: the same
 * addresses), and Java -> pyarrow -> Java (a Java-owned copy exported, pyarrow reads it in place,
 * imported back: the same addresses again). Sliced pyarrow arrays (offset != 0) too.
 */
@PythonTest
@RequiresPythonPackage("pyarrow")
class TypeRoundTripTest {

    static Stream<String[]> types() {
        return Stream.of(
                new String[]{"null", "pa.array([None, None, None], pa.null())"},
                new String[]{"bool", "pa.array([True, None, False, True, True, False, None, True, False, True], pa.bool_())"},
                new String[]{"int8", "pa.array([1, None, -3, 127, -128], pa.int8())"},
                new String[]{"uint8", "pa.array([1, None, 3, 255], pa.uint8())"},
                new String[]{"int16", "pa.array([1, None, -3, 32767], pa.int16())"},
                new String[]{"uint16", "pa.array([1, None, 65535], pa.uint16())"},
                new String[]{"int32", "pa.array([1, None, -3, 2**31 - 1], pa.int32())"},
                new String[]{"uint32", "pa.array([1, None, 2**32 - 1], pa.uint32())"},
                new String[]{"int64", "pa.array([1, None, -3, 2**63 - 1], pa.int64())"},
                new String[]{"uint64", "pa.array([1, None, 2**64 - 1], pa.uint64())"},
                new String[]{"float16", "pa.array(__import__('numpy').array([1.5, -2.0, 0.25], dtype='float16'), pa.float16())"},
                new String[]{"float32", "pa.array([1.5, None, -2.25], pa.float32())"},
                new String[]{"float64", "pa.array([1.5, None, float('inf')], pa.float64())"},
                new String[]{"utf8", "pa.array(['a', None, 'héllo', '', 'z' * 40], pa.string())"},
                new String[]{"large_utf8", "pa.array(['a', None, 'héllo', ''], pa.large_string())"},
                new String[]{"binary", "pa.array([b'a', None, b'\\x00\\xff', b''], pa.binary())"},
                new String[]{"large_binary", "pa.array([b'a', None, b'\\x00\\xff'], pa.large_binary())"},
                new String[]{"fixed_size_binary", "pa.array([b'abc', None, b'xyz'], pa.binary(3))"},
                new String[]{"date32", "pa.array([0, None, 19000], pa.date32())"},
                new String[]{"date64", "pa.array([0, None, 1641600000000], pa.date64())"},
                new String[]{"time32s", "pa.array([0, None, 86399], pa.time32('s'))"},
                new String[]{"time32ms", "pa.array([0, None, 86399999], pa.time32('ms'))"},
                new String[]{"time64us", "pa.array([0, None, 86399999999], pa.time64('us'))"},
                new String[]{"time64ns", "pa.array([0, None, 86399999999999], pa.time64('ns'))"},
                new String[]{"timestamp_tz", "pa.array([0, None, 1700000000000000], pa.timestamp('us', tz='Europe/Paris'))"},
                new String[]{"timestamp_ns", "pa.array([0, None, 1700000000000000000], pa.timestamp('ns'))"},
                new String[]{"timestamp_s_utc", "pa.array([0, None, 1700000000], pa.timestamp('s', tz='UTC'))"},
                new String[]{"duration_s", "pa.array([0, None, -5], pa.duration('s'))"},
                new String[]{"duration_ms", "pa.array([0, None, 5], pa.duration('ms'))"},
                new String[]{"duration_us", "pa.array([0, None, 5], pa.duration('us'))"},
                new String[]{"duration_ns", "pa.array([0, None, 5], pa.duration('ns'))"},
                new String[]{"decimal128", "pa.array([__import__('decimal').Decimal('1.25'), None, __import__('decimal').Decimal('-99999999.99')], pa.decimal128(10, 2))"},
                new String[]{"decimal256", "pa.array([__import__('decimal').Decimal('1.25'), None, __import__('decimal').Decimal('-1' + '0' * 30)], pa.decimal256(40, 2))"},
                new String[]{"month_day_nano_interval", "pa.array([(1, 2, 3), None, (-1, 0, 5)], pa.month_day_nano_interval())"},
                new String[]{"list_of_struct", "pa.array([[{'a': 1}], None, [{'a': None}, None]], pa.list_(pa.struct([('a', pa.int8())])))"},
                new String[]{"struct_of_list", "pa.array([{'l': [1, 2]}, {'l': None}, None], pa.struct([('l', pa.list_(pa.float64()))]))"},
                new String[]{"list", "pa.array([[1, 2], None, [], [3, None, 5]], pa.list_(pa.int32()))"},
                new String[]{"large_list", "pa.array([['a'], None, [], ['b', None]], pa.large_list(pa.string()))"},
                new String[]{"fixed_size_list", "pa.array([[1, 2], None, [3, None]], pa.list_(pa.int64(), 2))"},
                new String[]{"struct", "pa.array([{'x': 1, 'y': 'a'}, None, {'x': None, 'y': 'c'}], pa.struct([('x', pa.int32()), ('y', pa.string())]))"},
                new String[]{"map", "pa.array([[('a', 1), ('b', None)], None, []], pa.map_(pa.string(), pa.int32()))"},
                new String[]{"sliced_int32", "pa.array(list(range(20)) + [None], pa.int32()).slice(3, 15)"},
                new String[]{"sliced_utf8", "pa.array([str(i) if i % 4 else None for i in range(30)], pa.string()).slice(5, 17)"},
                new String[]{"sliced_bool", "pa.array([i % 3 == 0 if i % 5 else None for i in range(40)], pa.bool_()).slice(3, 30)"},
                new String[]{"sliced_list", "pa.array([[i, i + 1] if i % 3 else None for i in range(12)], pa.list_(pa.int32())).slice(2, 7)"},
                new String[]{"sliced_struct", "pa.array([{'x': i, 'y': str(i)} if i % 3 else None for i in range(12)], pa.struct([('x', pa.int32()), ('y', pa.string())])).slice(5, 6)"},
                new String[]{"sliced_fixed_size_list", "pa.array([[i, i] for i in range(10)], pa.list_(pa.int16(), 2)).slice(3, 4)"},
                new String[]{"empty_utf8", "pa.array([], pa.string())"},
                new String[]{"empty_list", "pa.array([], pa.list_(pa.int32()))"},
                new String[]{"empty_struct", "pa.array([], pa.struct([('x', pa.int32())]))"});
    }

    private static BufferAllocator allocator;

    @BeforeAll
    static void allocator() { allocator = new RootAllocator(); }

    @AfterAll
    static void noLeak() {
        assertEquals(0, allocator.getAllocatedMemory());
        allocator.close();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("types")
    void pyarrowToJavaToPyarrowKeepsValuesAndAddresses(String name, String expr, CPython py) {
        py.exec("import pyarrow as pa\norig = " + expr);
        try (PyObject orig = py.getGlobal("orig");
             FieldVector v = ArrowImport.array(py, orig, allocator);
             PyObject back = ArrowExport.array(py, v)) {
            py.setGlobal("back", back);
            py.exec("""
                    arr = pa.array(back)
                    assert arr.type == orig.type, (arr.type, orig.type)
                    assert arr.to_pylist() == orig.to_pylist(), (arr.to_pylist(), orig.to_pylist())
                    assert arr.equals(orig)
                    def data_addresses(a):
                        # the buffers holding values (not validity, which Java materializes when absent)
                        out = []
                        for i, b in enumerate(a.buffers()):
                            if b is not None and i % 3 != 0 and a.offset == 0 and len(a) > 0:
                                out.append(b.address)
                        return out
                    same = [x in data_addresses(orig) for x in data_addresses(arr)] if orig.offset == 0 else [True]
                    """);
            try (PyObject same = py.eval("all(same) and (len(same) > 0 or len(orig) == 0 or orig.type == pa.null() or "
                    + "orig.offset != 0 or pa.types.is_struct(orig.type) or pa.types.is_fixed_size_list(orig.type))")) {
                assertTrue(same.asBoolean(), "buffer addresses differ for " + name);
            }
        } finally {
            py.exec("orig = back = arr = None");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("types")
    void javaToPyarrowToJavaKeepsValuesAndAddresses(String name, String expr, CPython py) {
        py.exec("import pyarrow as pa\norig = " + expr);
        try (PyObject orig = py.getGlobal("orig");
             FieldVector imported = ArrowImport.array(py, orig, allocator);
             FieldVector javaOwned = copy(imported)) {
            List<Long> javaAddresses = addresses(javaOwned);
            try (PyObject obj = ArrowExport.array(py, javaOwned)) {
                py.setGlobal("obj", obj);
                py.exec("arr = pa.array(obj)\nassert arr.equals(orig), (arr, orig)\naddrs = [b.address for b in arr.buffers() if b is not None]");
                try (PyObject arr = py.getGlobal("arr");
                     FieldVector back = ArrowImport.array(py, arr, allocator);
                     PyObject pyAddrs = py.getGlobal("addrs")) {
                    assertTrue(VectorEqualsVisitor.vectorEquals(javaOwned, back), "values differ for " + name);
                    for (long a : javaAddresses) {
                        try (PyObject has = pyAddrs.callMethod("__contains__", a)) {
                            assertTrue(has.asBoolean(), "pyarrow does not read Java's buffer at " + a + " for " + name);
                        }
                    }
                    List<Long> backAddresses = addresses(back);
                    // an empty array's one zero offset is made by the importer (nothing to share)
                    for (int i = 0; i < javaAddresses.size() && javaOwned.getValueCount() > 0; i++) {
                        if (i % 3 != 0) assertTrue(backAddresses.contains(javaAddresses.get(i)), "Java -> pyarrow -> Java copied " + name);
                    }
                }
            }
        } finally {
            py.exec("orig = obj = arr = None");
        }
    }

    /** A Java-owned copy (its buffers allocated by Java). */
    private static FieldVector copy(FieldVector from) {
        FieldVector to = from.getField().createVector(allocator);
        if (to instanceof NullVector n) {
            n.setValueCount(from.getValueCount());
            return n;
        }
        to.setInitialCapacity(Math.max(1, from.getValueCount()));
        to.allocateNew();
        for (int i = 0; i < from.getValueCount(); i++) to.copyFromSafe(i, i, from);
        to.setValueCount(from.getValueCount());
        return to;
    }

    /** Addresses of the non-empty top-level buffers. */
    private static List<Long> addresses(FieldVector v) {
        List<Long> out = new ArrayList<>();
        for (ArrowBuf b : v.getFieldBuffers()) if (b.capacity() > 0) out.add(b.memoryAddress());
        return out;
    }
}
