package dev.panamapy.arrow.internal;

import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.DictionaryEncoding;
import org.apache.arrow.vector.types.pojo.Field;
import dev.panamapy.internal.Capsules;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static dev.panamapy.arrow.internal.CData.*;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Fills ArrowSchema and ArrowArray structs from Java fields and {@link Snapshot}s, and releases
 * them: the release callbacks are upcall stubs into this class, callable from any thread, with
 * or without the GIL (they touch no Python), exactly once per struct (the spec's move
 * semantics: a released or moved-from struct has {@code release == NULL}). Nothing thrown in a
 * release crosses back into C: it is logged.
 */
public final class Exports {
    private Exports() { }

    private static final Logger LOG = LoggerFactory.getLogger(Exports.class);

    // ---- schema -------------------------------------------------------------------------------

    /** Fills the ArrowSchema at {@code s} (top level, in the caller's memory) for {@code f}; children in a new tree. */
    public static void exportSchema(long s, Field f, Map<Long, Field> dictionaries) {
        Tree t = new Tree(null);
        try {
            fillSchema(t, s, f, dictionaries);
        } catch (RuntimeException | Error e) {
            t.free();
            putLong(s + S_RELEASE, 0);
            throw e;
        }
    }

    private static void fillSchema(Tree t, long s, Field f, Map<Long, Field> dictionaries) {
        zero(s, SCHEMA.byteSize());
        DictionaryEncoding enc = f.getDictionary();
        ArrowType type = enc != null ? enc.getIndexType() : f.getType();
        putLong(s + S_FORMAT, t.string(Formats.format(type)));
        putLong(s + S_NAME, t.string(f.getName() == null ? "" : f.getName()));
        putLong(s + S_METADATA, metadata(t, f.getMetadata()));
        long flags = f.isNullable() ? FLAG_NULLABLE : 0;
        if (enc != null && enc.isOrdered()) flags |= FLAG_DICTIONARY_ORDERED;
        if (f.getType() instanceof ArrowType.Map m && m.getKeysSorted()) flags |= FLAG_MAP_KEYS_SORTED;
        putLong(s + S_FLAGS, flags);
        List<Field> kids = enc != null ? List.of() : f.getChildren();
        putLong(s + S_N_CHILDREN, kids.size());
        if (!kids.isEmpty()) {
            long arr = t.alloc(8L * kids.size());
            putLong(s + S_CHILDREN, arr);
            for (int i = 0; i < kids.size(); i++) {
                long c = t.alloc(SCHEMA.byteSize());
                putLong(arr + 8L * i, c);
                fillSchema(t, c, kids.get(i), dictionaries);
            }
        }
        if (enc != null) {
            Field value = dictionaries.get(enc.getId());
            if (value == null) throw new IllegalArgumentException("no dictionary " + enc.getId() + " for field '" + f.getName() + "'");
            long d = t.alloc(SCHEMA.byteSize());
            putLong(s + S_DICTIONARY, d);
            fillSchema(t, d, value, dictionaries);
        }
        putLong(s + S_PRIVATE, t.id);
        putLong(s + S_RELEASE, RELEASE_SCHEMA.address());
        t.addStruct();
    }

    /** Field metadata in the C Data encoding (int32 count, then int32-length-prefixed keys and values); 0 for none. */
    private static long metadata(Tree t, Map<String, String> md) {
        if (md == null || md.isEmpty()) return 0;
        int size = 4;
        for (var e : md.entrySet()) {
            size += 8 + e.getKey().getBytes(StandardCharsets.UTF_8).length + e.getValue().getBytes(StandardCharsets.UTF_8).length;
        }
        ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.nativeOrder());
        b.putInt(md.size());
        for (var e : md.entrySet()) {
            byte[] k = e.getKey().getBytes(StandardCharsets.UTF_8), v = e.getValue().getBytes(StandardCharsets.UTF_8);
            b.putInt(k.length).put(k).putInt(v.length).put(v);
        }
        long p = t.alloc(size);
        MemorySegment.copy(b.array(), 0, MemorySegment.NULL.reinterpret(Long.MAX_VALUE), java.lang.foreign.ValueLayout.JAVA_BYTE, p, size);
        return p;
    }

    // ---- array --------------------------------------------------------------------------------

    /**
     * Fills the ArrowArray at {@code a} (top level, in the caller's memory) from a snapshot,
     * which it retains until every struct of the tree is released.
     */
    public static void exportArray(long a, Snapshot snap) {
        snap.retain();
        Tree t = new Tree(snap::release);
        try {
            fillArray(t, a, snap.root);
        } catch (RuntimeException | Error e) {
            t.free();
            putLong(a + A_RELEASE, 0);
            throw e;
        }
    }

    private static void fillArray(Tree t, long a, Snapshot.Node n) {
        zero(a, ARRAY.byteSize());
        putLong(a + A_LENGTH, n.length());
        putLong(a + A_NULL_COUNT, n.nullCount());
        putLong(a + A_OFFSET, 0);
        long[] bufs = n.buffers();
        putLong(a + A_N_BUFFERS, bufs.length);
        if (bufs.length > 0) {
            long arr = t.alloc(8L * bufs.length);
            for (int i = 0; i < bufs.length; i++) putLong(arr + 8L * i, bufs[i]);
            putLong(a + A_BUFFERS, arr);
        }
        Snapshot.Node[] kids = n.children();
        putLong(a + A_N_CHILDREN, kids.length);
        if (kids.length > 0) {
            long arr = t.alloc(8L * kids.length);
            putLong(a + A_CHILDREN, arr);
            for (int i = 0; i < kids.length; i++) {
                long c = t.alloc(ARRAY.byteSize());
                putLong(arr + 8L * i, c);
                fillArray(t, c, kids[i]);
            }
        }
        if (n.dictionary() != null) {
            long d = t.alloc(ARRAY.byteSize());
            putLong(a + A_DICTIONARY, d);
            fillArray(t, d, n.dictionary());
        }
        putLong(a + A_PRIVATE, t.id);
        putLong(a + A_RELEASE, RELEASE_ARRAY.address());
        t.addStruct();
    }

    // ---- release ------------------------------------------------------------------------------

    /** Releases one of our structs and those of its children and dictionary not moved out. */
    private static void release(long p, boolean schema) {
        long rel = getLong(p + (schema ? S_RELEASE : A_RELEASE));
        if (rel == 0) return;                           // released already (or moved from): nothing to do
        long n = getLong(p + (schema ? S_N_CHILDREN : A_N_CHILDREN));
        long arr = getLong(p + (schema ? S_CHILDREN : A_CHILDREN));
        for (long i = 0; i < n; i++) {
            long c = getLong(arr + 8 * i);
            if (c != 0 && getLong(c + (schema ? S_RELEASE : A_RELEASE)) != 0) release(c, schema);
        }
        long d = getLong(p + (schema ? S_DICTIONARY : A_DICTIONARY));
        if (d != 0 && getLong(d + (schema ? S_RELEASE : A_RELEASE)) != 0) release(d, schema);
        Tree t = Tree.of(getLong(p + (schema ? S_PRIVATE : A_PRIVATE)));
        putLong(p + (schema ? S_RELEASE : A_RELEASE), 0);
        if (t == null) {
            LOG.error("release of an Arrow {} panamapy does not know (released twice through a copy?); ignored",
                    schema ? "schema" : "array");
            return;
        }
        t.structReleased();
    }

    // void release(struct ArrowSchema*)
    private static void releaseSchema(long p) {
        try {
            release(p, true);
        } catch (Throwable t) {
            failed("ArrowSchema.release", t);
        }
    }

    // void release(struct ArrowArray*)
    private static void releaseArray(long p) {
        try {
            release(p, false);
        } catch (Throwable t) {
            failed("ArrowArray.release", t);
        }
    }

    static void failed(String where, Throwable t) {
        try {
            LOG.error("exception in {} upcall; ignored", where, t);
        } catch (Throwable ignored) {
            // never let it escape
        }
    }

    /** Calls a C release callback ({@code void (*)(void*)}) on a struct. */
    public static void callRelease(long fn, long struct) {
        try {
            CALL_RELEASE.invokeExact(MemorySegment.ofAddress(fn), struct);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Releases a struct at {@code p} if it is not released yet (its release field at {@code releaseOffset}). */
    public static void releaseIfLive(long p, long releaseOffset) {
        long fn = getLong(p + releaseOffset);
        if (fn != 0) callRelease(fn, p);
    }

    static final MemorySegment RELEASE_SCHEMA = stub("releaseSchema");
    static final MemorySegment RELEASE_ARRAY = stub("releaseArray");

    private static MemorySegment stub(String method) {
        return Capsules.upcallStub(MethodHandles.lookup(), method, FunctionDescriptor.ofVoid(JAVA_LONG));
    }
}
