package dev.panamapy.internal;

import dev.panamapy.PythonStartupException;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Finds the Python executable to embed and loads its shared libpython into the process.
 *
 * <p>libpython is opened with {@code dlopen(path, RTLD_NOW | RTLD_GLOBAL)} before anything else:
 * C extension modules (numpy's {@code _multiarray_umath}) are not linked against libpython and
 * resolve {@code Py*} symbols from the global namespace, so without RTLD_GLOBAL they fail to
 * import with "undefined symbol". Then {@link System#load} registers the same (already open)
 * library with this class loader, which is where the jextract bindings look symbols up.
 */
public final class LibPython {

    private static final int RTLD_NOW = 0x2;
    private static final int RTLD_GLOBAL = 0x100;

    private LibPython() { }

    /**
     * The executable to embed: the explicit one if given, else the system property
     * {@code panamapy.python}, else the environment variable {@code PANAMAPY_PYTHON}, else
     * {@code python3} on PATH.
     */
    public static Path findExecutable(Path explicit) {
        if (explicit != null) return explicit;
        String prop = System.getProperty("panamapy.python");
        if (prop != null && !prop.isBlank()) return Path.of(prop);
        String env = System.getenv("PANAMAPY_PYTHON");
        if (env != null && !env.isBlank()) return Path.of(env);
        String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(java.io.File.pathSeparator)) {
                if (dir.isEmpty()) continue;
                Path candidate = Path.of(dir, "python3");
                if (Files.isExecutable(candidate)) return candidate;
            }
        }
        throw new PythonStartupException("no Python found: pass CPython.builder().python(path), set -Dpanamapy.python=... "
                + "or PANAMAPY_PYTHON, or put a python3 (CPython 3.9+ with a shared libpython) on PATH");
    }

    /** Loads libpython globally. Idempotent for the same path. */
    public static void load(Path libpython) {
        Linker linker = Linker.nativeLinker();
        MethodHandle dlopen = linker.downcallHandle(linker.defaultLookup().findOrThrow("dlopen"),
                FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT));
        MethodHandle dlerror = linker.downcallHandle(linker.defaultLookup().findOrThrow("dlerror"),
                FunctionDescriptor.of(ADDRESS));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment handle = (MemorySegment) dlopen.invokeExact(arena.allocateFrom(libpython.toString()),
                    RTLD_NOW | RTLD_GLOBAL);
            if (handle.equals(MemorySegment.NULL)) {
                MemorySegment err = (MemorySegment) dlerror.invokeExact();
                String why = err.equals(MemorySegment.NULL) ? "unknown error" : err.reinterpret(4096).getString(0);
                throw new PythonStartupException("cannot load " + libpython + ": " + why);
            }
        } catch (PythonStartupException e) {
            throw e;
        } catch (Throwable t) {
            throw new PythonStartupException("cannot load " + libpython + ": " + t, t);
        }
        System.load(libpython.toAbsolutePath().toString());
    }
}
