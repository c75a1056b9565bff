package dev.panamapy.nativetests.pil;

import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.nativetests.exporter.ExportFixture;
import dev.panamapy.testing.RequiresPythonPackage;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.panamapy.nativetests.exporter.PyCheck.*;
import static java.lang.foreign.ValueLayout.*;
import static org.junit.jupiter.api.Assertions.*;

/** PIL images over a Java RGBA raster: Image.frombuffer shares the memory, pixels match what Java wrote. */
@RequiresPythonPackage(value = "pillow", module = "PIL.Image")
class PilImageTest {

    static final int W = 37, H = 23;

    private final CPython py;
    @RegisterExtension
    final ExportFixture fx = new ExportFixture("PIL");
    private Arena arena;

    PilImageTest(CPython py) {
        this.py = py;
    }

    @BeforeEach
    void open() {
        arena = fx.arena();
        py.exec("from PIL import Image");
    }

    /** A W x H RGBA raster, row-major, pixel (x, y) = (x, y, x + y, 255 - x). */
    private MemorySegment rgba() {
        MemorySegment seg = arena.allocate((long) W * H * 4);
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                long p = ((long) y * W + x) * 4;
                seg.set(JAVA_BYTE, p, (byte) x);
                seg.set(JAVA_BYTE, p + 1, (byte) y);
                seg.set(JAVA_BYTE, p + 2, (byte) (x + y));
                seg.set(JAVA_BYTE, p + 3, (byte) (255 - x));
            }
        }
        return seg;
    }

    private JavaBuffer exportImage(BufferSpec spec) {
        JavaBuffer buf = fx.export(spec);
        py.exec("t_im = Image.frombuffer('RGBA', (%d, %d), t_buf, 'raw', 'RGBA', 0, 1)".formatted(W, H));
        return buf;
    }

    @Test
    void getpixelMatchesWhatJavaWrote() {
        exportImage(BufferSpec.of(rgba(), "B"));
        assertEquals("RGBA (37, 23)", str("f'{t_im.mode} {t_im.size}'"));
        for (int[] xy : new int[][]{{0, 0}, {1, 0}, {0, 1}, {36, 22}, {17, 9}}) {
            int x = xy[0], y = xy[1];
            assertEquals("(%d, %d, %d, %d)".formatted(x, y, x + y, 255 - x), str("t_im.getpixel((%d, %d))".formatted(x, y)));
        }
        assertTrue(isTrue("all(t_im.getpixel((x, y)) == (x, y, x + y, 255 - x) for x in range(%d) for y in range(%d))"
                .formatted(W, H)), "every pixel");
    }

    @Test
    void imageSharesJavaMemory() {
        MemorySegment seg = rgba();
        JavaBuffer buf = exportImage(BufferSpec.of(seg, "B"));
        assertEquals(1, buf.exportCount(), "the image holds a view: it maps the memory, not a copy");
        long p = (5L * W + 7) * 4;
        seg.set(JAVA_BYTE, p, (byte) 200);
        seg.set(JAVA_BYTE, p + 3, (byte) 1);
        assertEquals("(200, 5, 12, 1)", str("t_im.getpixel((7, 5))"), "Java's later write shows in the image");
        assertTrue(isTrue("t_im.readonly"), "PIL treats a mapped buffer as read-only (copy on write)");
    }

    @Test
    void pilCopyOnWriteLeavesJavaMemoryAlone() {
        MemorySegment seg = rgba();
        exportImage(BufferSpec.of(seg, "B"));
        py.exec("t_im.putpixel((0, 0), (9, 8, 7, 6))");
        assertEquals("(9, 8, 7, 6)", str("t_im.getpixel((0, 0))"));
        assertEquals(0, seg.get(JAVA_BYTE, 0), "PIL copied before writing: Java memory unchanged");
        assertEquals(-1, seg.get(JAVA_BYTE, 3));
    }

    @Test
    void pilImageDataIsReadByJavaThroughTheExport() {
        MemorySegment seg = rgba();
        exportImage(BufferSpec.of(seg, "B").readOnly());
        assertArrayEquals(seg.toArray(JAVA_BYTE), bytes("t_im.tobytes()"));
        assertEquals("(0, 0, 0, 219)", str("t_im.getextrema()[0][0], t_im.getextrema()[1][0], t_im.getextrema()[2][0], t_im.getextrema()[3][0]"));
    }

    @Test
    void pixelsWrittenByPythonIntoAnotherJavaRasterAreSeenByJava() {
        MemorySegment src = rgba();
        MemorySegment dst = arena.allocate((long) W * H * 4);
        exportImage(BufferSpec.of(src, "B"));
        JavaBuffer out = py.export(BufferSpec.of(dst, "B"));
        fx.track(out);
        py.setGlobal("t_out", out);
        // PIL renders into Python memory; memoryview copies the result into Java's raster
        py.exec("t_m = memoryview(t_out)\nt_m[:] = t_im.transpose(Image.Transpose.FLIP_LEFT_RIGHT if hasattr(Image, 'Transpose') "
                + "else Image.FLIP_LEFT_RIGHT).tobytes()\nt_m.release()");
        long p = (3L * W + (W - 1 - 4)) * 4;       // flipped (4, 3)
        assertEquals(4, dst.get(JAVA_BYTE, p));
        assertEquals(3, dst.get(JAVA_BYTE, p + 1));
        assertEquals(7, dst.get(JAVA_BYTE, p + 2));
        assertEquals((byte) (255 - 4), dst.get(JAVA_BYTE, p + 3));
    }
}
