package dev.panamapy.nativetests.safety;

import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PyObject;
import dev.panamapy.testing.PythonRunner;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Map;

/**
 * Child JVM of {@link ReadOnlyExportTest}: exports a {@code READ_ONLY} file mapping, where a
 * write is SIGSEGV, and has Python try every way to write to it (DLPack included: torch ignores
 * the tensor's read-only flag). Prints one line per attempt;
 * exits 0 only if every write was refused and the file is unchanged.
 */
public final class ReadOnlyMappingMain {
    private ReadOnlyMappingMain() { }

    private static final String ATTEMPTS = """
            import ctypes, struct
            out = []
            m = memoryview(b)
            out.append('memoryview readonly: %s' % m.readonly)
            try:
                m[0] = 99
                out.append('memoryview write: WROTE')
            except TypeError as e:
                out.append('memoryview write: TypeError %s' % e)
            try:
                struct.pack_into('B', b, 0, 99)
                out.append('pack_into: WROTE')
            except (BufferError, TypeError) as e:
                out.append('pack_into: refused %s: %s' % (type(e).__name__, e))
            try:
                (ctypes.c_char * 8).from_buffer(b)
                out.append('ctypes.from_buffer: WROTE')
            except (BufferError, TypeError) as e:
                out.append('ctypes.from_buffer: refused %s: %s' % (type(e).__name__, e))
            try:
                import numpy as np
            except ImportError:
                out.append('numpy: not importable, skipped')
            else:
                a = np.frombuffer(b, dtype='u1')
                try:
                    a[0] = 99
                    out.append('numpy: WROTE')
                except ValueError as e:
                    try:
                        a.flags.writeable = True
                        out.append('numpy: made writeable')
                    except ValueError:
                        out.append('numpy: refused, writeable=%s' % a.flags.writeable)
                del a
            try:
                b.__dlpack__(max_version=(1, 0))
                out.append('__dlpack__: EXPORTED')
            except BufferError as e:
                out.append('__dlpack__: refused BufferError')
            try:
                import torch
            except ImportError:
                out.append('torch: not importable, skipped')
            else:
                try:
                    t = torch.from_dlpack(b)
                except BufferError:
                    out.append('torch.from_dlpack: refused BufferError')
                else:
                    t[0] = 99                               # a READ_ONLY mapping: SIGSEGV
                    out.append('torch.from_dlpack: WROTE')
            m.release()
            result = '\\n'.join(out)
            """;

    public static void main(String[] args) throws Exception {
        Path file = Files.createTempFile("panamapy-ro", ".bin");
        byte[] content = {1, 2, 3, 4, 5, 6, 7, 8};
        Files.write(file, content);
        CPython py = CPython.start();
        boolean ok;
        try (Arena arena = Arena.ofShared(); FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            MemorySegment mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, content.length, arena);
            BufferSpec spec = BufferSpec.of(mapped, "B");
            System.out.println("spec read-only: " + spec.isReadOnly());
            String result;
            try (JavaBuffer b = py.export(spec);
                 PyObject ns = PythonRunner.run(py, ATTEMPTS, Map.of("b", b));
                 PyObject r = ns.getItem("result")) {
                result = r.asString();
            }
            System.out.println(result);
            py.exec("import gc; gc.collect()");
            ok = spec.isReadOnly() && !result.contains("WROTE") && !result.contains("made writeable")
                    && !result.contains("EXPORTED");
        }
        boolean unchanged = Arrays.equals(content, Files.readAllBytes(file));
        System.out.println("file unchanged: " + unchanged);
        Files.delete(file);
        System.out.flush();
        System.exit(ok && unchanged ? 0 : 1);
    }
}
