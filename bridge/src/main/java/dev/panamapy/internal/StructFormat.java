package dev.panamapy.internal;

import java.nio.ByteOrder;

/**
 * A parsed struct-module format string, as PEP 3118 buffers use it: an optional byte-order
 * prefix ({@code @ = < > !}) then items, each an optional repeat count and a single-character
 * code. The item size follows {@code struct.calcsize}: native mode ({@code @}) aligns each item
 * to its own size and uses native sizes; the other prefixes use standard sizes and no alignment.
 *
 * <p>Only what {@code struct} accepts is accepted here; a bad format is rejected with the
 * offending character and its position.
 */
public final class StructFormat {

    private final String text;
    private final char byteOrder;      // '@' when absent
    private final long itemsize;
    private final char singleCode;     // the code when the format is exactly one item of count 1, else 0

    private StructFormat(String text, char byteOrder, long itemsize, char singleCode) {
        this.text = text;
        this.byteOrder = byteOrder;
        this.itemsize = itemsize;
        this.singleCode = singleCode;
    }

    /** The format as given. */
    public String text() { return text; }

    /** {@code struct.calcsize(format)}. */
    public long itemsize() { return itemsize; }

    /** The byte-order prefix, {@code '@'} when none was given. */
    public char byteOrderPrefix() { return byteOrder; }

    /** The byte order items are stored in. */
    public ByteOrder byteOrder() {
        return switch (byteOrder) {
            case '<' -> ByteOrder.LITTLE_ENDIAN;
            case '>', '!' -> ByteOrder.BIG_ENDIAN;
            default -> ByteOrder.nativeOrder();
        };
    }

    /** Whether sizes are native ({@code @} or no prefix) rather than standard. */
    public boolean nativeSizes() { return byteOrder == '@'; }

    /** The item code when the format describes exactly one scalar item ({@code "<d"}), else 0. */
    public char singleCode() { return singleCode; }

    /**
     * Parses a struct-module format.
     *
     * @throws IllegalArgumentException naming the offending character and position
     */
    public static StructFormat parse(String format) {
        if (format == null) throw new IllegalArgumentException("format is null; use \"B\" for unsigned bytes");
        if (format.isEmpty()) throw new IllegalArgumentException("format is empty; use \"B\" for unsigned bytes");
        int i = 0;
        char order = '@';
        char first = format.charAt(0);
        if (first == '@' || first == '=' || first == '<' || first == '>' || first == '!') {
            order = first;
            i = 1;
        }
        boolean nativeMode = order == '@';
        long size = 0;
        int items = 0;
        char lastCode = 0;
        long lastCount = 0;
        while (i < format.length()) {
            char c = format.charAt(i);
            if (Character.isWhitespace(c)) { i++; continue; }
            long count = 1;
            boolean explicitCount = false;
            if (c >= '0' && c <= '9') {
                int start = i;
                count = 0;
                while (i < format.length() && format.charAt(i) >= '0' && format.charAt(i) <= '9') {
                    count = Math.multiplyExact(count, 10) + (format.charAt(i) - '0');
                    if (count > Integer.MAX_VALUE) throw bad(format, start, "repeat count is too large");
                    i++;
                }
                explicitCount = true;
                if (i == format.length()) throw bad(format, i - 1, "repeat count without format character");
                c = format.charAt(i);
            }
            long s = codeSize(c, nativeMode);
            if (s < 0) {
                if (c == '@' || c == '=' || c == '<' || c == '>' || c == '!') {
                    throw bad(format, i, "byte-order character '" + c + "' is only allowed as the first character");
                }
                if ((c == 'n' || c == 'N' || c == 'P') && !nativeMode) {
                    throw bad(format, i, "'" + c + "' is only allowed in native mode ('@' or no prefix)");
                }
                throw bad(format, i, "bad char '" + printable(c) + "' in struct format");
            }
            if (nativeMode && c != 's' && c != 'p' && c != 'x' && s > 1) {
                size = align(size, s);
            }
            if (c == 's' || c == 'p') {
                size = Math.addExact(size, count);      // one item of `count` bytes
                items++;
            } else {
                size = Math.addExact(size, Math.multiplyExact(s, count));
                if (c != 'x') items += (int) Math.min(count, Integer.MAX_VALUE);
            }
            lastCode = c;
            lastCount = explicitCount ? count : 1;
            i++;
        }
        if (items == 0 && size == 0 && lastCode == 0) {
            throw new IllegalArgumentException("format \"" + format + "\" has no item; use \"B\" for unsigned bytes");
        }
        char single = (items == 1 && lastCount == 1 && lastCode != 's' && lastCode != 'p' && lastCode != 'x'
                && onlyOneCode(format)) ? lastCode : 0;
        return new StructFormat(format, order, size, single);
    }

    /** Size of one item of the code, or -1 if the code is unknown in this mode. */
    static long codeSize(char c, boolean nativeMode) {
        return switch (c) {
            case 'x', 'c', 'b', 'B', '?', 's', 'p' -> 1;
            case 'h', 'H', 'e' -> 2;
            case 'i', 'I', 'f' -> 4;
            case 'l', 'L' -> nativeMode ? 8 : 4;     // LP64 native long
            case 'q', 'Q', 'd' -> 8;
            case 'n', 'N', 'P' -> nativeMode ? 8 : -1;
            default -> -1;
        };
    }

    private static boolean onlyOneCode(String format) {
        int codes = 0;
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (Character.isLetter(c) || c == '?') codes++;
        }
        return codes == 1;
    }

    private static long align(long size, long alignment) {
        long r = size % alignment;
        return r == 0 ? size : size + (alignment - r);
    }

    private static String printable(char c) {
        return c < 0x20 || c > 0x7e ? String.format("\\u%04x", (int) c) : String.valueOf(c);
    }

    private static IllegalArgumentException bad(String format, int pos, String why) {
        return new IllegalArgumentException("bad struct format \"" + format + "\" at index " + pos + ": " + why);
    }

    @Override public String toString() { return text; }
}
