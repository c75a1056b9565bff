package dev.panamapy.bench;

import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PyObject;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The cost of a view of a {@code panamapy.Buffer} subclass (PEP 688, the backport on 3.9-3.11):
 * {@code memoryview(x).release()} timed in the embedded interpreter, interleaved with its
 * baselines in the same run: {@code bytearray}; on 3.12+ a plain class whose {@code __buffer__}
 * returns a precomputed memoryview (native PEP 688; the goal: {@code panamapy.Buffer} within
 * 1.2x of it); on every version the same work written in Python
 * ({@code memoryview(x.__buffer__(flags)).release()}: the Python call and the memoryview re-export
 * that any PEP 688 implementation does), and a tracked {@code JavaBuffer}'s two upcalls for scale.
 * Writes {@code pep688-<version>.md} into the output folder (default target/bench).
 *
 * <p>Run: {@code scripts/bench-pep688} (every CPython found), or this class's main with
 * {@code -Dpanamapy.python=...} and {@code [--quick] [--out DIR]}.
 */
public final class Pep688Bench {
    private Pep688Bench() { }

    public static void main(String[] args) throws IOException {
        List<String> a = List.of(args);
        boolean quick = a.contains("--quick");
        int o = a.indexOf("--out");
        if (a.size() != (quick ? 1 : 0) + (o >= 0 ? 2 : 0) || o == a.size() - 1) {
            System.err.println("usage: Pep688Bench [--quick] [--out DIR]");
            System.exit(2);
        }
        Path out = o >= 0 ? Path.of(a.get(o + 1)) : Path.of("target", "bench");
        Files.createDirectories(out);
        int number = quick ? 20_000 : 200_000, repeat = quick ? 3 : 9;
        try (CPython py = CPython.start(); Arena arena = py.arena()) {
            boolean native688 = py.minorVersion() >= 12;
            MemorySegment seg = arena.allocate(4096);
            // for scale: what one and two upcalls cost (a JavaBuffer without and with bf_releasebuffer)
            JavaBuffer untracked = py.exportUntracked(BufferSpec.of(seg, "B"));
            JavaBuffer tracked = py.export(BufferSpec.of(seg, "B"));
            py.setGlobal("ju", untracked);
            py.setGlobal("jt", tracked);
            py.exec("""
                    import timeit, panamapy
                    def per_op_ns(stmt, number):
                        return timeit.timeit(stmt, globals=globals(), number=number) / number * 1e9
                    ba = bytearray(4096)
                    class Delegating(panamapy.Buffer):
                        def __init__(self, data):
                            self.data = data
                        def __buffer__(self, flags):
                            return memoryview(self.data)
                    class PrecomputedBuffer(panamapy.Buffer):
                        def __init__(self, data):
                            self.view = memoryview(data)
                        def __buffer__(self, flags):
                            return self.view
                    class Plain:
                        def __init__(self, data):
                            self.view = memoryview(data)
                        def __buffer__(self, flags):
                            return self.view
                    class PlainDelegating:
                        def __init__(self, data):
                            self.data = data
                        def __buffer__(self, flags):
                            return memoryview(self.data)
                    d, pb, p, pd = Delegating(ba), PrecomputedBuffer(ba), Plain(ba), PlainDelegating(ba)
                    """);
            List<String[]> stmts = new ArrayList<>(List.of(
                    new String[]{"bytearray", "memoryview(ba).release()"},
                    new String[]{"panamapy.Buffer delegating to the bytearray", "memoryview(d).release()"},
                    new String[]{"panamapy.Buffer, precomputed memoryview", "memoryview(pb).release()"},
                    new String[]{"the same work in Python: memoryview(p.__buffer__(284))", "memoryview(p.__buffer__(284)).release()"},
                    new String[]{"the Python call alone: p.__buffer__(284)", "p.__buffer__(284)"},
                    new String[]{"JavaBuffer, one upcall (getbuffer)", "memoryview(ju).release()"},
                    new String[]{"JavaBuffer, two upcalls (getbuffer, releasebuffer)", "memoryview(jt).release()"}));
            if (native688) {
                stmts.add(new String[]{"plain class, precomputed memoryview (native PEP 688)", "memoryview(p).release()"});
                stmts.add(new String[]{"plain class delegating to the bytearray (native PEP 688)", "memoryview(pd).release()"});
            }
            double[][] samples = new double[stmts.size()][repeat];
            for (String[] s : stmts) time(py, s[1], number);                       // warm-up: JIT, caches
            for (int w = 0; w < (quick ? 1 : 5); w++) for (String[] s : stmts) time(py, s[1], number);
            for (int r = 0; r < repeat; r++) {
                for (int k = 0; k < stmts.size(); k++) samples[k][r] = time(py, stmts.get(k)[1], number);
            }
            Bench.Stat[] st = new Bench.Stat[stmts.size()];
            for (int k = 0; k < st.length; k++) st[k] = Bench.Stat.of(samples[k]);
            StringBuilder md = new StringBuilder();
            md.append("# panamapy.Buffer: memoryview(x).release(), CPython ").append(py.version())
                    .append(native688 ? " (native PEP 688)" : " (the bridge's backport)").append("\n\n")
                    .append("| what | ns/op median (min-max) | vs bytearray |\n| --- | --- | --- |\n");
            for (int k = 0; k < st.length; k++) {
                md.append("| ").append(stmts.get(k)[0]).append(" | ").append(st[k].show("ns"))
                        .append(" | ").append(ratio(st[k].median() / st[0].median())).append(" |\n");
            }
            md.append('\n');
            if (native688) {
                double r = st[2].median() / st[7].median();
                md.append("- panamapy.Buffer (precomputed) / plain PEP 688 class (precomputed): ").append(ratio(r))
                        .append(" (goal <= 1.2: ").append(r <= 1.2 ? "met" : "NOT met").append(")\n");
                md.append("- panamapy.Buffer delegating / plain class delegating: ")
                        .append(ratio(st[1].median() / st[8].median())).append('\n');
            } else {
                md.append("- panamapy.Buffer (precomputed) / the same work in Python: ")
                        .append(ratio(st[2].median() / st[3].median())).append('\n');
                md.append("- the backport's own share (Buffer precomputed minus the Python call alone): ")
                        .append(Bench.fmt(st[2].median() - st[4].median())).append(" ns, of which the two upcalls ")
                        .append("(tracked JavaBuffer minus bytearray) ").append(Bench.fmt(st[6].median() - st[0].median()))
                        .append(" ns\n");
            }
            Path file = out.resolve("pep688-" + py.minorVersion() + ".md");
            Files.writeString(file, md.toString());
            System.out.print(md);
            System.out.println("written to " + file);
            py.exec("del ju, jt");
            untracked.close();
            tracked.close();
        }
    }

    private static double time(CPython py, String stmt, int number) {
        py.setGlobal("_stmt", stmt);
        try (PyObject r = py.eval("per_op_ns(_stmt, " + number + ")")) {
            return r.asDouble();
        }
    }

    private static String ratio(double r) {
        return String.format(Locale.ROOT, "%.2fx", r);
    }
}
