package dev.panamapy.internal;

import dev.panamapy.PythonStartupException;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * What a Python executable says about itself, asked once by running {@code probe.py} (beside this
 * class; the scripts run the same file): its implementation, version, shared libpython and
 * whether it is a free-threaded build. {@link SupportRules} decides from this whether it can be
 * embedded. The embedded interpreter finds its prefix and {@code sys.path} (a venv's
 * site-packages included) itself, from {@link #sysExecutable()} given as the program name.
 */
public record PythonInstallation(
        Path executable,        // as given or found
        String implementation,  // "cpython"
        int major, int minor,
        String version,         // "3.11.7"
        String sysExecutable,
        boolean shared,         // Py_ENABLE_SHARED
        boolean gilDisabled,    // Py_GIL_DISABLED: a free-threaded build (3.13t)
        String libdir,          // LIBDIR
        Path libpython) {       // null when not found in LIBDIR

    private static final String PROBE = readProbe();

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
        return parse(executable, out);
    }

    /** The installation described by {@code probe.py}'s output (one "key TAB value" a line). */
    static PythonInstallation parse(Path executable, String out) {
        String impl = "", version = "", exe = "", libdir = "", lib = "";
        boolean shared = false, gilDisabled = false;
        for (String line : out.split("\n")) {
            int tab = line.indexOf('\t');
            if (tab < 0) continue;
            String k = line.substring(0, tab), v = line.substring(tab + 1);
            switch (k) {
                case "impl" -> impl = v;
                case "version" -> version = v;
                case "executable" -> exe = v;
                case "shared" -> shared = v.equals("1");
                case "gil_disabled" -> gilDisabled = v.equals("1");
                case "libdir" -> libdir = v;
                case "libpython" -> lib = v;
                default -> { }
            }
        }
        String[] parts = version.split("\\.");
        if (parts.length < 2) {
            throw new PythonStartupException(executable + " answered the probe without a version: " + abbreviate(out));
        }
        int major = Integer.parseInt(parts[0]), minor = Integer.parseInt(parts[1]);
        return new PythonInstallation(executable, impl, major, minor, version, exe, shared, gilDisabled,
                libdir, lib.isEmpty() ? null : Path.of(lib));
    }

    /**
     * Checks that this Python can be embedded in this JVM ({@link SupportRules}).
     *
     * @throws PythonStartupException saying what is wrong and what to do
     */
    public PythonInstallation requireEmbeddable() {
        SupportRules.requireJdk(Runtime.version());
        Optional<String> why = SupportRules.refusal(this);
        if (why.isPresent()) {
            throw new PythonStartupException("Python " + version + " at " + executable + " " + why.get());
        }
        return this;
    }

    private static String readProbe() {
        try (InputStream in = PythonInstallation.class.getResourceAsStream("probe.py")) {
            if (in == null) throw new IllegalStateException("probe.py is missing from the panamapy-bridge jar");
            return readAll(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read probe.py from the panamapy-bridge jar", e);
        }
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
