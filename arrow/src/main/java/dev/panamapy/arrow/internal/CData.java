package dev.panamapy.arrow.internal;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The three structs of the Arrow C Data and C Stream interfaces, as FFM layouts written by hand
 * from the specification ({@code arrow/c/abi.h}, reproduced in the spec pages): jextract is not
 * installed here and three fixed structs of pointers and int64s do not need it; a unit test
 * ({@code CDataLayoutTest}) checks every offset and size against the spec's C declarations.
 * Fields are read and written through absolute addresses as {@code long}s, like the bridge's
 * own upcalls: the structs are passed around as C pointers and may live in anyone's memory.
 * Also the C allocator ({@code calloc}/{@code free}) the exported structs live in.
 */
public final class CData {
    private CData() { }

    /** struct ArrowSchema. */
    public static final StructLayout SCHEMA = MemoryLayout.structLayout(
            ADDRESS.withName("format"),
            ADDRESS.withName("name"),
            ADDRESS.withName("metadata"),
            JAVA_LONG.withName("flags"),
            JAVA_LONG.withName("n_children"),
            ADDRESS.withName("children"),
            ADDRESS.withName("dictionary"),
            ADDRESS.withName("release"),
            ADDRESS.withName("private_data")).withName("ArrowSchema");

    /** struct ArrowArray. */
    public static final StructLayout ARRAY = MemoryLayout.structLayout(
            JAVA_LONG.withName("length"),
            JAVA_LONG.withName("null_count"),
            JAVA_LONG.withName("offset"),
            JAVA_LONG.withName("n_buffers"),
            JAVA_LONG.withName("n_children"),
            ADDRESS.withName("buffers"),
            ADDRESS.withName("children"),
            ADDRESS.withName("dictionary"),
            ADDRESS.withName("release"),
            ADDRESS.withName("private_data")).withName("ArrowArray");

    /** struct ArrowArrayStream. */
    public static final StructLayout STREAM = MemoryLayout.structLayout(
            ADDRESS.withName("get_schema"),
            ADDRESS.withName("get_next"),
            ADDRESS.withName("get_last_error"),
            ADDRESS.withName("release"),
            ADDRESS.withName("private_data")).withName("ArrowArrayStream");

    private static long off(StructLayout l, String field) { return l.byteOffset(groupElement(field)); }

    // ArrowSchema
    public static final long S_FORMAT = off(SCHEMA, "format");
    public static final long S_NAME = off(SCHEMA, "name");
    public static final long S_METADATA = off(SCHEMA, "metadata");
    public static final long S_FLAGS = off(SCHEMA, "flags");
    public static final long S_N_CHILDREN = off(SCHEMA, "n_children");
    public static final long S_CHILDREN = off(SCHEMA, "children");
    public static final long S_DICTIONARY = off(SCHEMA, "dictionary");
    public static final long S_RELEASE = off(SCHEMA, "release");
    public static final long S_PRIVATE = off(SCHEMA, "private_data");
    // ArrowArray
    public static final long A_LENGTH = off(ARRAY, "length");
    public static final long A_NULL_COUNT = off(ARRAY, "null_count");
    public static final long A_OFFSET = off(ARRAY, "offset");
    public static final long A_N_BUFFERS = off(ARRAY, "n_buffers");
    public static final long A_N_CHILDREN = off(ARRAY, "n_children");
    public static final long A_BUFFERS = off(ARRAY, "buffers");
    public static final long A_CHILDREN = off(ARRAY, "children");
    public static final long A_DICTIONARY = off(ARRAY, "dictionary");
    public static final long A_RELEASE = off(ARRAY, "release");
    public static final long A_PRIVATE = off(ARRAY, "private_data");
    // ArrowArrayStream
    public static final long ST_GET_SCHEMA = off(STREAM, "get_schema");
    public static final long ST_GET_NEXT = off(STREAM, "get_next");
    public static final long ST_GET_LAST_ERROR = off(STREAM, "get_last_error");
    public static final long ST_RELEASE = off(STREAM, "release");
    public static final long ST_PRIVATE = off(STREAM, "private_data");

    /** ArrowSchema.flags bits. */
    public static final long FLAG_DICTIONARY_ORDERED = 1, FLAG_NULLABLE = 2, FLAG_MAP_KEYS_SORTED = 4;

    // ---- raw memory ---------------------------------------------------------------------------

    private static final MemorySegment ALL = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    public static long getLong(long address) { return ALL.get(JAVA_LONG, address); }

    public static void putLong(long address, long value) { ALL.set(JAVA_LONG, address, value); }

    public static byte getByte(long address) { return ALL.get(java.lang.foreign.ValueLayout.JAVA_BYTE, address); }

    public static int getInt(long address) { return ALL.get(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, address); }

    public static void putInt(long address, int value) { ALL.set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED, address, value); }

    /** Zeroes {@code bytes} from {@code address} (a struct handed in by a consumer may hold garbage). */
    public static void zero(long address, long bytes) { ALL.asSlice(address, bytes).fill((byte) 0); }

    public static void copy(long from, long to, long bytes) { MemorySegment.copy(ALL, from, ALL, to, bytes); }

    /** A NUL-terminated UTF-8 string at {@code address} (null for NULL). */
    public static String string(long address) {
        return address == 0 ? null : ALL.getString(address);
    }

    /** A new NUL-terminated UTF-8 copy of {@code s} in C memory (free with {@link #free}). */
    public static long cString(String s) {
        byte[] b = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        long p = calloc(b.length + 1);
        MemorySegment.copy(b, 0, ALL, java.lang.foreign.ValueLayout.JAVA_BYTE, p, b.length);
        return p;
    }

    /** A new bytes copy in C memory (free with {@link #free}). */
    public static long cBytes(byte[] b) {
        long p = calloc(Math.max(1, b.length));
        MemorySegment.copy(b, 0, ALL, java.lang.foreign.ValueLayout.JAVA_BYTE, p, b.length);
        return p;
    }

    /** {@code bytes} of C memory from {@code address} as a Java array (a copy). */
    public static byte[] bytes(long address, int bytes) {
        byte[] b = new byte[bytes];
        MemorySegment.copy(ALL, java.lang.foreign.ValueLayout.JAVA_BYTE, address, b, 0, bytes);
        return b;
    }

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle CALLOC = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("calloc"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle FREE = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("free"),
            FunctionDescriptor.ofVoid(JAVA_LONG));

    private static final java.util.concurrent.atomic.AtomicLong BLOCKS = new java.util.concurrent.atomic.AtomicLong();

    /** Blocks from {@link #calloc} not yet given to {@link #free}, for leak checks. */
    public static long liveBlocks() { return BLOCKS.get(); }

    /** Zeroed C memory ({@code calloc}); never 0. */
    public static long calloc(long bytes) {
        try {
            long p = (long) CALLOC.invokeExact(1L, Math.max(1L, bytes));
            if (p == 0) throw new OutOfMemoryError("calloc(" + bytes + ") failed");
            BLOCKS.incrementAndGet();
            return p;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** {@code free}; 0 is ignored. */
    public static void free(long p) {
        if (p == 0) return;
        try {
            FREE.invokeExact(p);
            BLOCKS.decrementAndGet();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** A downcall to a C function pointer taking one pointer and returning nothing (a release callback). */
    static final MethodHandle CALL_RELEASE = LINKER.downcallHandle(FunctionDescriptor.ofVoid(JAVA_LONG));
}
