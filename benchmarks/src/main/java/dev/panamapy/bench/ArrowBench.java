package dev.panamapy.bench;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.arrow.ArrowExport;
import dev.panamapy.arrow.ArrowImport;
import org.apache.arrow.c.ArrowArray;
import org.apache.arrow.c.ArrowSchema;
import org.apache.arrow.c.Data;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.memory.RootAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowStreamReader;
import org.apache.arrow.vector.ipc.ArrowStreamWriter;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The Arrow hand-off benchmarks behind {@code scripts/bench --arrow}: a {@code VectorSchemaRoot}
 * of int64 columns (no nulls, validity bitmaps present) handed from Java to pyarrow and back by
 * three routes, measured in the same run so that only ratios are reported:
 * <ul>
 *   <li><b>panamapy</b>: {@code ArrowExport.batch} + {@code pyarrow.record_batch(obj)};
 *       reverse {@code ArrowImport.batch} of a pyarrow-owned batch;</li>
 *   <li><b>arrow-c-data</b> (Arrow Java's JNI bridge): {@code Data.exportVectorSchemaRoot} +
 *       {@code pyarrow.RecordBatch._import_from_c}; reverse {@code _export_to_c} +
 *       {@code Data.importVectorSchemaRoot};</li>
 *   <li><b>IPC</b>, what an out-of-process Python worker pays at least: an Arrow IPC stream
 *       written in Java, handed over as bytes and read by {@code pyarrow.ipc} (reverse: written by
 *       pyarrow, read by {@code ArrowStreamReader}); no socket or pipe is counted.</li>
 * </ul>
 * Each hand-off is timed end to end (made, read by the other side, released) as the median of
 * several samples. Then {@code pyarrow.compute.sum} over every column of the batch read from
 * Java memory against the same over a copy of it in pyarrow-owned memory (same values, same
 * validity bitmaps).
 *
 * <pre>ArrowBench [--quick] [--cols 1,10,100] [--rows 1000,1000000,8000000] [--max-mib 1024] [--ipc-max-mib 256] [--out DIR]</pre>
 * Sizes over {@code --max-mib} of Java data are skipped, IPC over {@code --ipc-max-mib} (it needs
 * several copies); {@code --quick} means 1 and 10 columns, at most 128 MiB, fewer samples.
 */
public final class ArrowBench {

    private final CPython py;
    private final boolean quick;
    private final BufferAllocator allocator = new RootAllocator();
    private final List<String[]> rowsOut = new ArrayList<>();

    private ArrowBench(CPython py, boolean quick) {
        this.py = py;
        this.quick = quick;
    }

    public static void main(String[] args) throws IOException {
        boolean quick = false;
        long[] cols = {1, 10, 100};
        long[] rows = {1_000, 1_000_000, 8_000_000};
        long maxMiB = 1024, ipcMaxMiB = 256;
        Path out = Path.of("target", "bench");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> quick = true;
                case "--cols" -> cols = longs(args[++i]);
                case "--rows" -> rows = longs(args[++i]);
                case "--max-mib" -> maxMiB = Long.parseLong(args[++i]);
                case "--ipc-max-mib" -> ipcMaxMiB = Long.parseLong(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                default -> {
                    System.err.println("usage: ArrowBench [--quick] [--cols 1,10,100] [--rows 1000,1000000,8000000] "
                            + "[--max-mib N] [--ipc-max-mib N] [--out DIR]");
                    System.exit(2);
                }
            }
        }
        if (quick && !Arrays.asList(args).contains("--cols")) cols = new long[]{1, 10};
        if (quick && !Arrays.asList(args).contains("--max-mib")) maxMiB = 128;       // 1 x 8M, not 10 x 8M
        Files.createDirectories(out);
        try (CPython py = CPython.start()) {
            try (PyObject pa = py.importModule("pyarrow")) {
                System.out.println("CPython " + py.version() + ", pyarrow " + pa.getAttr("__version__")
                        + ", Arrow Java 19.0.0; shared 2-core machine: figures are noisy, compare ratios within the run");
            } catch (dev.panamapy.PythonException e) {
                System.err.println("pyarrow is not installed for " + py.executable() + ": pip install pyarrow");
                System.exit(1);
            }
            ArrowBench b = new ArrowBench(py, quick);
            b.setUp();
            // warm-up: every path compiled before anything counts (the hand-off takes seconds to settle)
            for (int i = 0; i < (quick ? 1 : 3); i++) b.measure(2, 1000, true);
            b.rowsOut.clear();
            for (long r : rows) {
                for (long c : cols) {
                    long mib = c * r * 8 / (1 << 20);
                    if (mib > maxMiB) {
                        System.out.printf(Locale.ROOT, "skipped %d cols x %d rows: %d MiB > --max-mib %d%n", c, r, mib, maxMiB);
                        continue;
                    }
                    b.measure((int) c, (int) r, mib <= ipcMaxMiB);
                }
            }
            String md = b.table();
            System.out.println(md);
            Files.writeString(out.resolve("arrow.md"), md);
            py.exec("gc.collect()");                 // drops what Java let go of last (queued drops run on the next call)
            py.exec("gc.collect()");
            b.allocator.close();
        }
    }

    private static long[] longs(String csv) {
        return Arrays.stream(csv.split(",")).mapToLong(s -> Long.parseLong(s.trim().replace("_", ""))).toArray();
    }

    private void setUp() {
        py.exec("""
                import pyarrow as pa, pyarrow.compute as pc, pyarrow.ipc as ipc, timeit, gc
                def take(obj):
                    return pa.record_batch(obj).num_rows
                def take_c(array_ptr, schema_ptr):
                    return pa.RecordBatch._import_from_c(array_ptr, schema_ptr).num_rows
                def take_ipc(data):
                    return ipc.open_stream(data).read_next_batch().num_rows
                def owned(cols, rows):
                    return pa.record_batch([pa.array(range(rows), pa.int64()) for _ in range(cols)],
                                           names=['c%d' % i for i in range(cols)])
                def give_c(batch, array_ptr, schema_ptr):
                    batch._export_to_c(array_ptr, schema_ptr)
                def give_ipc(batch):
                    sink = pa.BufferOutputStream()
                    with ipc.new_stream(sink, batch.schema) as w:
                        w.write_batch(batch)
                    return sink.getvalue().to_pybytes()
                def copy_batch(b):
                    return pa.RecordBatch.from_arrays([pa.concat_arrays([c, c.slice(0, 0)]) for c in b.columns],
                                                      names=b.schema.names)
                def sum_all(batch):
                    return sum(pc.sum(c).as_py() for c in batch.columns)
                def per_op_ns(stmt, g, number, repeat):
                    return [t / number * 1e9 for t in timeit.repeat(stmt, globals=g, number=number, repeat=repeat)]
                """);
    }

    private VectorSchemaRoot root(int cols, int rows) {
        List<FieldVector> vs = new ArrayList<>();
        for (int c = 0; c < cols; c++) {
            BigIntVector v = new BigIntVector("c" + c, allocator);
            v.allocateNew(rows);
            for (int i = 0; i < rows; i++) v.set(i, i);
            v.setValueCount(rows);
            vs.add(v);
        }
        return new VectorSchemaRoot(vs);
    }

    private void measure(int cols, int rows, boolean ipc) {
        String label = cols + " x " + rows;
        System.out.println("measuring " + label + (ipc ? "" : " (IPC skipped: over --ipc-max-mib)"));
        try (VectorSchemaRoot root = root(cols, rows);
             PyObject take = py.eval("take"); PyObject takeC = py.eval("take_c"); PyObject takeIpc = py.eval("take_ipc");
             PyObject ownedFn = py.eval("owned"); PyObject owned = ownedFn.call(cols, rows);
             PyObject giveC = py.eval("give_c"); PyObject giveIpc = py.eval("give_ipc")) {
            // Java -> pyarrow
            Runnable ours = () -> {
                try (PyObject o = ArrowExport.batch(py, root); PyObject n = take.call(o)) {
                    check(n, rows);
                }
            };
            Runnable cdata = () -> {
                try (ArrowArray a = ArrowArray.allocateNew(allocator); ArrowSchema s = ArrowSchema.allocateNew(allocator)) {
                    Data.exportVectorSchemaRoot(allocator, root, null, a, s);
                    try (PyObject n = takeC.call(a.memoryAddress(), s.memoryAddress())) {
                        check(n, rows);
                    }
                }
            };
            Runnable viaIpc = !ipc ? null : () -> {
                try (PyObject n = takeIpc.call((Object) ipcBytes(root))) {
                    check(n, rows);
                }
            };
            // pyarrow -> Java
            Runnable oursBack = () -> {
                try (VectorSchemaRoot r = ArrowImport.batch(py, owned, allocator)) {
                    if (r.getRowCount() != rows) throw new IllegalStateException("rows " + r.getRowCount());
                }
            };
            Runnable cdataBack = () -> {
                try (ArrowArray a = ArrowArray.allocateNew(allocator); ArrowSchema s = ArrowSchema.allocateNew(allocator)) {
                    giveC.call(owned, a.memoryAddress(), s.memoryAddress()).close();
                    try (VectorSchemaRoot r = Data.importVectorSchemaRoot(allocator, a, s, null)) {
                        if (r.getRowCount() != rows) throw new IllegalStateException("rows " + r.getRowCount());
                    }
                }
            };
            Runnable ipcBack = !ipc ? null : () -> {
                try (PyObject b = giveIpc.call(owned)) {
                    readIpc(b.asBytesCopy(), rows);
                }
            };
            double[] to = time(ours, cdata, viaIpc);
            double[] back = time(oursBack, cdataBack, ipcBack);
            // compute over Java memory vs pyarrow-owned memory
            double computeJava, computeOwned;
            try (PyObject o = ArrowExport.batch(py, root)) {
                py.setGlobal("_jo", o);
                // the baseline: the same batch copied into pyarrow-owned memory (same buffers, validity bitmaps included)
                py.exec("_jb = pa.record_batch(_jo)\n_ob = copy_batch(_jb)\ndel _jo");
                int number = rows >= 1_000_000 ? 3 : 200;
                double[] both = pyMedians("sum_all(_jb)", "sum_all(_ob)", number);
                computeJava = both[0];
                computeOwned = both[1];
                py.exec("del _jb, _ob\ngc.collect()");
            }
            rowsOut.add(new String[]{label, us(to[0]), us(to[1]), ratio(to[1], to[0]), us(to[2]), ratio(to[2], to[0]),
                    us(back[0]), us(back[1]), ratio(back[1], back[0]), us(back[2]), ratio(back[2], back[0]),
                    String.format(Locale.ROOT, "%.2f", computeOwned / computeJava)});
        }
    }

    private static void check(PyObject n, int rows) {
        if (n.asLong() != rows) throw new IllegalStateException("pyarrow read " + n.asLong() + " rows, not " + rows);
    }

    private byte[] ipcBytes(VectorSchemaRoot root) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ArrowStreamWriter w = new ArrowStreamWriter(root, null, bytes)) {
            w.start();
            w.writeBatch();
            w.end();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private void readIpc(byte[] data, int rows) {
        try (ArrowStreamReader r = new ArrowStreamReader(new ByteArrayInputStream(data), allocator)) {
            if (!r.loadNextBatch() || r.getVectorSchemaRoot().getRowCount() != rows) {
                throw new IllegalStateException("IPC stream did not hold the batch");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Median ns per operation of each op: a warm-up each, then samples of enough operations to
     * last a few ms, the ops' samples interleaved (a noisy neighbour slows all of them alike,
     * which keeps the ratios meaningful on a shared machine). A null op gives NaN.
     */
    private double[] time(Runnable... ops) {
        int[] number = new int[ops.length];
        for (int j = 0; j < ops.length; j++) {
            if (ops[j] == null) continue;
            long t0 = System.nanoTime();
            int warm = 0;
            while (warm < 3 || (System.nanoTime() - t0 < (quick ? 50_000_000L : 300_000_000L) && warm < 2000)) {
                ops[j].run();
                warm++;
            }
            double once = (System.nanoTime() - t0) / (double) warm;
            long target = quick ? 10_000_000L : 50_000_000L;
            number[j] = (int) Math.max(1, Math.min(100_000, target / Math.max(once, 1)));
        }
        int samples = quick ? 5 : 9;
        double[][] s = new double[ops.length][samples];
        for (int k = 0; k < samples; k++) {
            for (int j = 0; j < ops.length; j++) {
                if (ops[j] == null) continue;
                long a = System.nanoTime();
                for (int i = 0; i < number[j]; i++) ops[j].run();
                s[j][k] = (System.nanoTime() - a) / (double) number[j];
            }
        }
        double[] med = new double[ops.length];
        for (int j = 0; j < ops.length; j++) {
            Arrays.sort(s[j]);
            med[j] = ops[j] == null ? Double.NaN : s[j][samples / 2];
        }
        return med;
    }

    /** Median ns per run of two Python statements, timed inside Python, their samples interleaved. */
    private double[] pyMedians(String a, String b, int number) {
        int repeat = quick ? 5 : 9;
        String expr = "[sorted(s)[len(s) // 2] for s in zip(*[(per_op_ns(" + pyString(a) + ", globals(), " + number
                + ", 1)[0], per_op_ns(" + pyString(b) + ", globals(), " + number + ", 1)[0]) for _ in range(" + repeat + ")])]";
        try (PyObject r = py.eval(expr); PyObject x = r.getItem(0); PyObject y = r.getItem(1)) {
            return new double[]{x.asDouble(), y.asDouble()};
        }
    }

    private static String pyString(String s) { return "'" + s.replace("'", "\\'") + "'"; }

    private static String us(double ns) {
        return Double.isNaN(ns) ? "-" : String.format(Locale.ROOT, ns >= 1e6 ? "%.0f" : "%.1f", ns / 1000);
    }

    private static String ratio(double base, double ours) {
        return Double.isNaN(base) ? "-" : String.format(Locale.ROOT, base / ours >= 100 ? "%.0fx" : "%.1fx", base / ours);
    }

    private String table() {
        StringBuilder sb = new StringBuilder();
        sb.append("| cols x rows | Java->pa panamapy us | arrow-c-data us | ratio | IPC us | ratio "
                + "| pa->Java panamapy us | arrow-c-data us | ratio | IPC us | ratio | pc.sum owned/Java |\n");
        sb.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for (String[] r : rowsOut) sb.append("| ").append(String.join(" | ", r)).append(" |\n");
        sb.append("\nratio = baseline time / panamapy time (higher: panamapy faster); pc.sum owned/Java = time over a "
                + "pyarrow-owned batch / time over the batch read from Java memory (1.0: same speed). Medians; one run; "
                + "shared, noisy machine.\n");
        return sb.toString();
    }
}
