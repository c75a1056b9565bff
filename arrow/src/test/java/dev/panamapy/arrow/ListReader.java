package dev.panamapy.arrow;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.ipc.ArrowReader;
import org.apache.arrow.vector.types.pojo.Schema;

import java.util.ArrayList;
import java.util.List;

/** An ArrowReader over Java batches (transferred into its root one by one; it owns them). */
class ListReader extends ArrowReader {
    private final List<VectorSchemaRoot> batches;
    private int next;
    boolean closed;

    ListReader(BufferAllocator allocator, List<VectorSchemaRoot> batches) {
        super(allocator);
        this.batches = new ArrayList<>(batches);
    }

    @Override
    public boolean loadNextBatch() throws java.io.IOException {
        prepareLoadNextBatch();
        if (next == batches.size()) return false;
        VectorSchemaRoot b = batches.get(next++);
        VectorSchemaRoot root = getVectorSchemaRoot();
        List<FieldVector> from = b.getFieldVectors(), to = root.getFieldVectors();
        for (int i = 0; i < from.size(); i++) from.get(i).makeTransferPair(to.get(i)).transfer();
        root.setRowCount(b.getRowCount());
        b.close();
        return true;
    }

    @Override
    public long bytesRead() { return 0; }

    @Override
    protected void closeReadSource() {
        closed = true;
        for (int i = next; i < batches.size(); i++) batches.get(i).close();
    }

    @Override
    protected Schema readSchema() { return batches.get(0).getSchema(); }
}
