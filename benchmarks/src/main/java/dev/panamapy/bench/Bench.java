package dev.panamapy.bench;

import dev.panamapy.BufferRequest;
import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PyBufferView;
import dev.panamapy.PyObject;

import java.io.File;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The benchmark run behind {@code scripts/bench}: every figure is a ratio against a baseline
 * measured in the same run, each side the median of several repetitions (with min and max).
 * Python-side figures are timed inside the embedded interpreter with {@code timeit.repeat};
 * Java-side ones with {@code System.nanoTime} after a warm-up. Writes results.json, results.md
 * and zero-copy-vs-copy.png into the output directory.
 *
 * <pre>java --enable-native-access=ALL-UNNAMED -Dpanamapy.python=... dev.panamapy.bench.Bench [--quick] [--out DIR]</pre>
 */
public final class Bench {

    /** One measured quantity: per-operation time in ns (or throughput), median of runs. */
    record Stat(double median, double min, double max, int runs) {
        static Stat of(double[] samples) {
            double[] s = samples.clone();
            Arrays.sort(s);
            double med = s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
            return new Stat(med, s[0], s[s.length - 1], s.length);
        }
        String show(String unit) {
            return String.format(Locale.ROOT, "%s %s (%s-%s, n=%d)", fmt(median), unit, fmt(min), fmt(max), runs);
        }
    }

    /** A figure: ours against a baseline, the ratio and the goal. */
    record Figure(String id, String title, String unit, Stat ours, String oursLabel, Stat base, String baseLabel,
                  double ratio, String ratioMeaning, String goal, Boolean met) { }

    private final CPython py;
    private final boolean quick;
    private final List<Figure> figures = new ArrayList<>();
    private final List<double[]> curve = new ArrayList<>();   // bytes, export ns, copy ns

    private Bench(CPython py, boolean quick) {
        this.py = py;
        this.quick = quick;
    }

    public static void main(String[] args) throws IOException {
        boolean quick = false;
        Path out = Path.of("target", "bench");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> quick = true;
                case "--out" -> out = Path.of(args[++i]);
                default -> {
                    System.err.println("usage: Bench [--quick] [--out DIR]");
                    System.exit(2);
                }
            }
        }
        Files.createDirectories(out);
        long t0 = System.nanoTime();
        try (CPython py = CPython.start()) {
            try (PyObject np = py.importModule("numpy")) {
                System.out.println("CPython " + py.version() + " (" + py.executable() + "), numpy " + np.getAttr("__version__"));
            } catch (dev.panamapy.PythonException e) {
                System.err.println("numpy is not installed for " + py.executable() + ": pip install numpy");
                System.exit(1);
            }
            Bench b = new Bench(py, quick);
            b.run();
            Report.write(out, py, b.figures, b.curve, quick, (System.nanoTime() - t0) / 1e9);
        }
        System.out.printf(Locale.ROOT, "done in %.0f s; results in %s%n", (System.nanoTime() - t0) / 1e9, out);
    }

    private void run() {
        warmUp();
        py.exec("""
                import timeit, gc
                import numpy as np
                def per_op_ns(stmt, g, number, repeat):
                    return [t / number * 1e9 for t in timeit.repeat(stmt, globals=g, number=number, repeat=repeat)]
                """);
        exportCost();
        sizeIndependence();
        throughputInPlace();
        zeroCopyVsCopy();
        callOverhead();
        javaReadsPythonMemory();
        callbacks();
        NewBufferBench.measure(this, py, quick);
        jep();
    }

    /** Runs the bridge's hot paths for a while first, so the JIT has compiled them before anything is timed. */
    private void warmUp() {
        long until = System.nanoTime() + (quick ? 1_000_000_000L : 5_000_000_000L);
        try (Arena arena = py.arena()) {
            MemorySegment seg = arena.allocate(64);
            try (JavaBuffer t = py.export(BufferSpec.of(seg, "B"));
                 JavaBuffer u = py.exportUntracked(BufferSpec.of(seg, "B"));
                 PyObject f = py.eval("lambda x: x");
                 PyObject jf = py.function("warm", args -> args[0])) {
                py.setGlobal("_wt", t);
                py.setGlobal("_wu", u);
                py.setGlobal("_jf", jf);
                py.exec("import numpy as _np");
                try (PyObject frombuffer = py.eval("_np.frombuffer")) {
                    while (System.nanoTime() < until) {
                        py.exec("for _ in range(20000):\n    memoryview(_wt).release(); memoryview(_wu).release(); _jf(1)");
                        for (int i = 0; i < 20_000; i++) f.call(1L).close();
                        for (int i = 0; i < 2_000; i++) {
                            try (JavaBuffer jb = py.export(BufferSpec.of(seg, "B")); PyObject a = frombuffer.call(jb)) {
                                if (a.isNone()) throw new AssertionError();
                            }
                        }
                    }
                }
                py.exec("del _wt, _wu, _jf");
            }
        }
    }

    // ---- 1. export cost ------------------------------------------------------------------------

    private void exportCost() {
        int number = quick ? 20_000 : 300_000, repeat = quick ? 3 : 9;
        try (Arena arena = py.arena()) {
            MemorySegment seg = arena.allocate(4096, 64);
            try (JavaBuffer untracked = py.exportUntracked(BufferSpec.of(seg, "B"));
                 JavaBuffer tracked = py.export(BufferSpec.of(seg, "B"));
                 JavaBuffer listened = py.export(BufferSpec.of(seg, "B"))) {
                int[] seen = new int[1];
                listened.onRelease(left -> seen[0]++);
                py.setGlobal("u", untracked);
                py.setGlobal("t", tracked);
                py.setGlobal("l", listened);
                py.exec("ba = bytearray(4096)");
                Stat[] st = pyTimeInterleaved(number, repeat, "memoryview(ba).release()", "memoryview(u).release()",
                        "memoryview(t).release()", "memoryview(l).release()");
                Stat ba = st[0], u = st[1], t = st[2], l = st[3];
                add("export-no-release", "memoryview(x).release(), 4 KiB: JavaBuffer without release upcall vs bytearray",
                        "ns/op", u, "JavaBuffer (exportUntracked)", ba, "bytearray", u.median / ba.median,
                        "time ratio (lower is better)", "<= 1.25", u.median / ba.median <= 1.25);
                add("export-tracked", "memoryview(x).release(), 4 KiB: tracked JavaBuffer (release upcall, no listener) vs bytearray",
                        "ns/op", t, "JavaBuffer (export)", ba, "bytearray", t.median / ba.median,
                        "time ratio (lower is better)", "<= 1.6", t.median / ba.median <= 1.6);
                add("export-listener", "memoryview(x).release(), 4 KiB: tracked JavaBuffer with a release listener vs bytearray",
                        "ns/op", l, "JavaBuffer (export + onRelease)", ba, "bytearray", l.median / ba.median,
                        "time ratio (lower is better)", "<= 1.6", l.median / ba.median <= 1.6);
                py.exec("del u, t, l, ba");
            }
        }
    }

    // ---- 2. independent of size ------------------------------------------------------------------

    private void sizeIndependence() {
        int number = quick ? 20_000 : 300_000, repeat = quick ? 3 : 9;
        long big = quick ? 64L << 20 : 1L << 30;
        try (Arena arena = py.arena()) {
            MemorySegment small = arena.allocate(16, 16);
            MemorySegment large = arena.allocate(big, 4096);
            for (boolean tracked : new boolean[]{false, true}) {
                try (JavaBuffer s = tracked ? py.export(BufferSpec.of(small, "B")) : py.exportUntracked(BufferSpec.of(small, "B"));
                     JavaBuffer l = tracked ? py.export(BufferSpec.of(large, "B")) : py.exportUntracked(BufferSpec.of(large, "B"))) {
                    py.setGlobal("s", s);
                    py.setGlobal("L", l);
                    Stat[] st = pyTimeInterleaved(number, repeat, "memoryview(s).release()", "memoryview(L).release()");
                    Stat ss = st[0], ll = st[1];
                    double r = ll.median / ss.median;
                    add(tracked ? "size-tracked" : "size-untracked",
                            "memoryview(x).release(): " + human(big) + " vs 16 B JavaBuffer" + (tracked ? " (tracked)" : " (untracked)"),
                            "ns/op", ll, human(big), ss, "16 B", r, "time ratio", "within 1.1 of 1",
                            Math.abs(r - 1) <= 0.1);
                    py.exec("del s, L");
                }
            }
        }
    }

    // ---- 3. throughput in place ----------------------------------------------------------------------

    private void throughputInPlace() {
        long bytes = quick ? 16L << 20 : 256L << 20;
        int repeat = quick ? 3 : 7;
        try (Arena arena = py.arena()) {
            MemorySegment seg = arena.allocate(bytes, 64);
            seg.fill((byte) 0);
            for (long i = 0; i < bytes / 8; i++) seg.setAtIndex(ValueLayout.JAVA_DOUBLE, i, 1.0);
            try (JavaBuffer jb = py.export(BufferSpec.of(seg, "d"))) {
                py.setGlobal("jb", jb);
                py.exec("a = np.asarray(jb)\nb = np.ones(" + bytes / 8 + ")\nassert a.sum() == b.sum()");
                Stat ours = pyTime("a.sum()", 3, repeat);
                Stat base = pyTime("b.sum()", 3, repeat);
                // throughput ratio: numpy-owned time / ours (1.0 = same speed)
                add("numpy-sum", "numpy.sum over " + human(bytes) + " float64: JavaBuffer vs numpy-owned array",
                        "ns/call", ours, "np.asarray(JavaBuffer).sum()", base, "numpy-owned .sum()",
                        base.median / ours.median, "throughput ratio (higher is better)", ">= 0.95",
                        base.median / ours.median >= 0.95);
                py.exec("del a, b, jb");
            }
        }
    }

    // ---- 4. zero-copy vs copy -----------------------------------------------------------------------

    private void zeroCopyVsCopy() {
        long max = quick ? 16L << 20 : 1L << 30;
        try (PyObject frombuffer = py.eval("np.frombuffer")) {
            for (long n = 1024; n <= max; n *= 4) {
                try (Arena arena = py.arena()) {
                    MemorySegment seg = arena.allocate(n, 64);
                    seg.fill((byte) 1);
                    final long size = n;
                    int reps = n >= (256L << 20) ? 3 : 5;
                    System.gc();                    // the copies of the previous size are garbage: not in this timing
                    Stat exp = javaTime(() -> {
                        try (JavaBuffer jb = py.export(BufferSpec.of(seg, "B"));
                             PyObject arr = frombuffer.call(jb)) {
                            if (arr.isNone()) throw new AssertionError();
                        }
                    }, 9, Math.min(size, 1L << 20));   // the export does not depend on the size: batch it like 1 MiB
                    Stat copy = javaTime(() -> {
                        byte[] b = seg.toArray(ValueLayout.JAVA_BYTE);
                        try (PyObject arr = frombuffer.call(b)) {
                            if (arr.isNone()) throw new AssertionError();
                        }
                    }, reps, size);
                    curve.add(new double[]{n, exp.median, copy.median});
                    System.out.printf(Locale.ROOT, "  hand-off %9s: export %s, copy %s%n", human(n), exp.show("ns"), copy.show("ns"));
                    if (n == (quick ? 16L << 20 : 256L << 20)) {
                        add("handoff-" + human(n).replace(" ", ""), "hand " + human(n) + " from Java to numpy: export vs copy "
                                        + "(byte[] -> bytes -> np.frombuffer)", "ns", exp, "export + np.frombuffer", copy,
                                "copy", copy.median / exp.median, "speed-up (higher is better)", "(reported)", null);
                    }
                }
            }
        }
    }

    // ---- 5. call overhead -------------------------------------------------------------------------------

    private void callOverhead() {
        int n = quick ? 20_000 : 500_000, repeat = quick ? 3 : 9;
        py.exec("ident = lambda x: x");
        try (PyObject f = py.eval("ident")) {
            Stat java = javaPerOp(() -> {
                for (int i = 0; i < n; i++) f.call(1L).close();
            }, n, repeat);
            Stat inPy = pyTime("ident(1)", n, repeat);
            add("call", "calling lambda x: x with one int: Java PyObject.call vs Python calling it (timeit)", "ns/call",
                    java, "Java f.call(1L)", inPy, "Python ident(1)", java.median / inPy.median,
                    "time ratio (lower is better)", "<= 250 ns per call", java.median <= 250);
        }
    }

    // ---- 6. Java reading Python memory ---------------------------------------------------------------------

    private void javaReadsPythonMemory() {
        long bytes = quick ? 16L << 20 : 256L << 20;
        int repeat = quick ? 3 : 7;
        try (PyObject a = py.eval("np.ones(" + bytes / 8 + ")");
             PyBufferView v = a.getBuffer(BufferRequest.FULL_RO);
             Arena arena = Arena.ofShared()) {
            MemorySegment own = arena.allocate(bytes, 64);
            for (long i = 0; i < bytes / 8; i++) own.setAtIndex(ValueLayout.JAVA_DOUBLE, i, 1.0);
            MemorySegment theirs = v.segment();
            double[] sink = new double[1];
            // the same loop over both segments, runs interleaved: only where the memory came from differs
            Stat[] pair = javaPair(() -> sink[0] += sumDoubles(theirs), () -> sink[0] += sumDoubles(own), repeat);
            Stat ours = pair[0], base = pair[1];
            Stat viaView = javaPerOp(() -> sink[0] += v.sum(), 1, repeat);
            if (sink[0] == 0) throw new AssertionError();
            add("java-sum", "Java sums " + human(bytes) + " float64: numpy's memory through PyBufferView.segment() vs a "
                            + "Java-allocated segment", "ns/sum", ours, "numpy array via PyBufferView", base, "Java segment",
                    base.median / ours.median, "throughput ratio (higher is better)", ">= 0.9", base.median / ours.median >= 0.9);
            add("java-sum-view", "the same with PyBufferView.sum() (typed helper) vs the Java segment loop", "ns/sum",
                    viaView, "PyBufferView.sum()", base, "Java segment", base.median / viaView.median,
                    "throughput ratio (higher is better)", ">= 0.9", base.median / viaView.median >= 0.9);
        }
    }

    static double sumDoubles(MemorySegment s) {
        double acc = 0;
        long n = s.byteSize() / 8;
        for (long i = 0; i < n; i++) acc += s.getAtIndex(ValueLayout.JAVA_DOUBLE_UNALIGNED, i);
        return acc;
    }

    // ---- 7. callbacks --------------------------------------------------------------------------------------------

    private void callbacks() {
        int number = quick ? 20_000 : 300_000, repeat = quick ? 3 : 9;
        try (PyObject f = py.defineFunction("jident", args -> args[0])) {
            py.exec("def pident(x):\n    return x");
            Stat java = pyTime("jident(1)", number, repeat);
            Stat pyf = pyTime("pident(1)", number, repeat);
            add("callback", "Python calling a Java function (defineFunction) vs a Python function of the same body",
                    "ns/call", java, "Java function", pyf, "Python function", java.median / pyf.median,
                    "time ratio (lower is better)", "(reported)", null);
        }
    }

    // ---- 8. Jep ---------------------------------------------------------------------------------------------------

    /**
     * Side by side with Jep, when {@code JEP_DIR} names an installed Jep (the folder with its jar, libjep.so
     * and Python package, e.g. site-packages/jep). Jep runs in a JVM of its own ({@link JepBench}: two
     * CPython embedders cannot share a process), against the same site-packages as ours, so both import
     * the same numpy. Nothing is added when Jep is not there or its run fails.
     */
    private void jep() {
        String dir = System.getenv("JEP_DIR");
        if (dir == null || dir.isBlank()) {
            System.out.println("  Jep: not measured (set JEP_DIR to an installed Jep's folder to compare side by side)");
            return;
        }
        Map<String, String> jep = runJep(Path.of(dir));
        if (jep == null) return;
        String pyv = jep.getOrDefault("python", "?");
        System.out.println("  Jep " + jep.getOrDefault("version", "?") + " (Python " + pyv + ", numpy "
                + jep.getOrDefault("numpy", "?") + ")" + (pyv.equals(py.version()) ? "" : "; ours is Python " + py.version()));
        Stat jepCall = jepStat(jep, "call"), jepHandoff = jepStat(jep, "handoff");

        // (a) the same trivial call, the result back as a Java number as Jep's invoke returns it
        int n = quick ? 20_000 : 500_000, repeat = quick ? 3 : 9;
        py.exec("ident = lambda x: x\ndef _seen(b): return np.asarray(b).size");
        long[] sink = new long[1];
        Stat call;
        try (PyObject f = py.eval("ident")) {
            call = javaPerOp(() -> {
                for (int i = 0; i < n; i++) sink[0] += f.callAs(Long.class, 1L);
            }, n, repeat);
        }
        // (b) the same 256 MiB of float64 to numpy, zero-copy: export + np.asarray, numpy's a.size back in Java
        int ops = quick ? 2_000 : 20_000;
        long bytes = (long) JepBench.HANDOFF_DOUBLES * 8;
        Stat handoff;
        try (Arena arena = py.arena(); PyObject seen = py.eval("_seen")) {
            MemorySegment seg = arena.allocate(bytes, 64);
            handoff = javaPerOp(() -> {
                for (int i = 0; i < ops; i++) {
                    try (JavaBuffer jb = py.export(BufferSpec.of(seg, "d"))) {
                        if (seen.callAs(Long.class, jb) != JepBench.HANDOFF_DOUBLES) throw new AssertionError();
                    }
                }
            }, ops, repeat);
        }
        if (sink[0] == 0) throw new AssertionError();
        add("jep-call", "calling lambda x: x with one int from Java, result as a Java number: "
                        + "panamapy vs Jep (Interpreter.invoke)", "ns/call", call, "panamapy f.callAs(Long.class, 1L)",
                jepCall, "Jep invoke(\"ident\", 1)", jepCall.median / call.median, "speed-up (higher is better)",
                ">= 5x", jepCall.median / call.median >= 5);
        add("jep-handoff", "hand " + human(bytes) + " float64 from Java to numpy, zero-copy both, numpy's a.size back: "
                        + "panamapy export + np.asarray vs Jep DirectNDArray + set", "ns", handoff,
                "panamapy export + np.asarray", jepHandoff, "Jep set(DirectNDArray)", jepHandoff.median / handoff.median,
                "speed-up (higher is better)", ">= 10x", jepHandoff.median / handoff.median >= 10);
    }

    /** Runs {@link JepBench} in a JVM of its own; its key=value lines, or null (said why) when it did not work. */
    private Map<String, String> runJep(Path dir) {
        try {
            String java = ProcessHandle.current().info().command()
                    .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
            List<String> cmd = new ArrayList<>(List.of(java, "-XX:MaxDirectMemorySize=1g",
                    "--enable-native-access=ALL-UNNAMED", "-Djava.library.path=" + dir.toAbsolutePath(),
                    "-cp", System.getProperty("java.class.path"), JepBench.class.getName()));
            if (quick) cmd.add("--quick");
            ProcessBuilder pb = new ProcessBuilder(cmd);
            // Jep embeds the libpython it was built against: give it our site-packages (numpy) and its own package
            String sitePackages;
            try (PyObject sp = py.eval("__import__('os').pathsep.join(p for p in __import__('sys').path "
                    + "if p.endswith(('site-packages', 'dist-packages')))")) {
                sitePackages = sp.asString();
            }
            String path = JepBench.pythonPathFor(Path.of(dir.toString())).toString();
            pb.environment().remove("PYTHONHOME");
            pb.environment().put("PYTHONPATH", sitePackages.isEmpty() ? path : sitePackages + File.pathSeparator + path);
            pb.environment().put("JEP_DIR", dir.toAbsolutePath().toString());
            Path out = Files.createTempFile("jepbench", ".out"), err = Files.createTempFile("jepbench", ".err");
            try {
                pb.redirectOutput(out.toFile()).redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
                System.out.println("  Jep: measuring in a JVM of its own (JEP_DIR=" + dir + ")");
                Process p = pb.start();
                if (!p.waitFor(quick ? 5 : 20, TimeUnit.MINUTES)) {
                    p.destroyForcibly();
                    System.out.println("  Jep: not measured (its run timed out)");
                    return null;
                }
                Map<String, String> kv = new HashMap<>();
                for (String line : Files.readAllLines(out)) {
                    int eq = line.indexOf('=');
                    if (eq > 0) kv.put(line.substring(0, eq).strip(), line.substring(eq + 1).strip());
                }
                if (p.exitValue() != 0 || !"true".equals(kv.get("ok"))) {
                    List<String> why = Files.readAllLines(err).stream().filter(l -> !l.startsWith("WARNING:")).toList();
                    System.out.println("  Jep: not measured (its run failed, exit " + p.exitValue() + ": "
                            + (why.isEmpty() ? "no message" : String.join(" | ", why.subList(Math.max(0, why.size() - 3), why.size()))) + ")");
                    return null;
                }
                return kv;
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException | RuntimeException e) {
            System.out.println("  Jep: not measured (" + e + ")");
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            System.out.println("  Jep: not measured (interrupted)");
            return null;
        }
    }

    private static Stat jepStat(Map<String, String> kv, String key) {
        return new Stat(Double.parseDouble(kv.get(key + ".median")), Double.parseDouble(kv.get(key + ".min")),
                Double.parseDouble(kv.get(key + ".max")), Integer.parseInt(kv.get(key + ".runs")));
    }

    // ---- timing ---------------------------------------------------------------------------------------------------

    private Stat pyTime(String stmt, int number, int repeat) {
        py.eval("per_op_ns(" + pyStr(stmt) + ", globals(), " + number + ", 2)").close();   // warm-up (JIT, caches)
        try (PyObject r = py.eval("per_op_ns(" + pyStr(stmt) + ", globals(), " + number + ", " + repeat + ")")) {
            double[] s = new double[repeat];
            for (int i = 0; i < repeat; i++) {
                try (PyObject x = r.getItem(i)) {
                    s[i] = x.asDouble();
                }
            }
            return Stat.of(s);
        }
    }

    /**
     * Several statements timed in rounds (a, b, c, a, b, c ...), each round one timeit run per
     * statement, after a warm-up: drift in the machine hits every statement alike.
     */
    Stat[] pyTimeInterleaved(int number, int repeat, String... stmts) {
        for (String stmt : stmts) py.eval("per_op_ns(" + pyStr(stmt) + ", globals(), " + number + ", 2)").close();
        double[][] samples = new double[stmts.length][repeat];
        for (int r = 0; r < repeat; r++) {
            for (int k = 0; k < stmts.length; k++) {
                try (PyObject x = py.eval("per_op_ns(" + pyStr(stmts[k]) + ", globals(), " + number + ", 1)[0]")) {
                    samples[k][r] = x.asDouble();
                }
            }
        }
        Stat[] out = new Stat[stmts.length];
        for (int k = 0; k < stmts.length; k++) out[k] = Stat.of(samples[k]);
        return out;
    }

    /** Median ns per op of {@code body} (which does {@code ops} operations) over repeats, after a warm-up. */
    private static Stat javaPerOp(Runnable body, int ops, int repeat) {
        for (int i = 0; i < Math.max(2, repeat / 2); i++) body.run();
        double[] s = new double[repeat];
        for (int i = 0; i < repeat; i++) {
            long t = System.nanoTime();
            body.run();
            s[i] = (System.nanoTime() - t) / (double) ops;
        }
        return Stat.of(s);
    }

    /** Two bodies timed in alternation (a, b, a, b ...) after a warm-up, so drift hits both alike. */
    private static Stat[] javaPair(Runnable a, Runnable b, int repeat) {
        for (int i = 0; i < 3; i++) { a.run(); b.run(); }
        double[] sa = new double[repeat], sb = new double[repeat];
        for (int i = 0; i < repeat; i++) {
            long t = System.nanoTime();
            a.run();
            sa[i] = System.nanoTime() - t;
            t = System.nanoTime();
            b.run();
            sb[i] = System.nanoTime() - t;
        }
        return new Stat[]{Stat.of(sa), Stat.of(sb)};
    }

    /** Median ns of one run of {@code body}; small sizes are batched so one sample takes >= 20 ms. */
    private static Stat javaTime(Runnable body, int repeat, long bytes) {
        int batch = (int) Math.max(1, Math.min(10_000, (20L << 20) / Math.max(bytes, 1)));
        for (int i = 0; i < 2; i++) for (int b = 0; b < batch; b++) body.run();
        double[] s = new double[repeat];
        for (int i = 0; i < repeat; i++) {
            long t = System.nanoTime();
            for (int b = 0; b < batch; b++) body.run();
            s[i] = (System.nanoTime() - t) / (double) batch;
        }
        return Stat.of(s);
    }

    void add(String id, String title, String unit, Stat ours, String oursLabel, Stat base, String baseLabel,
                     double ratio, String meaning, String goal, Boolean met) {
        Figure f = new Figure(id, title, unit, ours, oursLabel, base, baseLabel, ratio, meaning, goal, met);
        figures.add(f);
        System.out.printf(Locale.ROOT, "%-18s %s: %s vs %s: ratio %s (%s)%s%n", id, unit, ours.show(""),
                base.show(""), fmt(ratio), meaning, met == null ? "" : met ? "  goal " + goal + " met" : "  goal " + goal + " MISSED");
    }

    static String fmt(double v) {
        if (v >= 1e6) return String.format(Locale.ROOT, "%.3g", v);
        if (v >= 100) return String.format(Locale.ROOT, "%.0f", v);
        if (v >= 10) return String.format(Locale.ROOT, "%.1f", v);
        return String.format(Locale.ROOT, "%.2f", v);
    }

    static String human(long bytes) {
        if (bytes >= 1L << 30) return (bytes >> 30) + " GiB";
        if (bytes >= 1L << 20) return (bytes >> 20) + " MiB";
        if (bytes >= 1L << 10) return (bytes >> 10) + " KiB";
        return bytes + " B";
    }

    private static String pyStr(String s) {
        return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }
}
