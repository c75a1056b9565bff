package dev.panamapy.nativetests.exporter;

import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** BufferSpec's format parser accepts exactly what the struct module accepts, with the same item size. */
@PythonTest
class StructFormatAgreesWithPythonTest {

    static CPython py;

    @BeforeAll
    static void start(CPython python) {
        py = python;
        py.exec("import struct");
    }

    @ParameterizedTest
    @ValueSource(strings = {"d", "f", "e", "b", "B", "h", "H", "i", "I", "l", "L", "q", "Q", "n", "N", "P", "?", "c",
            "x", "s", "p", "4s", "0s", "10p", "3d", "2i", "<d", ">d", "!d", "=d", "@d", "<l", "=L", ">q", "!Q", "<e",
            "bd", "bi", "hq", "cid", "@bd", "=bd", "<bd", "3b5d", "xh", "xxi", " d", "i i", "5x", "2ed", "?q",
            "10000d", "ii2hq", "=?e"})
    void itemsizeEqualsStructCalcsize(String format) {
        long expected;
        try (PyObject r = py.eval("struct.calcsize(" + pyStr(format) + ")")) {
            expected = r.asLong();
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(Math.max(expected, 1) * 2);
            assertEquals(expected, BufferSpec.of(seg, format).itemsize(), "itemsize of '" + format + "'");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"z", "dz", "<n", ">N", "=P", "d<", "3", "", "T{d}", "Zd", "O", "w", "(2)d", "<>d"})
    void formatsStructRejectsAreRejected(String format) {
        try (PyObject r = py.eval("_bad(" + pyStr(format) + ")")) {
            assertTrue(r.asBoolean(), "struct rejects '" + format + "'");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(64);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BufferSpec.of(seg, format));
            assertTrue(e.getMessage().contains("format"), e.getMessage());
        }
    }

    @BeforeAll
    static void defineBad(CPython py) {
        py.exec("""
                def _bad(fmt):
                    if fmt == '':
                        return True          # struct allows '' (size 0); a buffer needs an item
                    try:
                        struct.calcsize(fmt)
                        return False
                    except struct.error:
                        return True
                """);
    }

    private static String pyStr(String s) {
        return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }
}
