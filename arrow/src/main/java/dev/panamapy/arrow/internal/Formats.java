package dev.panamapy.arrow.internal;

import org.apache.arrow.vector.types.DateUnit;
import org.apache.arrow.vector.types.FloatingPointPrecision;
import org.apache.arrow.vector.types.IntervalUnit;
import org.apache.arrow.vector.types.TimeUnit;
import org.apache.arrow.vector.types.pojo.ArrowType;

/**
 * Arrow types to and from the C Data Interface's format strings
 * (<a href="https://arrow.apache.org/docs/format/CDataInterface.html#data-type-description-format-strings">spec</a>).
 * Types without a format here (unions, views, run-end encoded, list views, extension types)
 * are refused with {@link UnsupportedOperationException} naming them.
 */
public final class Formats {
    private Formats() { }

    /** The format string of a type (for a dictionary-encoded field: of its index type). */
    public static String format(ArrowType t) {
        return switch (t) {
            case ArrowType.Null n -> "n";
            case ArrowType.Bool b -> "b";
            case ArrowType.Int i -> switch (i.getBitWidth()) {
                case 8 -> i.getIsSigned() ? "c" : "C";
                case 16 -> i.getIsSigned() ? "s" : "S";
                case 32 -> i.getIsSigned() ? "i" : "I";
                case 64 -> i.getIsSigned() ? "l" : "L";
                default -> throw unsupported(t);
            };
            case ArrowType.FloatingPoint f -> switch (f.getPrecision()) {
                case HALF -> "e";
                case SINGLE -> "f";
                case DOUBLE -> "g";
            };
            case ArrowType.Utf8 u -> "u";
            case ArrowType.LargeUtf8 u -> "U";
            case ArrowType.Binary b -> "z";
            case ArrowType.LargeBinary b -> "Z";
            case ArrowType.FixedSizeBinary b -> "w:" + b.getByteWidth();
            case ArrowType.Decimal d -> "d:" + d.getPrecision() + "," + d.getScale() + (d.getBitWidth() == 128 ? "" : "," + d.getBitWidth());
            case ArrowType.Date d -> d.getUnit() == DateUnit.DAY ? "tdD" : "tdm";
            case ArrowType.Time tt -> "tt" + unit(tt.getUnit());
            case ArrowType.Timestamp ts -> "ts" + unit(ts.getUnit()) + ":" + (ts.getTimezone() == null ? "" : ts.getTimezone());
            case ArrowType.Duration d -> "tD" + unit(d.getUnit());
            case ArrowType.Interval i -> switch (i.getUnit()) {
                case YEAR_MONTH -> "tiM";
                case DAY_TIME -> "tiD";
                case MONTH_DAY_NANO -> "tin";
            };
            case ArrowType.List l -> "+l";
            case ArrowType.LargeList l -> "+L";
            case ArrowType.FixedSizeList l -> "+w:" + l.getListSize();
            case ArrowType.Struct s -> "+s";
            case ArrowType.Map m -> "+m";
            default -> throw unsupported(t);
        };
    }

    /**
     * The type a format string describes.
     *
     * @throws UnsupportedOperationException for a valid format this module does not import (named)
     * @throws IllegalArgumentException      for a malformed one
     * @param keysSorted the schema's MAP_KEYS_SORTED flag (maps only)
     */
    public static ArrowType type(String f, boolean keysSorted) {
        if (f == null || f.isEmpty()) throw new IllegalArgumentException("ArrowSchema.format is NULL or empty");
        switch (f) {
            case "n": return ArrowType.Null.INSTANCE;
            case "b": return ArrowType.Bool.INSTANCE;
            case "c": return new ArrowType.Int(8, true);
            case "C": return new ArrowType.Int(8, false);
            case "s": return new ArrowType.Int(16, true);
            case "S": return new ArrowType.Int(16, false);
            case "i": return new ArrowType.Int(32, true);
            case "I": return new ArrowType.Int(32, false);
            case "l": return new ArrowType.Int(64, true);
            case "L": return new ArrowType.Int(64, false);
            case "e": return new ArrowType.FloatingPoint(FloatingPointPrecision.HALF);
            case "f": return new ArrowType.FloatingPoint(FloatingPointPrecision.SINGLE);
            case "g": return new ArrowType.FloatingPoint(FloatingPointPrecision.DOUBLE);
            case "u": return ArrowType.Utf8.INSTANCE;
            case "U": return ArrowType.LargeUtf8.INSTANCE;
            case "z": return ArrowType.Binary.INSTANCE;
            case "Z": return ArrowType.LargeBinary.INSTANCE;
            case "tdD": return new ArrowType.Date(DateUnit.DAY);
            case "tdm": return new ArrowType.Date(DateUnit.MILLISECOND);
            case "tts": return new ArrowType.Time(TimeUnit.SECOND, 32);
            case "ttm": return new ArrowType.Time(TimeUnit.MILLISECOND, 32);
            case "ttu": return new ArrowType.Time(TimeUnit.MICROSECOND, 64);
            case "ttn": return new ArrowType.Time(TimeUnit.NANOSECOND, 64);
            case "tDs": return new ArrowType.Duration(TimeUnit.SECOND);
            case "tDm": return new ArrowType.Duration(TimeUnit.MILLISECOND);
            case "tDu": return new ArrowType.Duration(TimeUnit.MICROSECOND);
            case "tDn": return new ArrowType.Duration(TimeUnit.NANOSECOND);
            case "tiM": return new ArrowType.Interval(IntervalUnit.YEAR_MONTH);
            case "tiD": return new ArrowType.Interval(IntervalUnit.DAY_TIME);
            case "tin": return new ArrowType.Interval(IntervalUnit.MONTH_DAY_NANO);
            case "+l": return ArrowType.List.INSTANCE;
            case "+L": return ArrowType.LargeList.INSTANCE;
            case "+s": return ArrowType.Struct.INSTANCE;
            case "+m": return new ArrowType.Map(keysSorted);
            default: break;
        }
        try {
            if (f.startsWith("w:")) return new ArrowType.FixedSizeBinary(positive(f.substring(2), f));
            if (f.startsWith("+w:")) return new ArrowType.FixedSizeList(positive(f.substring(3), f));
            if (f.startsWith("d:")) {
                String[] p = f.substring(2).split(",");
                if (p.length < 2 || p.length > 3) throw new IllegalArgumentException("malformed decimal format '" + f + "'");
                int bits = p.length == 3 ? Integer.parseInt(p[2]) : 128;
                if (bits != 128 && bits != 256) throw unsupportedFormat(f, "decimal" + bits);
                return new ArrowType.Decimal(Integer.parseInt(p[0]), Integer.parseInt(p[1]), bits);
            }
            if (f.startsWith("ts") && f.length() >= 4 && f.charAt(3) == ':') {
                String tz = f.substring(4);
                return new ArrowType.Timestamp(unit(f.charAt(2), f), tz.isEmpty() ? null : tz);
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("malformed format string '" + f + "'", e);
        }
        throw unsupportedFormat(f, switch (f.isEmpty() ? ' ' : f.charAt(0)) {
            case '+' -> f.startsWith("+u") ? "union" : f.startsWith("+v") ? "list view" : f.startsWith("+r") ? "run-end encoded" : "nested type";
            case 'v' -> "view type";
            default -> "type";
        });
    }

    private static int positive(String s, String f) {
        int n = Integer.parseInt(s);
        if (n < 0) throw new IllegalArgumentException("negative size in format '" + f + "'");
        return n;
    }

    private static String unit(TimeUnit u) {
        return switch (u) {
            case SECOND -> "s";
            case MILLISECOND -> "m";
            case MICROSECOND -> "u";
            case NANOSECOND -> "n";
        };
    }

    private static TimeUnit unit(char c, String f) {
        return switch (c) {
            case 's' -> TimeUnit.SECOND;
            case 'm' -> TimeUnit.MILLISECOND;
            case 'u' -> TimeUnit.MICROSECOND;
            case 'n' -> TimeUnit.NANOSECOND;
            default -> throw new IllegalArgumentException("malformed time unit in format '" + f + "'");
        };
    }

    /** The exception for an Arrow Java type the C Data export does not cover. */
    public static UnsupportedOperationException unsupported(ArrowType t) {
        return new UnsupportedOperationException("Arrow type " + t + " (" + t.getTypeID() + ") is not supported by panamapy's "
                + "Arrow export/import; supported: null, bool, integers, floats, utf8/large_utf8, binary/large_binary, "
                + "fixed-size binary, decimal128/256, date, time, timestamp, duration, interval, list/large_list, "
                + "fixed-size list, struct, map, dictionary-encoded");
    }

    private static UnsupportedOperationException unsupportedFormat(String f, String what) {
        return new UnsupportedOperationException("Arrow format '" + f + "' (" + what + ") is not supported by panamapy's "
                + "Arrow import; supported: null, bool, integers, floats, utf8/large_utf8, binary/large_binary, fixed-size "
                + "binary, decimal128/256, date, time, timestamp, duration, interval, list/large_list, fixed-size list, "
                + "struct, map, dictionary-encoded");
    }
}
