package dev.panamapy.spark;

import java.io.Serial;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;

/**
 * The Python function a Spark job runs: source text shipped with the job, or a
 * {@code module:function} importable on every executor's Python. Immutable and serializable
 * (it travels to the executors inside the tasks); each executor JVM loads it once into its
 * embedded CPython and reuses it for every task.
 *
 * <pre>{@code
 * PythonFunction plusOne = PythonFunction.fromSource("""
 *         import pyarrow.compute as pc
 *         def plus_one(x):
 *             return pc.add(x, 1)
 *         """, "plus_one");
 * PythonFunction scorer = PythonFunction.fromModule("mymodels.scoring:score_batches");
 * }</pre>
 */
public final class PythonFunction implements Serializable {

    @Serial
    private static final long serialVersionUID = 1L;

    private final String kind;   // "source" or "module", as worker.py's load() takes them
    private final String text;   // the source, or "module:function"
    private final String name;   // the function's name (for messages and, for source, the name to call)
    private final String key;    // one loaded function per key per interpreter

    private PythonFunction(String kind, String text, String name) {
        this.kind = kind;
        this.text = text;
        this.name = name;
        this.key = kind + ":" + name + ":" + sha256(text);
    }

    /**
     * A function defined by Python source text: the text is run once per executor JVM in a
     * fresh namespace (imports at its top are fine) and {@code functionName} is taken from it.
     *
     * @param source       Python statements that define {@code functionName}
     * @param functionName the name of the function to call, a Python identifier
     * @throws IllegalArgumentException if {@code functionName} is not a Python identifier, or the
     *                                  source is blank or contains a NUL character
     * @throws NullPointerException     if an argument is null
     */
    public static PythonFunction fromSource(String source, String functionName) {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(functionName, "functionName");
        if (source.isBlank()) throw new IllegalArgumentException("the Python source is empty: it must define " + functionName);
        if (source.indexOf('\0') >= 0) throw new IllegalArgumentException("the Python source contains a NUL character");
        requireIdentifier(functionName, "functionName");
        return new PythonFunction("source", source, functionName);
    }

    /**
     * A function importable on the executors, named {@code "package.module:function"} (the
     * part after the colon may be dotted, {@code "module:Class.method"}). The module must be
     * installed in the Python every executor embeds ({@code spark.panamapy.python}).
     *
     * @param spec {@code module:function}
     * @throws IllegalArgumentException if {@code spec} is not of that form
     * @throws NullPointerException     if {@code spec} is null
     */
    public static PythonFunction fromModule(String spec) {
        Objects.requireNonNull(spec, "spec");
        int colon = spec.indexOf(':');
        if (colon <= 0 || colon == spec.length() - 1 || spec.indexOf(':', colon + 1) >= 0) {
            throw new IllegalArgumentException("'" + spec + "' is not of the form module:function (e.g. mypackage.udfs:plus_one)");
        }
        for (String part : spec.substring(0, colon).split("\\.", -1)) requireIdentifier(part, "module name in '" + spec + "'");
        for (String part : spec.substring(colon + 1).split("\\.", -1)) requireIdentifier(part, "function name in '" + spec + "'");
        return new PythonFunction("module", spec, spec);
    }

    /** The function's name: the {@code functionName} given, or the {@code module:function} spec. */
    public String name() { return name; }

    /** How it is loaded: {@code "source"} ({@link #fromSource}) or {@code "module"} ({@link #fromModule}). */
    public String kind() { return kind; }

    /** The source text, or the {@code module:function} spec. */
    public String text() { return text; }

    /**
     * What identifies the loaded function in an executor's interpreter: kind, name and a SHA-256
     * of the text (two functions with the same key are the same function).
     */
    public String key() { return key; }

    @Override
    public boolean equals(Object o) {
        return o instanceof PythonFunction f && f.key.equals(key) && f.text.equals(text);
    }

    @Override
    public int hashCode() { return key.hashCode(); }

    @Override
    public String toString() {
        return "PythonFunction[" + name + ("source".equals(kind) ? " from source" : "") + "]";
    }

    private static void requireIdentifier(String s, String what) {
        boolean ok = !s.isEmpty() && (Character.isLetter(s.codePointAt(0)) || s.charAt(0) == '_')
                && s.codePoints().allMatch(c -> Character.isLetterOrDigit(c) || c == '_');
        if (!ok) throw new IllegalArgumentException(what + " '" + s + "' is not a Python identifier");
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("every JDK has SHA-256", e);
        }
    }
}
