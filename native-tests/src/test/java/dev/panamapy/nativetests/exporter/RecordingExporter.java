package dev.panamapy.nativetests.exporter;

import dev.panamapy.BufferExporter;
import dev.panamapy.BufferLayout;
import dev.panamapy.BufferRequest;
import dev.panamapy.BufferSpec;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** A {@link BufferExporter} that hands out one spec and records what it was asked and told. */
public final class RecordingExporter implements BufferExporter {
    /** The raw request flags of each getBuffer call, in order. */
    public final List<Integer> requests = new CopyOnWriteArrayList<>();
    /** The spec returned by each getBuffer call. */
    public final List<BufferSpec> given = new CopyOnWriteArrayList<>();
    /** The spec passed to each releaseBuffer call. */
    public final List<BufferLayout> released = new CopyOnWriteArrayList<>();
    private final BufferSpec spec;

    public RecordingExporter(BufferSpec spec) { this.spec = spec; }

    @Override
    public BufferSpec getBuffer(BufferRequest request) {
        requests.add(request.flags());
        given.add(spec);
        return spec;
    }

    @Override
    public void releaseBuffer(BufferLayout view) { released.add(view); }
}
