package dev.panamapy.nativetests.exporter;

import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import java.util.zip.CRC32;

import static dev.panamapy.nativetests.exporter.PyCheck.*;
import static java.lang.foreign.ValueLayout.*;
import static org.junit.jupiter.api.Assertions.*;

/** Standard-library buffer consumers (struct, hashlib, zlib, bytes, bytearray, array) over Java memory. */
@PythonTest
class StdlibConsumersTest {

    private static final java.lang.foreign.ValueLayout.OfInt BE_INT = JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN);
    private static final java.lang.foreign.ValueLayout.OfDouble LE_DOUBLE =
            JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final CPython py;
    @RegisterExtension
    final ExportFixture fx = new ExportFixture("the standard library");
    private Arena arena;

    StdlibConsumersTest(CPython py) {
        this.py = py;
    }

    @BeforeEach
    void open() {
        arena = fx.arena();
        py.exec("import struct, hashlib, zlib, array");
    }

    private JavaBuffer export(BufferSpec spec) {
        return fx.export(spec);
    }

    private MemorySegment randomBytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        MemorySegment seg = arena.allocate(n);
        MemorySegment.copy(b, 0, seg, JAVA_BYTE, 0, n);
        return seg;
    }

    @Test
    void structUnpackFromReadsJavaFields() {
        MemorySegment seg = arena.allocate(32);
        seg.set(BE_INT, 3, 0xCAFEBABE);
        seg.set(LE_DOUBLE, 7, -1.25);
        seg.set(JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 15, (short) 12345);
        try (JavaBuffer buf = export(BufferSpec.of(seg, "B"))) {
            assertEquals("(3405691582, -1.25, 12345)", str("struct.unpack_from('>I', t_buf, 3) + struct.unpack_from('<dh', t_buf, 7)"));
        }
    }

    @Test
    void structPackIntoIsSeenByJava() {
        MemorySegment seg = arena.allocate(32);
        try (JavaBuffer buf = export(BufferSpec.of(seg, "B"))) {
            py.exec("struct.pack_into('>iq', t_buf, 5, -2, 1 << 40)\nstruct.pack_into('<d', t_buf, 17, 0.1)");
            assertEquals(-2, seg.get(BE_INT, 5));
            assertEquals(1L << 40, seg.get(JAVA_LONG_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 9));
            assertEquals(0.1, seg.get(LE_DOUBLE, 17));
            assertEquals(0, seg.get(JAVA_BYTE, 4));
            assertEquals(0, seg.get(JAVA_BYTE, 25));
        }
    }

    @Test
    void structPackIntoReadOnlyBufferIsRefusedAndChangesNothing() {
        MemorySegment seg = arena.allocate(8);
        try (JavaBuffer buf = export(BufferSpec.of(seg, "B").readOnly())) {
            var e = raises("struct.pack_into('<q', t_buf, 0, -1)");
            assertTrue(e.is("TypeError") || e.is("BufferError"), e.getMessage());
            assertEquals(0L, seg.get(JAVA_LONG, 0));
        }
    }

    @Test
    void bigEndianItemsDecodeThroughStructIterUnpack() {
        MemorySegment seg = arena.allocate(JAVA_INT, 3);
        int[] v = {0x11223344, -5, Integer.MIN_VALUE};
        for (int i = 0; i < 3; i++) seg.setAtIndex(BE_INT, i, v[i]);
        try (JavaBuffer buf = export(BufferSpec.of(seg, ">i"))) {
            assertEquals(">i", str("memoryview(t_buf).format"));
            assertEquals("[287454020, -5, -2147483648]",
                    str("[x for (x,) in struct.iter_unpack(memoryview(t_buf).format, t_buf)]"));
        }
    }

    @Test
    void sha256OfBufferEqualsJavaMessageDigest() throws Exception {
        MemorySegment seg = randomBytes(1 << 20, 42);
        try (JavaBuffer buf = export(BufferSpec.of(seg, "B").readOnly())) {
            String java = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(seg.toArray(JAVA_BYTE)));
            assertEquals(java, str("hashlib.sha256(t_buf).hexdigest()"));
        }
    }

    @Test
    void sha256SeesJavaWritesBetweenCalls() throws Exception {
        MemorySegment seg = randomBytes(4096, 7);
        try (JavaBuffer buf = export(BufferSpec.of(seg, "B"))) {
            String before = str("hashlib.sha256(t_buf).hexdigest()");
            seg.set(JAVA_BYTE, 4095, (byte) (seg.get(JAVA_BYTE, 4095) ^ 1));
            String after = str("hashlib.sha256(t_buf).hexdigest()");
            assertNotEquals(before, after);
            assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(seg.toArray(JAVA_BYTE))), after);
        }
    }

    @Test
    void crc32OfBufferEqualsJavaCrc32() {
        MemorySegment seg = randomBytes(100_003, 99);
        try (JavaBuffer buf = export(BufferSpec.of(seg, "B"))) {
            CRC32 crc = new CRC32();
            crc.update(seg.asByteBuffer());
            assertEquals(crc.getValue(), asLong("zlib.crc32(t_buf)"));
        }
    }

    @Test
    void crc32OfTypedBufferCoversAllBytes() {
        MemorySegment seg = arena.allocate(JAVA_DOUBLE, 100);
        for (int i = 0; i < 100; i++) seg.setAtIndex(JAVA_DOUBLE, i, Math.sqrt(i));
        try (JavaBuffer buf = export(BufferSpec.of(seg, "d").shape(10, 10))) {
            CRC32 crc = new CRC32();
            crc.update(seg.asByteBuffer());
            assertEquals(crc.getValue(), asLong("zlib.crc32(t_buf)"));
        }
    }

    @Test
    void bytesOfBufferIsACopyOfJavaMemory() {
        MemorySegment seg = randomBytes(64, 1);
        try (JavaBuffer buf = export(BufferSpec.of(seg, "B"))) {
            py.exec("t_copy = bytes(t_buf)");
            assertArrayEquals(seg.toArray(JAVA_BYTE), bytes("t_copy"));
            byte[] old = seg.toArray(JAVA_BYTE);
            seg.fill((byte) 0x5A);
            assertArrayEquals(old, bytes("t_copy"), "bytes() copied: Java's later write is not seen");
            assertEquals(0, buf.exportCount());
        }
    }

    @Test
    void bytearrayOfBufferIsAnIndependentCopy() {
        MemorySegment seg = randomBytes(16, 2);
        byte[] original = seg.toArray(JAVA_BYTE);
        try (JavaBuffer buf = export(BufferSpec.of(seg, "B"))) {
            py.exec("t_copy = bytearray(t_buf)\nt_copy[0] ^= 0xFF");
            assertArrayEquals(original, seg.toArray(JAVA_BYTE), "writing the copy leaves Java memory alone");
            assertEquals((original[0] ^ 0xFF) & 0xFF, asLong("t_copy[0]"));
            assertArrayEquals(java.util.Arrays.copyOfRange(original, 1, 16), java.util.Arrays.copyOfRange(bytes("bytes(t_copy)"), 1, 16));
        }
    }

    @Test
    void bytesOfTwoDimensionalBufferIsCOrder() {
        MemorySegment seg = arena.allocate(JAVA_SHORT, 6);
        for (int i = 0; i < 6; i++) seg.setAtIndex(JAVA_SHORT, i, (short) (i + 1));
        try (JavaBuffer buf = export(BufferSpec.of(seg, "h").shape(3, 2).fortran())) {
            // column-major memory [1..6] is the matrix [[1,4],[2,5],[3,6]]; bytes() copies it row by row
            assertEquals("[1, 4, 2, 5, 3, 6]", str("list(array.array('h', bytes(t_buf)))"));
        }
    }

    @Test
    void arrayFrombytesCopiesJavaValues() {
        MemorySegment seg = arena.allocate(JAVA_INT, 5);
        for (int i = 0; i < 5; i++) seg.setAtIndex(JAVA_INT, i, i * -1000);
        try (JavaBuffer buf = export(BufferSpec.of(seg, "B"))) {
            py.exec("t_a = array.array('i')\nt_a.frombytes(t_buf)");
            assertEquals("[0, -1000, -2000, -3000, -4000]", str("t_a.tolist()"));
            seg.setAtIndex(JAVA_INT, 0, 1);
            assertEquals(0, asLong("t_a[0]"), "frombytes copied");
        }
    }

    @Test
    void arrayFrombytesRefusesTypedItemsLikeForArrays() {
        // array.frombytes wants itemsize 1; a SIMPLE request keeps the true itemsize (as _testbuffer
        // and array.array itself do), so a typed export is refused the same way an 'i' array is
        MemorySegment seg = arena.allocate(JAVA_INT, 2);
        try (JavaBuffer buf = export(BufferSpec.of(seg, "i"))) {
            var ours = raises("array.array('i').frombytes(t_buf)");
            var theirs = raises("array.array('i').frombytes(array.array('i', [1, 2]))");
            assertEquals(theirs.pythonType(), ours.pythonType());
            assertEquals(theirs.pythonMessage(), ours.pythonMessage());
            assertEquals("[0, 0]", str("(lambda a: (a.frombytes(memoryview(t_buf).cast('B')), a.tolist())[1])(array.array('i'))"));
            assertEquals(0, buf.exportCount());
        }
    }

    @Test
    void memoryviewCastCopiedIntoArray() {
        MemorySegment seg = arena.allocate(JAVA_DOUBLE, 4);
        for (int i = 0; i < 4; i++) seg.setAtIndex(JAVA_DOUBLE, i, i / 4.0);
        try (JavaBuffer buf = export(BufferSpec.of(seg, "B"))) {
            assertEquals("[0.0, 0.25, 0.5, 0.75]", str("array.array('d', memoryview(t_buf).cast('d')).tolist()"));
        }
    }

    @Test
    void arrayContentsCopiedIntoJavaMemoryAreSeenByJava() {
        MemorySegment seg = arena.allocate(JAVA_LONG, 4);
        try (JavaBuffer buf = export(BufferSpec.of(seg, "q"))) {
            py.exec("t_m = memoryview(t_buf)\nt_m[:] = array.array('q', [5, -6, 1 << 62, 0])\nt_m.release()");
            assertArrayEquals(new long[]{5, -6, 1L << 62, 0}, seg.toArray(JAVA_LONG));
        }
    }

    @Test
    void bytesJoinAndFindWorkOnJavaMemory() {
        MemorySegment seg = arena.allocate(11);
        MemorySegment.copy("hello world".getBytes(), 0, seg, JAVA_BYTE, 0, 11);
        try (JavaBuffer buf = export(BufferSpec.of(seg, "B").readOnly())) {
            assertEquals("b'hello world!'", str("b''.join([t_buf, b'!'])"));
            assertEquals(6, asLong("bytes(t_buf).find(b'world')"));
            assertEquals("b'hello'", str("bytes(memoryview(t_buf)[:5])"));
        }
    }
}
