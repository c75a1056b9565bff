package dev.panamapy.arrow.internal;

import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.ForeignAllocation;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.dictionary.Dictionary;
import org.apache.arrow.vector.dictionary.DictionaryProvider;
import org.apache.arrow.vector.ipc.message.ArrowFieldNode;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.DictionaryEncoding;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.apache.arrow.vector.types.pojo.Schema;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.panamapy.arrow.internal.CData.*;

/**
 * C Data structs from a producer as Arrow Java vectors over the producer's memory. In three
 * steps, so that nothing is moved or read from a buffer before the structs were checked:
 * {@link #parse} reads an ArrowSchema into Java fields; {@link #validate} checks an ArrowArray's
 * fields (lengths, offsets, buffer and child counts, NULL pointers where data is required, and
 * that children hold the elements their parent reads: a list's first and last offsets are the
 * only buffer entries read) against them; {@link #load} then wraps the buffers with
 * {@link BufferAllocator#wrapForeignAllocation} (each holding a reference on the moved struct,
 * see {@link Imported}) and loads them into new vectors. Sliced arrays (offset != 0) become
 * vectors over the slice: fixed-width data and byte-aligned bitmaps are addressed in place,
 * bitmaps at a bit offset are shifted into new memory (the one copy).
 */
public final class Imports {
    private Imports() { }

    /** A parsed ArrowSchema: the Java field (index type + encoding for a dictionary) and the tree of C-level facts. */
    public record Node(Field field, ArrowType type, List<Node> children, Node dictionary, DictionaryEncoding encoding) { }

    // ---- schema -------------------------------------------------------------------------------

    /**
     * Reads an ArrowSchema tree.
     *
     * @param nextDictionaryId the first id to give dictionaries (ids are per import)
     * @throws IllegalArgumentException      if it is released or malformed (what, named)
     * @throws UnsupportedOperationException for a format this module does not import (named)
     */
    public static Node parse(long s, long[] nextDictionaryId) {
        if (s == 0) throw new IllegalArgumentException("ArrowSchema pointer is NULL");
        if (getLong(s + S_RELEASE) == 0) throw new IllegalArgumentException("the ArrowSchema was released already (release is NULL)");
        return parse(s, "", nextDictionaryId, 0);
    }

    private static Node parse(long s, String path, long[] ids, int depth) {
        if (depth > 64) throw new IllegalArgumentException("ArrowSchema nested deeper than 64 levels at " + path);
        String format = string(getLong(s + S_FORMAT));
        String name = string(getLong(s + S_NAME));
        String where = path.isEmpty() ? "the top-level ArrowSchema" : "ArrowSchema " + path;
        long flags = getLong(s + S_FLAGS);
        long n = getLong(s + S_N_CHILDREN);
        if (n < 0 || n > 1_000_000) throw new IllegalArgumentException(where + ": n_children is " + n);
        long arr = getLong(s + S_CHILDREN);
        if (n > 0 && arr == 0) throw new IllegalArgumentException(where + ": children is NULL with n_children " + n);
        ArrowType type;
        try {
            type = Formats.type(format, (flags & FLAG_MAP_KEYS_SORTED) != 0);
        } catch (IllegalArgumentException | UnsupportedOperationException e) {
            throw rethrow(e, where + " (field '" + name + "'): " + e.getMessage());
        }
        Map<String, String> metadata = metadata(getLong(s + S_METADATA), where);
        List<Node> kids = new ArrayList<>();
        List<Field> fields = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            long c = getLong(arr + 8L * i);
            if (c == 0) throw new IllegalArgumentException(where + ": child " + i + " is NULL");
            Node k = parse(c, path + "/" + i, ids, depth + 1);
            kids.add(k);
            fields.add(k.field);
        }
        int expected = expectedChildren(type);
        if (expected >= 0 && n != expected) {
            throw new IllegalArgumentException(where + ": format '" + format + "' needs " + expected + " children, n_children is " + n);
        }
        if (type instanceof ArrowType.Map && !(kids.get(0).type instanceof ArrowType.Struct && kids.get(0).children.size() == 2)) {
            throw new IllegalArgumentException(where + ": a map's child must be a struct of key and value");
        }
        boolean nullable = (flags & FLAG_NULLABLE) != 0;
        long d = getLong(s + S_DICTIONARY);
        if (d != 0) {
            if (!(type instanceof ArrowType.Int index)) {
                throw new IllegalArgumentException(where + ": a dictionary-encoded field needs an integer index type, format is '" + format + "'");
            }
            Node dict = parse(d, path + "/dictionary", ids, depth + 1);
            DictionaryEncoding enc = new DictionaryEncoding(ids[0]++, (flags & FLAG_DICTIONARY_ORDERED) != 0, index);
            Field f = new Field(name, new FieldType(nullable, index, enc, metadata), List.of());
            return new Node(f, type, List.of(), dict, enc);
        }
        Field f = new Field(name, new FieldType(nullable, type, null, metadata), fields);
        return new Node(f, type, kids, null, null);
    }

    private static RuntimeException rethrow(RuntimeException e, String message) {
        return e instanceof UnsupportedOperationException ? new UnsupportedOperationException(message, e)
                : new IllegalArgumentException(message, e);
    }

    private static int expectedChildren(ArrowType t) {
        return switch (t) {
            case ArrowType.List l -> 1;
            case ArrowType.LargeList l -> 1;
            case ArrowType.FixedSizeList l -> 1;
            case ArrowType.Map m -> 1;
            case ArrowType.Struct s -> -1;
            default -> 0;
        };
    }

    private static Map<String, String> metadata(long p, String where) {
        if (p == 0) return null;
        int n = getInt(p);
        if (n < 0 || n > 1_000_000) throw new IllegalArgumentException(where + ": metadata has " + n + " entries");
        Map<String, String> md = new LinkedHashMap<>();
        long at = p + 4;
        for (int i = 0; i < n; i++) {
            int kl = getInt(at);
            if (kl < 0) throw new IllegalArgumentException(where + ": metadata key length " + kl);
            String k = new String(bytes(at + 4, kl), StandardCharsets.UTF_8);
            at += 4 + kl;
            int vl = getInt(at);
            if (vl < 0) throw new IllegalArgumentException(where + ": metadata value length " + vl);
            String v = new String(bytes(at + 4, vl), StandardCharsets.UTF_8);
            at += 4 + vl;
            md.put(k, v);
        }
        return md;
    }

    // ---- validation ---------------------------------------------------------------------------

    /**
     * Checks an ArrowArray against its parsed schema before anything is moved or read from its
     * buffers (but a list's first and last offsets): released struct, negative or oversized
     * length/offset, null_count below -1, wrong n_buffers or n_children, NULL buffers where data
     * is required, a struct or fixed-size-list child shorter than the elements its parent reads,
     * list offsets outside the child, a missing dictionary.
     */
    public static void validate(long a, Node schema) {
        if (a == 0) throw new IllegalArgumentException("ArrowArray pointer is NULL");
        if (getLong(a + A_RELEASE) == 0) throw new IllegalArgumentException("the ArrowArray was released already (release is NULL)");
        validate(a, schema, "", 0);
    }

    private static void validate(long a, Node sn, String path, int depth) {
        String where = (path.isEmpty() ? "the top-level ArrowArray" : "ArrowArray " + path) + " (" + describe(sn) + ")";
        long length = getLong(a + A_LENGTH), offset = getLong(a + A_OFFSET), nulls = getLong(a + A_NULL_COUNT);
        if (length < 0) throw new IllegalArgumentException(where + ": negative length " + length);
        if (offset < 0) throw new IllegalArgumentException(where + ": negative offset " + offset);
        if (length + offset > Integer.MAX_VALUE || length + offset < 0) {
            throw new IllegalArgumentException(where + ": offset + length = " + offset + " + " + length
                    + " is more than Arrow Java vectors hold (2^31 - 1 values)");
        }
        if (nulls < -1 || nulls > length) throw new IllegalArgumentException(where + ": null_count " + nulls + " with length " + length);
        int expected = expectedBuffers(sn.type);
        long nb = getLong(a + A_N_BUFFERS);
        if (nb != expected && !(sn.type instanceof ArrowType.Null && nb == 1)) {
            throw new IllegalArgumentException(where + ": n_buffers is " + nb + ", the format needs " + expected);
        }
        long bufs = getLong(a + A_BUFFERS);
        if (nb > 0 && bufs == 0) throw new IllegalArgumentException(where + ": buffers is NULL with n_buffers " + nb);
        if (length > 0) {
            for (int i = 1; i < expected; i++) {      // buffer 0 is the validity bitmap: NULL means no nulls
                if (getLong(bufs + 8L * i) == 0) {
                    throw new IllegalArgumentException(where + ": buffer " + i + " is NULL but length is " + length);
                }
            }
            if (nulls > 0 && expected > 0 && getLong(bufs) == 0) {
                throw new IllegalArgumentException(where + ": validity buffer is NULL but null_count is " + nulls);
            }
        }
        long n = getLong(a + A_N_CHILDREN);
        if (n != sn.children.size()) {
            throw new IllegalArgumentException(where + ": n_children is " + n + ", the schema has " + sn.children.size());
        }
        long kids = getLong(a + A_CHILDREN);
        if (n > 0 && kids == 0) throw new IllegalArgumentException(where + ": children is NULL with n_children " + n);
        for (int i = 0; i < n; i++) {
            long c = getLong(kids + 8L * i);
            if (c == 0) throw new IllegalArgumentException(where + ": child " + i + " is NULL");
            validate(c, sn.children.get(i), path + "/" + i, depth + 1);
            long cl = getLong(c + A_LENGTH), co = getLong(c + A_OFFSET);
            Node k = sn.children.get(i);
            // load() reads a struct child's elements [co + offset, co + offset + length) of its [co, co + cl)
            if (sn.type instanceof ArrowType.Struct && cl < offset + length) {
                throw new IllegalArgumentException("ArrowArray " + path + "/" + i + " (" + describe(k) + "): struct child has "
                        + cl + " values (from its offset " + co + "), the parent needs " + (offset + length)
                        + " (its offset " + offset + " + length " + length + ")");
            }
            if (isList(sn.type) && length > 0) listEnds(a, offset, length, cl, sn.type instanceof ArrowType.LargeList ? 8 : 4,
                    "ArrowArray " + path + "/" + i + " (" + describe(k) + ")");
            if (sn.type instanceof ArrowType.FixedSizeList fsl && cl < (offset + length) * (long) fsl.getListSize()) {
                throw new IllegalArgumentException("ArrowArray " + path + "/" + i + ": fixed-size list child has " + cl
                        + " values, the parent needs " + (offset + length) * (long) fsl.getListSize());
            }
        }
        long d = getLong(a + A_DICTIONARY);
        if ((d != 0) != (sn.dictionary != null)) {
            throw new IllegalArgumentException(where + (d == 0 ? ": dictionary is NULL but the schema is dictionary-encoded"
                    : ": has a dictionary but the schema is not dictionary-encoded"));
        }
        if (d != 0) validate(d, sn.dictionary, path + "/dictionary", depth + 1);
    }

    private static boolean isList(ArrowType t) {
        return t instanceof ArrowType.List || t instanceof ArrowType.LargeList || t instanceof ArrowType.Map;
    }

    /**
     * A list's child is loaded whole ([co, co + cl)), and the list's offsets [offset, offset + length]
     * index into it: the first must be at least 0, the last at most cl (two reads of the offsets
     * buffer, whose entries the list's own offset and length declare; the ones between are not scanned).
     */
    private static void listEnds(long a, long offset, long length, long cl, int ow, String child) {
        long offs = getLong(getLong(a + A_BUFFERS) + 8);
        long first = ow == 4 ? getInt(offs + offset * 4) : getLong(offs + offset * 8);
        long last = ow == 4 ? getInt(offs + (offset + length) * 4) : getLong(offs + (offset + length) * 8);
        if (first < 0 || last < first || last > cl) {
            throw new IllegalArgumentException(child + ": the list's offsets run from " + first + " to " + last
                    + ", its child has " + cl + " values");
        }
    }

    private static String describe(Node sn) {
        String name = sn.field.getName();
        return (name == null || name.isEmpty() ? "" : "'" + name + "' ") + sn.type;
    }

    private static int expectedBuffers(ArrowType t) {
        return switch (t) {
            case ArrowType.Null n -> 0;
            case ArrowType.Struct s -> 1;
            case ArrowType.FixedSizeList l -> 1;
            case ArrowType.List l -> 2;
            case ArrowType.LargeList l -> 2;
            case ArrowType.Map m -> 2;
            case ArrowType.Utf8 u -> 3;
            case ArrowType.LargeUtf8 u -> 3;
            case ArrowType.Binary b -> 3;
            case ArrowType.LargeBinary b -> 3;
            default -> 2;
        };
    }

    // ---- loading ------------------------------------------------------------------------------

    /** Everything one import loads into: where buffers go, who is released, where dictionaries go. */
    public record Target(BufferAllocator allocator, Imported owner, DictionaryProvider.MapDictionaryProvider dictionaries) { }

    /**
     * A record batch: the children of the struct array at {@code a} as a new root. On failure
     * every vector made is closed (its buffers' references dropped) and the exception thrown.
     */
    public static VectorSchemaRoot loadBatch(long a, Node sn, Target t) {
        if (!(sn.type instanceof ArrowType.Struct)) {
            throw new IllegalArgumentException("a record batch is a struct array; this one is " + sn.type
                    + " (import it with ArrowImport.array)");
        }
        long length = getLong(a + A_LENGTH), offset = getLong(a + A_OFFSET);
        List<FieldVector> vectors = new ArrayList<>();
        List<Field> fields = new ArrayList<>();
        try {
            long kids = getLong(a + A_CHILDREN);
            for (int i = 0; i < sn.children.size(); i++) {
                Node k = sn.children.get(i);
                FieldVector v = k.field.createVector(t.allocator);
                vectors.add(v);
                load(v, getLong(kids + 8L * i), k, offset, length, t);
                fields.add(v.getField());
            }
        } catch (RuntimeException | Error e) {
            for (FieldVector v : vectors) v.close();
            throw e;
        }
        Schema schema = new Schema(fields, sn.field.getMetadata());
        return new VectorSchemaRoot(schema, vectors, (int) length);
    }

    /** One array as a new vector (closed again on failure). */
    public static FieldVector loadArray(long a, Node sn, Target t) {
        FieldVector v = sn.field.createVector(t.allocator);
        try {
            load(v, a, sn, 0, -1, t);
        } catch (RuntimeException | Error e) {
            v.close();
            throw e;
        }
        return v;
    }

    /**
     * Loads the array at {@code a} into {@code v}; {@code extraOffset} is a parent's offset
     * pushed down (struct children), {@code forcedLength} the length the parent gives it (-1: its own).
     */
    private static void load(FieldVector v, long a, Node sn, long extraOffset, long forcedLength, Target t) {
        long ownLength = getLong(a + A_LENGTH);
        long length = forcedLength >= 0 ? forcedLength : ownLength;
        long offset = getLong(a + A_OFFSET) + extraOffset;
        long nulls = forcedLength >= 0 && (forcedLength != ownLength || extraOffset != 0) ? -1 : getLong(a + A_NULL_COUNT);
        long bufs = getLong(a + A_BUFFERS);
        ArrowType type = sn.type;
        List<ArrowBuf> loaded = new ArrayList<>();
        try {
            long validity = expectedBuffers(type) > 0 ? getLong(bufs) : 0;
            if (expectedBuffers(type) > 0) {
                if (validity == 0) nulls = 0;
                loaded.add(validity == 0 ? t.allocator.getEmpty() : bitmap(validity, offset, length, t));
            }
            long kids = getLong(a + A_CHILDREN);
            switch (type) {
                case ArrowType.Null n -> { }
                case ArrowType.Struct s -> {
                    List<FieldVector> cv = v.getChildrenFromFields();
                    for (int i = 0; i < cv.size(); i++) load(cv.get(i), getLong(kids + 8L * i), sn.children.get(i), offset, length, t);
                }
                case ArrowType.FixedSizeList l -> {
                    long size = l.getListSize();
                    load(v.getChildrenFromFields().get(0), getLong(kids), sn.children.get(0), offset * size, length * size, t);
                }
                case ArrowType.List l -> offsetsAndChild(v, a, sn, offset, length, 4, loaded, t);
                case ArrowType.LargeList l -> offsetsAndChild(v, a, sn, offset, length, 8, loaded, t);
                case ArrowType.Map m -> offsetsAndChild(v, a, sn, offset, length, 4, loaded, t);
                case ArrowType.Utf8 u -> variable(bufs, offset, length, 4, loaded, t);
                case ArrowType.Binary b -> variable(bufs, offset, length, 4, loaded, t);
                case ArrowType.LargeUtf8 u -> variable(bufs, offset, length, 8, loaded, t);
                case ArrowType.LargeBinary b -> variable(bufs, offset, length, 8, loaded, t);
                case ArrowType.Bool b -> loaded.add(length == 0 ? t.allocator.getEmpty() : bitmap(getLong(bufs + 8), offset, length, t));
                default -> {
                    long w = byteWidth(type);
                    loaded.add(wrap(getLong(bufs + 8), offset * w, length * w, t));
                }
            }
            v.loadFieldBuffers(new ArrowFieldNode(length, nulls), loaded);
        } finally {
            for (ArrowBuf b : loaded) b.getReferenceManager().release();      // the vector holds its own references
        }
        if (sn.dictionary != null) {
            if (t.dictionaries == null) {
                throw new IllegalArgumentException("column '" + sn.field.getName() + "' is dictionary-encoded: import it with the "
                        + "ArrowImport overload that takes a DictionaryProvider.MapDictionaryProvider");
            }
            FieldVector dict = sn.dictionary.field.createVector(t.allocator);
            try {
                load(dict, getLong(a + A_DICTIONARY), sn.dictionary, 0, -1, t);
            } catch (RuntimeException | Error e) {
                dict.close();
                throw e;
            }
            t.dictionaries.put(new Dictionary(dict, sn.encoding));
        }
    }

    private static void offsetsAndChild(FieldVector v, long a, Node sn, long offset, long length, int ow,
                                        List<ArrowBuf> loaded, Target t) {
        long bufs = getLong(a + A_BUFFERS);
        loaded.add(offsets(getLong(bufs + 8), offset, length, ow, t));
        load(v.getChildrenFromFields().get(0), getLong(getLong(a + A_CHILDREN)), sn.children.get(0), 0, -1, t);
    }

    private static void variable(long bufs, long offset, long length, int ow, List<ArrowBuf> loaded, Target t) {
        long offs = getLong(bufs + 8);
        loaded.add(offsets(offs, offset, length, ow, t));
        long end = length == 0 ? 0 : ow == 4 ? getInt(offs + (offset + length) * 4) : getLong(offs + (offset + length) * 8);
        if (end < 0) throw new IllegalArgumentException("a negative last offset " + end + " in a variable-width array");
        loaded.add(wrap(getLong(bufs + 16), 0, end, t));
    }

    /** Offsets of a slice: in place ({@code length + 1} entries from {@code offset}); one zero entry for an empty array. */
    private static ArrowBuf offsets(long p, long offset, long length, int ow, Target t) {
        if (length == 0) {
            ArrowBuf zero = t.allocator.buffer(ow);
            zero.setZero(0, ow);
            return zero;
        }
        return wrap(p, offset * ow, (length + 1) * ow, t);
    }

    private static long byteWidth(ArrowType type) {
        return switch (type) {
            case ArrowType.Int i -> i.getBitWidth() / 8;
            case ArrowType.FloatingPoint f -> switch (f.getPrecision()) {
                case HALF -> 2;
                case SINGLE -> 4;
                case DOUBLE -> 8;
            };
            case ArrowType.Decimal d -> d.getBitWidth() / 8;
            case ArrowType.FixedSizeBinary b -> b.getByteWidth();
            case ArrowType.Date d -> d.getUnit() == org.apache.arrow.vector.types.DateUnit.DAY ? 4 : 8;
            case ArrowType.Time tt -> tt.getBitWidth() / 8;
            case ArrowType.Timestamp ts -> 8;
            case ArrowType.Duration d -> 8;
            case ArrowType.Interval i -> switch (i.getUnit()) {
                case YEAR_MONTH -> 4;
                case DAY_TIME -> 8;
                case MONTH_DAY_NANO -> 16;
            };
            default -> throw Formats.unsupported(type);
        };
    }

    /** The producer's memory [p + from, p + from + bytes) as a Java buffer holding a reference on the import. */
    private static ArrowBuf wrap(long p, long from, long bytes, Target t) {
        if (bytes == 0) return t.allocator.getEmpty();
        t.owner.ref();
        try {
            Imported owner = t.owner;
            return t.allocator.wrapForeignAllocation(new ForeignAllocation(bytes, p + from) {
                @Override
                protected void release0() {
                    owner.unref();
                }
            });
        } catch (RuntimeException | Error e) {
            t.owner.unref();
            throw e;
        }
    }

    /** A bitmap slice: in place at a byte boundary, shifted into new memory otherwise. */
    private static ArrowBuf bitmap(long p, long offset, long length, Target t) {
        long bytes = (length + 7) / 8;
        if (offset % 8 == 0) return wrap(p, offset / 8, bytes, t);
        ArrowBuf out = t.allocator.buffer(bytes);
        out.setZero(0, bytes);
        int shift = (int) (offset % 8);
        long src = p + offset / 8;
        long srcBytes = (offset + length + 7) / 8 - offset / 8;
        for (long i = 0; i < bytes; i++) {
            int lo = getByte(src + i) & 0xff;
            int hi = i + 1 < srcBytes ? getByte(src + i + 1) & 0xff : 0;
            out.setByte(i, (byte) ((lo >>> shift) | (hi << (8 - shift))));
        }
        return out;
    }

}
