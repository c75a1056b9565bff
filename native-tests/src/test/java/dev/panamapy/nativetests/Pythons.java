package dev.panamapy.nativetests;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Where the Pythons are, found the way the library and the scripts find them, never from a
 * path written into a test: {@link #underTest()} for tests that start (and close) an
 * interpreter of their own instead of the shared {@code @PythonTest} one, {@link #onThisMachine()}
 * for tests that need some other version (a too-old one to be refused).
 */
public final class Pythons {
    private Pythons() { }

    /** One CPython found on this machine: its full version ("3.8.18") and executable. */
    public record Found(String version, Path executable) {
        /** The major.minor part, "3.8". */
        public String minor() {
            return version.replaceFirst("^(\\d+\\.\\d+).*", "$1");
        }
    }

    private static List<Found> found; // guarded by Pythons.class

    /**
     * The Python executable these tests embed, chosen as {@code CPython.start()} chooses it: the
     * system property {@code panamapy.python}, else the environment variable
     * {@code PANAMAPY_PYTHON}, else {@code python3} on the PATH.
     *
     * @throws IllegalStateException if none of them names one
     */
    public static Path underTest() {
        for (String p : new String[]{System.getProperty("panamapy.python"), System.getenv("PANAMAPY_PYTHON")}) {
            if (p != null && !p.isBlank()) return Path.of(p);
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            Path c = Path.of(dir, "python3");
            if (!dir.isEmpty() && Files.isExecutable(c)) return c;
        }
        throw new IllegalStateException("no Python to test: set -Dpanamapy.python, PANAMAPY_PYTHON, or put python3 on PATH");
    }

    /**
     * Every CPython on this machine, one per major.minor, oldest first, as the scripts see them
     * ({@code find_pythons} in {@code scripts/lib/common.sh}: pyenv's versions, then
     * {@code python3.X}/{@code python3}/{@code python2} on the PATH); empty if this is not run
     * from a checkout with {@code scripts/}.
     */
    public static synchronized List<Found> onThisMachine() {
        if (found == null) found = List.copyOf(discover());
        return found;
    }

    /** The Python of this major.minor ("3.8", "2.7") on this machine, if any. */
    public static Optional<Found> version(String minor) {
        return onThisMachine().stream().filter(f -> f.minor().equals(minor)).findFirst();
    }

    /** The checkout's root (the folder with {@code scripts/lib/common.sh}) above the working directory, if any. */
    public static Optional<Path> repoRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("scripts/lib/common.sh"))) p = p.getParent();
        return Optional.ofNullable(p);
    }

    private static List<Found> discover() {
        Optional<Path> root = repoRoot();
        if (root.isEmpty()) return List.of();
        List<Found> list = new ArrayList<>();
        try {
            Process p = new ProcessBuilder("bash", "-c", ". scripts/lib/common.sh && find_pythons")
                    .directory(root.get().toFile()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("scripts/lib/common.sh find_pythons did not finish within 120 s");
            }
            for (String line : out.split("\n")) {
                String[] f = line.split("\t", 2);
                if (f.length == 2) list.add(new Found(f[0], Path.of(f[1])));
            }
        } catch (IOException e) {
            throw new IllegalStateException("could not run scripts/lib/common.sh find_pythons", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while finding Pythons", e);
        }
        return list;
    }
}
