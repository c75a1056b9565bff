package dev.panamapy.internal;

import dev.panamapy.PythonStartupException;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What a Python executable says about itself, asked once by running it: its version, its shared
 * libpython, its prefixes and its {@code sys.path} (venv site-packages included). The embedded
 * interpreter is configured from this so that it sees what the executable sees.
 */
public record PythonInstallation(
        Path executable,        // as given or found
        String implementation,  // "cpython"
        int major, int minor, int micro,
        String version,         // "3.11.7"
        String sysExecutable,
        String prefix,
        String basePrefix,
        List<String> sysPath,   // without the script directory entry
        boolean shared,         // Py_ENABLE_SHARED
        Path libpython) {       // null when not shared or not found

    /** The first CPython whose PyType_FromSpec accepts the buffer slots. */
    public static final int MIN_MINOR = 9;

    // Runs on Python 2.7 too, so that an old Python gets a clear "too old" error.
    private static final String PROBE = String.join("\n",
            "import sys, os, sysconfig",
            "w = sys.stdout.write",
            "impl = getattr(sys, 'implementation', None)",
            "w('impl\\t%s\\n' % (impl.name if impl else 'cpython'))",
            "w('version\\t%d.%d.%d\\n' % tuple(sys.version_info[:3]))",
            "w('executable\\t%s\\n' % sys.executable)",
            "w('prefix\\t%s\\n' % sys.prefix)",
            "w('base_prefix\\t%s\\n' % getattr(sys, 'base_prefix', sys.prefix))",
            "v = sysconfig.get_config_var",
            "w('shared\\t%s\\n' % (v('Py_ENABLE_SHARED') or 0))",
            "w('libdir\\t%s\\n' % (v('LIBDIR') or ''))",
            "w('instsoname\\t%s\\n' % (v('INSTSONAME') or ''))",
            "w('ldlibrary\\t%s\\n' % (v('LDLIBRARY') or ''))",
            "for p in sys.path[1:]:",
            "    w('path\\t%s\\n' % p)",
            "w('end\\tpanamapy-probe\\n')",
            "");

    /**
     * Runs the executable once and reads what it says.
     *
     * @throws PythonStartupException if it cannot be run or is not a Python
     */
    public static PythonInstallation probe(Path executable) {
        if (!Files.exists(executable)) {
            throw new PythonStartupException("Python executable " + executable + " does not exist; "
                    + "pass CPython.builder().python(path), -Dpanamapy.python=..., PANAMAPY_PYTHON, or put python3 on PATH");
        }
        String out;
        int exit;
        try {
            Process p = new ProcessBuilder(executable.toString(), "-c", PROBE)
                    .redirectErrorStream(true).start();
            p.getOutputStream().close();
            out = readAll(p.getInputStream());
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new PythonStartupException(executable + " did not answer within 60 s; is it a Python interpreter?");
            }
            exit = p.exitValue();
        } catch (IOException e) {
            throw new PythonStartupException(executable + " cannot be run (" + e.getMessage()
                    + "); it must be a CPython executable such as /usr/bin/python3", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PythonStartupException("interrupted while asking " + executable + " about itself", e);
        }
        if (exit != 0 || !out.contains("end\tpanamapy-probe")) {
            throw new PythonStartupException(executable + " is not a Python interpreter: running it with -c "
                    + "exited " + exit + " and printed: " + abbreviate(out));
        }
        String impl = "", version = "", exe = "", prefix = "", base = "", libdir = "", soname = "", ldlib = "";
        boolean shared = false;
        List<String> path = new ArrayList<>();
        for (String line : out.split("\n")) {
            int tab = line.indexOf('\t');
            if (tab < 0) continue;
            String k = line.substring(0, tab), v = line.substring(tab + 1);
            switch (k) {
                case "impl" -> impl = v;
                case "version" -> version = v;
                case "executable" -> exe = v;
                case "prefix" -> prefix = v;
                case "base_prefix" -> base = v;
                case "shared" -> shared = !v.equals("0") && !v.isEmpty();
                case "libdir" -> libdir = v;
                case "instsoname" -> soname = v;
                case "ldlibrary" -> ldlib = v;
                case "path" -> path.add(v);
                default -> { }
            }
        }
        String[] parts = version.split("\\.");
        int major = Integer.parseInt(parts[0]), minor = Integer.parseInt(parts[1]), micro = Integer.parseInt(parts[2]);
        Path lib = null;
        if (shared && !libdir.isEmpty()) {
            for (String name : new String[]{soname, ldlib}) {
                if (name.isEmpty()) continue;
                Path candidate = Path.of(libdir, name);
                if (Files.exists(candidate)) { lib = candidate; break; }
            }
        }
        return new PythonInstallation(executable, impl, major, minor, micro, version, exe, prefix, base,
                List.copyOf(path), shared, lib);
    }

    /**
     * Checks that this Python can be embedded.
     *
     * @throws PythonStartupException saying what is wrong and what to do
     */
    public PythonInstallation requireEmbeddable() {
        if (!implementation.equals("cpython")) {
            throw new PythonStartupException(executable + " is " + implementation + " " + version
                    + ", not CPython; panamapy embeds CPython 3." + MIN_MINOR + " or newer");
        }
        if (major < 3 || (major == 3 && minor < MIN_MINOR)) {
            throw new PythonStartupException("Python " + version + " at " + executable + " is too old: panamapy needs "
                    + "CPython 3." + MIN_MINOR + " or newer (buffer slots can be set through PyType_FromSpec only "
                    + "from 3.9 on); point panamapy at a newer python3");
        }
        if (!shared) {
            throw new PythonStartupException("Python " + version + " at " + executable + " has no shared libpython "
                    + "(it was built without --enable-shared), so it cannot be loaded into the JVM; use a Python built "
                    + "with --enable-shared (pyenv: PYTHON_CONFIGURE_OPTS=--enable-shared pyenv install "
                    + version + "; Debian: the libpython3.X package)");
        }
        if (libpython == null) {
            throw new PythonStartupException("Python " + version + " at " + executable + " says it has a shared "
                    + "libpython but it is not in its LIBDIR; reinstall it, or install the libpython3." + minor + " package");
        }
        return this;
    }

    private static String readAll(InputStream in) throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        in.transferTo(b);
        return b.toString(StandardCharsets.UTF_8);
    }

    private static String abbreviate(String s) {
        String t = s.strip();
        return t.isEmpty() ? "(nothing)" : t.length() > 400 ? t.substring(0, 400) + "..." : t;
    }
}
