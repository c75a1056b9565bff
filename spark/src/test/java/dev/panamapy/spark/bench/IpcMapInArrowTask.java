package dev.panamapy.spark.bench;

import dev.panamapy.spark.PythonFunction;
import dev.panamapy.spark.internal.ArrowSettings;
import dev.panamapy.spark.internal.BatchRows;
import dev.panamapy.spark.internal.RowBatches;
import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.VectorLoader;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.VectorUnloader;
import org.apache.arrow.vector.ipc.ArrowStreamWriter;
import org.apache.arrow.vector.ipc.ReadChannel;
import org.apache.arrow.vector.ipc.WriteChannel;
import org.apache.arrow.vector.ipc.message.ArrowRecordBatch;
import org.apache.arrow.vector.ipc.message.IpcOption;
import org.apache.arrow.vector.ipc.message.MessageSerializer;
import org.apache.arrow.vector.types.pojo.Schema;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.sql.catalyst.InternalRow;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.sql.util.ArrowUtils;
import org.apache.spark.util.TaskCompletionListener;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serial;
import java.io.UncheckedIOException;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The benchmark's baseline (b): mapInArrow / applyInArrow through an out-of-process Python worker
 * fed Arrow IPC over a pipe, as PySpark does it: the same input batches (Spark's ArrowWriter), the
 * same Python functions (worker.py), but serialized to the worker's stdin by a writer thread and
 * its results deserialized from its stdout. Workers are reused across tasks (as PySpark's are).
 */
public record IpcMapInArrowTask(PythonFunction fn, StructType inSchema, StructType outSchema, int[] keys, ArrowSettings settings,
                                String python) implements FlatMapFunction<Iterator<InternalRow>, InternalRow> {

    @Serial
    private static final long serialVersionUID = 1L;

    private static final ConcurrentLinkedQueue<Process> IDLE = new ConcurrentLinkedQueue<>();
    private static Path scripts; // guarded by IpcMapInArrowTask.class

    @Override
    public Iterator<InternalRow> call(Iterator<InternalRow> rows) throws IOException {
        TaskContext task = TaskContext.get();
        BufferAllocator allocator = ArrowUtils.rootAllocator().newChildAllocator("ipc task", 0, Long.MAX_VALUE);
        Process worker = IDLE.poll();
        if (worker == null || !worker.isAlive()) worker = start(python);
        String what = (keys == null ? "mapInArrow" : "applyInArrow") + " function '" + fn.name() + "'";
        RowBatches input = keys == null ? RowBatches.bySize(rows, inSchema, settings, allocator)
                : RowBatches.byGroup(rows, inSchema, keys, settings, allocator);
        Results results = new Results(worker, allocator, outSchema, settings);
        Process w = worker;
        Thread writer = new Thread(() -> results.feed(w, job(what), input, outSchema, settings, allocator), "ipc writer");
        writer.setDaemon(true);
        writer.start();
        task.addTaskCompletionListener((TaskCompletionListener) ctx -> results.close(writer));
        return results;
    }

    private String job(String what) {
        StringBuilder keyList = new StringBuilder("null");
        if (keys != null) {
            keyList.setLength(0);
            keyList.append('[');
            for (int i = 0; i < keys.length; i++) keyList.append(i > 0 ? "," : "").append(json(inSchema.fields()[keys[i]].name()));
            keyList.append(']');
        }
        return "{\"key\":" + json(fn.key()) + ",\"kind\":" + json(fn.kind()) + ",\"text\":" + json(fn.text()) + ",\"name\":"
                + json(fn.name()) + ",\"keys\":" + keyList + ",\"what\":" + json(what) + "}";
    }

    private static String json(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') sb.append('\\').append(c);
            else if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
            else sb.append(c);
        }
        return sb.append('"').toString();
    }

    private static synchronized Process start(String python) throws IOException {
        if (scripts == null) {
            Path dir = Files.createTempDirectory("panamapy-ipc");
            copy("dev/panamapy/spark/worker.py", dir.resolve("worker.py"));
            copy("dev/panamapy/spark/bench/ipc_worker.py", dir.resolve("ipc_worker.py"));
            scripts = dir;
        }
        String exe = python == null ? System.getProperty("panamapy.python", "python3") : python;
        return new ProcessBuilder(exe, "-u", scripts.resolve("ipc_worker.py").toString(), scripts.resolve("worker.py").toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    private static void copy(String resource, Path to) throws IOException {
        try (InputStream in = IpcMapInArrowTask.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) throw new IOException(resource + " is not on the class path");
            Files.copy(in, to);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IpcMapInArrowTask t && t.fn.equals(fn) && Arrays.equals(t.keys, keys);
    }

    @Override
    public int hashCode() { return fn.hashCode(); }

    @Override
    public String toString() { return "IpcMapInArrowTask[" + fn + "]"; }

    /** The worker's output, batch by batch, read on the task thread. */
    private static final class Results extends BatchRows {
        private final Process worker;
        private final BufferAllocator allocator;
        private final DataInputStream in;
        private final ReadChannel channel;
        private final VectorSchemaRoot root;
        private volatile Throwable writeFailure;
        private boolean reusable;

        Results(Process worker, BufferAllocator allocator, StructType outSchema, ArrowSettings settings) {
            super(false);
            this.worker = worker;
            this.allocator = allocator;
            this.in = new DataInputStream(new BufferedInputStream(worker.getInputStream(), 1 << 16));
            this.channel = new ReadChannel(Channels.newChannel(in));
            this.root = VectorSchemaRoot.create(ArrowUtils.toArrowSchema(outSchema, settings.timeZone(), true,
                    settings.largeVarTypes()), allocator);
        }

        /** The writer thread: the job, the expected schema, the input batches, all serialized to the worker's stdin. */
        void feed(Process w, String job, RowBatches input, StructType outSchema, ArrowSettings settings, BufferAllocator allocator) {
            try {
                OutputStream os = new BufferedOutputStream(w.getOutputStream(), 1 << 16);
                DataOutputStream out = new DataOutputStream(os);
                byte[] head = job.getBytes(StandardCharsets.UTF_8);
                out.writeInt(head.length);
                out.write(head);
                WriteChannel channel = new WriteChannel(Channels.newChannel(out));
                Schema expected = ArrowUtils.toArrowSchema(outSchema, settings.timeZone(), true, settings.largeVarTypes());
                MessageSerializer.serialize(channel, expected);
                ArrowStreamWriter.writeEndOfStream(channel, IpcOption.DEFAULT);
                boolean first = true;
                for (VectorSchemaRoot next = input.next(); next != null; next = input.next()) {
                    try (VectorSchemaRoot batch = next; ArrowRecordBatch rb = new VectorUnloader(batch).getRecordBatch()) {
                        if (first) MessageSerializer.serialize(channel, batch.getSchema());
                        first = false;
                        MessageSerializer.serialize(channel, rb);
                    }
                }
                if (first) MessageSerializer.serialize(channel, input.arrowSchema());
                ArrowStreamWriter.writeEndOfStream(channel, IpcOption.DEFAULT);
                out.flush();
            } catch (Throwable t) {
                writeFailure = t;
            }
        }

        @Override
        protected VectorSchemaRoot nextBatch() {
            try {
                int tag = in.readInt();
                if (tag == 0) {
                    reusable = true;
                    return null;
                }
                if (tag == 2) {
                    byte[] text = new byte[in.readInt()];
                    in.readFully(text);
                    throw new IllegalStateException("the Python worker failed:\n" + new String(text, StandardCharsets.UTF_8));
                }
                try (ArrowRecordBatch rb = MessageSerializer.deserializeRecordBatch(channel, allocator)) {
                    new VectorLoader(root).load(rb);
                }
                return root;
            } catch (IOException e) {
                Throwable w = writeFailure;
                UncheckedIOException failure = new UncheckedIOException("the Python worker's output broke off", e);
                if (w != null) failure.addSuppressed(w);
                throw failure;
            }
        }

        void close(Thread writer) {
            try {
                writer.join(reusable ? 10_000 : 1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (reusable && !writer.isAlive() && writeFailure == null) IDLE.add(worker);
            else worker.destroyForcibly();
            root.close();
            allocator.close();
        }
    }
}
