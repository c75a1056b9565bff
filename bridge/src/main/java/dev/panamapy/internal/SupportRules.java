package dev.panamapy.internal;

import dev.panamapy.PythonStartupException;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What panamapy can embed, and the words it uses to refuse the rest. The floors and the messages
 * live in {@code support.properties} beside this class, which {@code scripts/lib/common.sh} reads
 * too: the library and the scripts refuse the same Pythons and JDKs with the same sentence.
 */
public final class SupportRules {

    private static final Properties RULES = load();

    /** The first JDK feature release panamapy runs on. */
    public static final int MIN_JDK = Integer.parseInt(get("jdk.min"));
    /** The first CPython minor version of 3.x panamapy embeds. */
    public static final int MIN_PYTHON_MINOR = parseMinor(get("python.min"));

    private static final Pattern PLACEHOLDER = Pattern.compile("\\{([a-z.]+)\\}");

    private SupportRules() { }

    /**
     * Why this Python cannot be embedded, in the words {@code support.properties} gives (the
     * sentence follows "Python 3.8.18 at /path/to/python "), or empty if it can.
     * The rules are checked in the scripts' order: not CPython, too old, free-threaded, no shared
     * libpython, shared libpython missing.
     */
    public static Optional<String> refusal(PythonInstallation p) {
        Map<String, String> facts = Map.of(
                "version", p.version(),
                "impl", p.implementation(),
                "minor", Integer.toString(p.minor()),
                "libdir", p.libdir());
        String rule;
        if (!p.implementation().equals("cpython")) rule = "refuse.not-cpython";
        else if (p.major() < 3 || (p.major() == 3 && p.minor() < MIN_PYTHON_MINOR)) rule = "refuse.too-old";
        else if (p.gilDisabled()) rule = "refuse.free-threaded";
        else if (!p.shared()) rule = "refuse.not-shared";
        else if (p.libpython() == null) rule = "refuse.no-libpython";
        else return Optional.empty();
        return Optional.of(message(rule, facts));
    }

    /**
     * Refuses a JVM older than {@link #MIN_JDK}. In practice such a JVM cannot load panamapy's
     * classes at all (they are compiled with {@code --release 25} and fail with
     * {@link UnsupportedClassVersionError} first); this check states the rule where the library
     * starts, should the classes ever be compiled for an older release.
     *
     * @throws PythonStartupException if {@code running} is older than {@link #MIN_JDK}
     */
    public static void requireJdk(Runtime.Version running) {
        if (running.feature() < MIN_JDK) {
            throw new PythonStartupException(message("refuse.jdk-too-old", Map.of("jdk", running.toString())));
        }
    }

    /** The value of {@code key} in {@code support.properties}. */
    static String get(String key) {
        String v = RULES.getProperty(key);
        if (v == null) throw new IllegalStateException("support.properties has no " + key);
        return v.strip();
    }

    /** The message {@code key} with its {@code {name}} placeholders filled from {@code facts}, else from the file. */
    static String message(String key, Map<String, String> facts) {
        Matcher m = PLACEHOLDER.matcher(get(key));
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String name = m.group(1);
            String value = facts.containsKey(name) ? facts.get(name) : RULES.getProperty(name, m.group());
            m.appendReplacement(out, Matcher.quoteReplacement(value.strip()));
        }
        return m.appendTail(out).toString();
    }

    private static int parseMinor(String version) {
        String[] parts = version.split("\\.");
        if (parts.length != 2 || !parts[0].equals("3")) {
            throw new IllegalStateException("support.properties: python.min must be 3.X, not " + version);
        }
        return Integer.parseInt(parts[1]);
    }

    private static Properties load() {
        try (InputStream in = SupportRules.class.getResourceAsStream("support.properties")) {
            if (in == null) throw new IllegalStateException("support.properties is missing from the panamapy-bridge jar");
            Properties p = new Properties();
            try (Reader r = new InputStreamReader(in, StandardCharsets.UTF_8)) {
                p.load(r);
            }
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read support.properties from the panamapy-bridge jar", e);
        }
    }
}
