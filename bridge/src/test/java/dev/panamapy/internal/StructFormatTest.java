package dev.panamapy.internal;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The struct format parser without a Python: item sizes are CPython 3.11's
 * {@code struct.calcsize} on x86-64 Linux for the same strings (native alignment, standard
 * sizes, repeat counts, padding, whitespace), and what struct rejects is rejected here, naming
 * the position.
 */
class StructFormatTest {

    @ParameterizedTest(name = "calcsize(\"{0}\") = {1}")
    @CsvSource(quoteCharacter = '\'', value = {
            "B, 1", "b, 1", "c, 1", "?, 1", "h, 2", "H, 2", "e, 2", "i, 4", "I, 4", "f, 4",
            "l, 8", "L, 8", "q, 8", "Q, 8", "d, 8", "n, 8", "N, 8", "P, 8", "x, 1",
            "3s, 3", "10p, 10", "s, 1", "0s, 0", "0i, 0", "si, 8",
            "ic, 5", "ci, 8", "bi, 8", "bq, 16", "hbd, 16", "bbbi, 8", "3xi, 8", "iii, 12", "3d, 24", "4x, 4",
            "<l, 4", "<L, 4", ">q, 8", "!h, 2", "=i, 4", "@l, 8", "<ic, 5", "<bq, 9",
            "'i 2h', 8", "' i', 4", "'i ', 4",
            "2147483647s, 2147483647", "2147483647q, 17179869176"})
    void itemSizesAreStructCalcsize(String format, long calcsize) {
        assertEquals(calcsize, StructFormat.parse(format).itemsize());
    }

    @ParameterizedTest(name = "\"{0}\" refused at index {1}")
    @CsvSource(quoteCharacter = '\'', value = {
            "z, 0", "i@, 1", "<N, 1", "<n, 1", "<P, 1", ">P, 1", "Zd, 0", "'T{i}', 0", "'i:x:', 1", "2, 0",
            "'i\u0000', 1", "99999999999i, 0", "'1\u0663d', 1"})
    void whatStructRejectsIsRefusedNamingThePosition(String format, int index) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> StructFormat.parse(format));
        assertTrue(e.getMessage().startsWith("bad struct format \"" + format + "\" at index " + index + ": "), e.getMessage());
    }

    @Test
    void emptyAndNullFormatsAreRefusedWithTheFix() {
        assertEquals("format is empty; use \"B\" for unsigned bytes",
                assertThrows(IllegalArgumentException.class, () -> StructFormat.parse("")).getMessage());
        assertEquals("format is null; use \"B\" for unsigned bytes",
                assertThrows(IllegalArgumentException.class, () -> StructFormat.parse(null)).getMessage());
    }

    @Test
    void byteOrderFollowsThePrefix() {
        assertEquals(ByteOrder.nativeOrder(), StructFormat.parse("d").byteOrder());
        assertEquals(ByteOrder.nativeOrder(), StructFormat.parse("=d").byteOrder());
        assertEquals(ByteOrder.LITTLE_ENDIAN, StructFormat.parse("<d").byteOrder());
        assertEquals(ByteOrder.BIG_ENDIAN, StructFormat.parse(">d").byteOrder());
        assertEquals(ByteOrder.BIG_ENDIAN, StructFormat.parse("!d").byteOrder());
        assertTrue(StructFormat.parse("@l").nativeSizes());
        assertEquals('<', StructFormat.parse("<l").byteOrderPrefix());
    }

    @Test
    void aSingleScalarIsRecognisedAndNothingElse() {
        assertEquals('d', StructFormat.parse("<d").singleCode());
        assertEquals('?', StructFormat.parse("?").singleCode());
        assertEquals(0, StructFormat.parse("2d").singleCode());
        assertEquals(0, StructFormat.parse("dd").singleCode());
        assertEquals(0, StructFormat.parse("3s").singleCode());
        assertEquals(0, StructFormat.parse("xB").singleCode());
    }
}
