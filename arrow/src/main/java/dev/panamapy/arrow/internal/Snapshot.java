package dev.panamapy.arrow.internal;

import org.apache.arrow.memory.ArrowBuf;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.NullVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.FixedSizeListVector;
import org.apache.arrow.vector.complex.LargeListVector;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.complex.NonNullableStructVector;
import org.apache.arrow.vector.dictionary.Dictionary;
import org.apache.arrow.vector.dictionary.DictionaryProvider;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.DictionaryEncoding;
import org.apache.arrow.vector.types.pojo.Field;
import org.apache.arrow.vector.types.pojo.FieldType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Java vectors as they were when exported: their field, value counts and buffer addresses, with
 * the buffers kept alive by the snapshot itself. Each buffer's ownership is transferred to a
 * child allocator of its root named for the export ({@code panamapy-export#N ...}): no copy, the
 * vectors keep working, closing them (or their allocator) no longer frees the memory, and
 * closing the root allocator while the export lives names it. Reference counted: the Python
 * object holds one, each exported array tree one; the last release gives the buffers back.
 */
public final class Snapshot {
    private static final Logger LOG = LoggerFactory.getLogger(Snapshot.class);
    private static final AtomicLong NEXT = new AtomicLong(1);
    private static final AtomicInteger LIVE = new AtomicInteger();

    /** Where required buffers of empty vectors point (Java leaves them unallocated): 64 zero bytes, forever. */
    static final long ZERO = Arena.global().allocate(64, 64).address();

    /** One array of the tree: C Data's ArrowArray fields, without the C memory. */
    record Node(long length, long nullCount, long[] buffers, Node[] children, Node dictionary) { }

    /** The schema of the export (a struct "" of the columns for a batch). */
    public final Field field;
    /** Fields of dictionaries by id (dictionary-encoded columns only; empty otherwise). */
    final java.util.Map<Long, Field> dictionaryFields = new java.util.HashMap<>();
    final Node root;
    private final List<ArrowBuf> kept = new ArrayList<>();
    private BufferAllocator allocator;
    private final String what;
    private final AtomicInteger refs = new AtomicInteger(1);

    private Snapshot(String what, Field field, List<FieldVector> columns, long rows, boolean batch,
                     DictionaryProvider dictionaries) {
        this.what = "panamapy-export#" + NEXT.getAndIncrement() + " (" + what + ")";
        this.field = field;
        try {
            if (batch) {
                Node[] cols = new Node[columns.size()];
                for (int i = 0; i < cols.length; i++) cols[i] = node(columns.get(i), dictionaries);
                this.root = new Node(rows, 0, new long[]{0}, cols, null);
            } else {
                this.root = node(columns.get(0), dictionaries);
            }
        } catch (RuntimeException | Error e) {
            giveBack();
            throw e;
        }
        LIVE.incrementAndGet();
    }

    /** Exported snapshots not yet given back, for leak checks. */
    public static int live() { return LIVE.get(); }

    /** The struct field "" of a root's columns: a record batch's type in the C Data Interface. */
    static Field batchField(VectorSchemaRoot root) {
        List<Field> fields = new ArrayList<>();
        for (FieldVector v : root.getFieldVectors()) fields.add(v.getField());
        return new Field("", new FieldType(false, ArrowType.Struct.INSTANCE, null, root.getSchema().getCustomMetadata()), fields);
    }

    /** The value fields of the dictionaries {@code f} and its descendants refer to. */
    static java.util.Map<Long, Field> dictionaryFields(Field f, DictionaryProvider dictionaries) {
        java.util.Map<Long, Field> out = new java.util.HashMap<>();
        collect(f, dictionaries, out);
        return out;
    }

    private static void collect(Field f, DictionaryProvider dictionaries, java.util.Map<Long, Field> out) {
        DictionaryEncoding enc = f.getDictionary();
        if (enc != null && !out.containsKey(enc.getId())) {
            Dictionary d = dictionaries == null ? null : dictionaries.lookup(enc.getId());
            if (d == null) {
                throw new IllegalArgumentException("field '" + f.getName() + "' is dictionary-encoded (dictionary id "
                        + enc.getId() + ") but the reader has no dictionary " + enc.getId());
            }
            out.put(enc.getId(), d.getVector().getField());
            collect(d.getVector().getField(), dictionaries, out);
        }
        for (Field c : f.getChildren()) collect(c, dictionaries, out);
    }

    /** A record batch. */
    public static Snapshot of(VectorSchemaRoot root, DictionaryProvider dictionaries) {
        for (FieldVector v : root.getFieldVectors()) {
            if (v.getValueCount() < root.getRowCount()) {
                throw new IllegalArgumentException("column '" + v.getName() + "' has " + v.getValueCount() + " values but the root's "
                        + "row count is " + root.getRowCount() + ": a consumer would read past the column (call setValueCount "
                        + "on every vector, or setRowCount to at most the shortest column); nothing was exported");
            }
        }
        Field f = batchField(root);
        List<Field> fields = f.getChildren();
        return new Snapshot("VectorSchemaRoot of " + fields.size() + " columns, " + root.getRowCount() + " rows", f,
                root.getFieldVectors(), root.getRowCount(), true, dictionaries);
    }

    /** One vector. */
    public static Snapshot of(FieldVector vector, DictionaryProvider dictionaries) {
        return new Snapshot("vector '" + vector.getName() + "' " + vector.getField().getType() + ", " + vector.getValueCount()
                + " values", vector.getField(), List.of(vector), vector.getValueCount(), false, dictionaries);
    }

    private Node node(FieldVector v, DictionaryProvider dictionaries) {
        Field f = v.getField();
        DictionaryEncoding enc = f.getDictionary();
        Formats.format(enc != null ? enc.getIndexType() : f.getType());      // refuses what has no format, naming it
        int n = v.getValueCount();
        List<ArrowBuf> bufs = v.getFieldBuffers();
        long[] addrs = new long[bufs.size()];
        for (int i = 0; i < addrs.length; i++) addrs[i] = keep(bufs.get(i));
        List<FieldVector> kids = v.getChildrenFromFields();
        Node[] children = new Node[kids.size()];
        for (int i = 0; i < children.length; i++) children[i] = node(kids.get(i), dictionaries);
        requireChildValues(v, n, kids);
        if (f.getType() instanceof ArrowType.Map && children.length == 1) {
            // a map's entries and keys are never null (the spec), and pyarrow aborts the process on a map
            // whose entries or keys may have nulls (it treats null_count -1 as "may"); Arrow Java's writers
            // need not set the entries' validity bits: export both without a validity bitmap
            Node e = withoutNulls(children[0]);
            Node[] kv = e.children().clone();
            if (kv.length > 0) kv[0] = withoutNulls(kv[0]);
            children[0] = new Node(e.length(), 0, e.buffers(), kv, e.dictionary());
        }
        Node dict = null;
        if (enc != null) {
            Dictionary d = dictionaries == null ? null : dictionaries.lookup(enc.getId());
            if (d == null) {
                throw new IllegalArgumentException("column '" + f.getName() + "' is dictionary-encoded (dictionary id "
                        + enc.getId() + ") but " + (dictionaries == null ? "no DictionaryProvider was given: pass one"
                        : "the DictionaryProvider given has no dictionary " + enc.getId()));
            }
            dictionaryFields.put(enc.getId(), d.getVector().getField());
            dict = node(d.getVector(), dictionaries);
        }
        long nulls = n == 0 ? 0 : v instanceof NullVector ? n : -1;     // -1: unknown, counting would scan the bitmap
        return new Node(n, nulls, addrs, children, dict);
    }

    /**
     * The children hold every element the vector's {@code n} values reference (a consumer reads
     * them without bounds): a struct's children n values, a fixed-size list's child n * size, a
     * list's or map's child up to its last offset.
     */
    private static void requireChildValues(FieldVector v, int n, List<FieldVector> kids) {
        if (n == 0 || kids.isEmpty()) return;
        long needed = switch (v) {
            case NonNullableStructVector s -> n;
            case FixedSizeListVector l -> (long) n * l.getListSize();
            case LargeListVector l -> lastOffset(v, l.getOffsetBuffer(), n, 8);
            case ListVector l -> lastOffset(v, l.getOffsetBuffer(), n, 4);
            default -> 0;
        };
        for (FieldVector k : kids) {
            if (k.getValueCount() < needed) {
                throw new IllegalArgumentException("vector '" + v.getName() + "' (" + v.getField().getType() + ", " + n
                        + " values) needs " + needed + " values in its child '" + k.getName() + "', which has "
                        + k.getValueCount() + " (call setValueCount on it); nothing was exported");
            }
        }
    }

    private static long lastOffset(FieldVector v, ArrowBuf offsets, int n, int width) {
        if (offsets == null || offsets.capacity() < (long) (n + 1) * width) {
            throw new IllegalArgumentException("vector '" + v.getName() + "' has " + n + " values but its offsets buffer holds "
                    + "fewer than " + (n + 1) + " offsets; nothing was exported");
        }
        return width == 8 ? offsets.getLong((long) n * 8) : offsets.getInt((long) n * 4);
    }

    private static Node withoutNulls(Node n) {
        long[] b = n.buffers().clone();
        if (b.length > 0) b[0] = 0;
        return new Node(n.length(), 0, b, n.children(), n.dictionary());
    }

    /** Keeps one buffer alive for this export; its address (ZERO for an unallocated one). */
    private long keep(ArrowBuf buf) {
        if (buf == null || buf.capacity() == 0) return ZERO;
        BufferAllocator owner = buf.getReferenceManager().getAllocator();
        if (allocator == null) allocator = owner.getRoot().newChildAllocator(what, 0, Long.MAX_VALUE);
        ArrowBuf mine;
        if (owner.getRoot() == allocator.getRoot()) {
            mine = buf.getReferenceManager().transferOwnership(buf, allocator).getTransferredBuffer();
        } else {
            buf.getReferenceManager().retain();         // another root: plain reference count
            mine = buf;
        }
        kept.add(mine);
        return mine.memoryAddress();
    }

    /** One more user (an exported array tree). */
    void retain() {
        if (refs.getAndIncrement() <= 0) {
            refs.decrementAndGet();
            throw new IllegalStateException(what + " was already released");
        }
    }

    /** One user fewer; the last gives the buffers back. Any thread. */
    public void release() {
        int r = refs.decrementAndGet();
        if (r == 0) {
            giveBack();
            LIVE.decrementAndGet();
        } else if (r < 0) {
            LOG.error("{} released more often than retained (a bug in panamapy)", what);
        }
    }

    private synchronized void giveBack() {
        RuntimeException failed = null;
        for (ArrowBuf b : kept) {
            try {
                b.getReferenceManager().release();
            } catch (RuntimeException e) {       // the root allocator was closed under the live export
                if (failed == null) failed = e;
            }
        }
        kept.clear();
        try {
            if (allocator != null) allocator.close();
        } catch (RuntimeException e) {
            if (failed == null) failed = e;
        }
        allocator = null;
        if (failed != null) {
            LOG.warn("{}: Python released it after its root allocator was closed; its memory was not given back "
                    + "(close allocators after the Python objects using their data are gone): {}", what, failed.getMessage());
        }
    }

    @Override
    public String toString() { return what; }
}
