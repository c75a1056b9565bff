package dev.panamapy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 15 class 2: a spec over read-only memory is read-only from the start, no step makes it
 * writable, and asking for {@code readOnly(false)} says why, for BufferSpec and HarnessSpec alike.
 */
class ReadOnlySpecTest {

    private static void assertRefusesWritable(BufferLayout spec) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> {
            BufferLayout writable = switch (spec) {
                case BufferSpec s -> s.readOnly(false);
                case HarnessSpec h -> h.readOnly(false);
            };
        });
        assertTrue(e.getMessage().contains("the memory is read-only"), e.getMessage());
        assertTrue(e.getMessage().contains("cannot be writable"), e.getMessage());
    }

    @Test
    void aReadOnlySegmentMakesAReadOnlySpec() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ro = a.allocate(64).asReadOnly();
            BufferSpec s = BufferSpec.of(ro, "d");
            assertTrue(s.isReadOnly());
            assertTrue(s.toString().contains("read-only"), s.toString());
            assertRefusesWritable(s);
            assertTrue(s.readOnly(true).isReadOnly());
        }
    }

    @Test
    void aHarnessSpecOverReadOnlyMemoryIsReadOnlyToo() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ro = a.allocate(64).asReadOnly();
            assertTrue(HarnessSpec.of(ro, "d").isReadOnly());
            assertRefusesWritable(HarnessSpec.of(ro, "d"));
            assertTrue(HarnessSpec.from(BufferSpec.of(ro, "d")).isReadOnly());
            assertRefusesWritable(HarnessSpec.from(BufferSpec.of(ro, "d")));
        }
    }

    @Test
    void noStepMakesAReadOnlySpecWritable() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ro = a.allocate(64).asReadOnly();
            List<UnaryOperator<BufferSpec>> steps = List.of(
                    s -> s.shape(2, 4), s -> s.shape(2, 4).fortran(), s -> s.shape(2, 4).cOrder(), s -> s.scalar(),
                    s -> s.shape(4).strides(16), s -> s.offset(8).shape(7), s -> s.layout(56, new long[]{8}, new long[]{-8}),
                    s -> s.readOnly());
            for (UnaryOperator<BufferSpec> step : steps) {
                BufferSpec s = step.apply(BufferSpec.of(ro, "d"));
                assertTrue(s.isReadOnly(), s.toString());
                assertRefusesWritable(s);
            }
            List<UnaryOperator<HarnessSpec>> harnessSteps = List.of(
                    s -> s.shape(2, 4), s -> s.shape(2, 4).fortran(), s -> s.scalar(), s -> s.offset(8).shape(7),
                    s -> s.readOnly(), s -> s.refusing(1, "no"), s -> s, s -> s.len(8), s -> s.itemsize(4),
                    s -> s.nullShape(), s -> s.nullStrides(), s -> s.suboffsets(-1));
            for (UnaryOperator<HarnessSpec> step : harnessSteps) {
                HarnessSpec s = step.apply(HarnessSpec.from(BufferSpec.of(ro, "d")));
                assertTrue(s.isReadOnly(), s.toString());
                assertRefusesWritable(s);
            }
        }
    }

    @Test
    void aWritableSegmentStaysWritableByDefault() {
        try (Arena a = Arena.ofConfined()) {
            BufferSpec s = BufferSpec.of(a.allocate(64), "d");
            assertFalse(s.isReadOnly());
            assertTrue(s.readOnly().isReadOnly());
            assertFalse(s.readOnly().readOnly(false).isReadOnly(), "writable memory may be made writable again");
        }
    }

    @Test
    void aReadOnlyFileMappingMakesAReadOnlySpec(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("data.bin");
        Files.write(file, new byte[]{1, 2, 3, 4, 5, 6, 7, 8});
        try (Arena a = Arena.ofConfined();
             FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, 8, a);
            assertTrue(mapped.isReadOnly());
            BufferSpec s = BufferSpec.of(mapped, "B");
            assertTrue(s.isReadOnly());
            assertRefusesWritable(s);
            assertRefusesWritable(HarnessSpec.of(mapped, "B"));
        }
    }

    @Test
    void aReadOnlyDirectBufferMakesAReadOnlySpec() {
        MemorySegment seg = MemorySegment.ofBuffer(ByteBuffer.allocateDirect(16).asReadOnlyBuffer());
        BufferSpec s = BufferSpec.of(seg, "B");
        assertTrue(s.isReadOnly());
        assertRefusesWritable(s);
    }

    @Test
    void anIndirectSpecOverReadOnlyDataIsReadOnly() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment ro = a.allocate(48).asReadOnly();
            BufferSpec s = BufferSpec.indirect(ro, "i", 3, 4);
            assertTrue(s.isReadOnly());
            assertRefusesWritable(s);
            assertFalse(BufferSpec.indirect(a.allocate(48), "i", 3, 4).isReadOnly());
        }
    }
}
