package dev.panamapy.arrow.internal;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The hand-written layouts against the C declarations of the Arrow C Data and C Stream
 * interfaces (arrow/c/abi.h in the specification), on LP64: pointers and int64 are 8 bytes,
 * so each field sits at 8 times its position.
 */
class CDataLayoutTest {

    @Test
    void arrowSchemaMatchesTheSpec() {
        // const char* format; const char* name; const char* metadata; int64_t flags; int64_t n_children;
        // struct ArrowSchema** children; struct ArrowSchema* dictionary; void (*release)(..); void* private_data;
        assertEquals(72, CData.SCHEMA.byteSize());
        long[] offsets = {CData.S_FORMAT, CData.S_NAME, CData.S_METADATA, CData.S_FLAGS, CData.S_N_CHILDREN,
                CData.S_CHILDREN, CData.S_DICTIONARY, CData.S_RELEASE, CData.S_PRIVATE};
        for (int i = 0; i < offsets.length; i++) assertEquals(8L * i, offsets[i], "ArrowSchema field " + i);
    }

    @Test
    void arrowArrayMatchesTheSpec() {
        // int64_t length, null_count, offset, n_buffers, n_children; const void** buffers;
        // struct ArrowArray** children; struct ArrowArray* dictionary; void (*release)(..); void* private_data;
        assertEquals(80, CData.ARRAY.byteSize());
        long[] offsets = {CData.A_LENGTH, CData.A_NULL_COUNT, CData.A_OFFSET, CData.A_N_BUFFERS, CData.A_N_CHILDREN,
                CData.A_BUFFERS, CData.A_CHILDREN, CData.A_DICTIONARY, CData.A_RELEASE, CData.A_PRIVATE};
        for (int i = 0; i < offsets.length; i++) assertEquals(8L * i, offsets[i], "ArrowArray field " + i);
    }

    @Test
    void arrowArrayStreamMatchesTheSpec() {
        // int (*get_schema)(..); int (*get_next)(..); const char* (*get_last_error)(..); void (*release)(..); void* private_data;
        assertEquals(40, CData.STREAM.byteSize());
        long[] offsets = {CData.ST_GET_SCHEMA, CData.ST_GET_NEXT, CData.ST_GET_LAST_ERROR, CData.ST_RELEASE, CData.ST_PRIVATE};
        for (int i = 0; i < offsets.length; i++) assertEquals(8L * i, offsets[i], "ArrowArrayStream field " + i);
    }

    @Test
    void flagsAreTheSpecsBits() {
        assertEquals(1, CData.FLAG_DICTIONARY_ORDERED);
        assertEquals(2, CData.FLAG_NULLABLE);
        assertEquals(4, CData.FLAG_MAP_KEYS_SORTED);
    }
}
