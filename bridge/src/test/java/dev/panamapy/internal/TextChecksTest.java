package dev.panamapy.internal;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The checks of {@link Text} that need no Python: which names and code are refused, and why. */
class TextChecksTest {

    @Test
    void nameWithNulIsRefusedNamingArgumentAndIndex() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Text.requireName("global name", "a\0b"));
        assertTrue(e.getMessage().startsWith("global name contains a NUL character (U+0000) at index 1 of 3"), e.getMessage());
    }

    @Test
    void nullNameIsRefusedNamingArgument() {
        NullPointerException e = assertThrows(NullPointerException.class, () -> Text.requireName("module name", null));
        assertEquals("module name", e.getMessage());
    }

    @Test
    void nameWithLoneSurrogateIsAcceptedAsAStrName() {
        assertSame("x\ud800", Text.requireName("attribute name", "x\ud800"));
    }

    @Test
    void cNameWithLoneSurrogateIsRefusedNamingIndex() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Text.requireCName("function name", "fn\udce9"));
        assertTrue(e.getMessage().startsWith("function name contains a lone surrogate U+DCE9 at index 2"), e.getMessage());
    }

    @Test
    void codeWithNulOrLoneSurrogateIsRefusedNamingIndex() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Text.requireCode("code", "1\0+1"))
                .getMessage().startsWith("code contains a NUL character (U+0000) at index 1 of 4"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Text.requireCode("code", "'ab\ud800'"))
                .getMessage().startsWith("code contains a lone surrogate U+D800 at index 3"));
    }

    @Test
    void codeWithAstralCharactersIsAccepted() {
        String code = "s = '\ud83d\ude00 \uffff'";
        assertSame(code, Text.requireCode("code", code));
    }

    @Test
    void firstLoneSurrogateFindsOnlyUnpairedHalves() {
        assertEquals(-1, Text.firstLoneSurrogate(""));
        assertEquals(-1, Text.firstLoneSurrogate("a\ud83d\ude00b\uffff\0"));
        assertEquals(0, Text.firstLoneSurrogate("\ude00\ud83d"));            // low before high: both lone
        assertEquals(1, Text.firstLoneSurrogate("a\ud83d"));                  // high at the end
        assertEquals(1, Text.firstLoneSurrogate("a\ud83d\ud83d\ude00"));     // high followed by high
        assertEquals(3, Text.firstLoneSurrogate("\ud83d\ude00\u0041\ude00"));
    }

    @Test
    void firstLoneSurrogateAgreesWithTheJdkEncoderOnRandomStrings() {
        long seed = 20240615L;
        Random r = new Random(seed);
        char[] pool = {'a', '\0', '\u00e9', '\uffff', '\ud800', '\udbff', '\udc00', '\udfff', '\ud83d', '\ude00'};
        for (int round = 0; round < 20_000; round++) {
            char[] cs = new char[r.nextInt(8)];
            for (int i = 0; i < cs.length; i++) cs[i] = pool[r.nextInt(pool.length)];
            String s = new String(cs);
            boolean wellFormed = java.nio.charset.StandardCharsets.UTF_8.newEncoder().canEncode(s);
            assertEquals(wellFormed, Text.firstLoneSurrogate(s) < 0, "seed " + seed + ", string " + escape(s));
        }
    }

    private static String escape(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) b.append(String.format("\\u%04x", (int) c));
        return b.toString();
    }
}
