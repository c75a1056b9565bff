package dev.panamapy.arrow;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;

import java.nio.charset.StandardCharsets;
import java.util.List;

/** Java-owned sample data for the tests. */
final class Samples {
    private Samples() { }

    /** id (int64, every 5th from 3 null), name (utf8 "n" + i), x (float64 i / 2). */
    static VectorSchemaRoot root(BufferAllocator a, int n) {
        BigIntVector ids = new BigIntVector("id", a);
        VarCharVector names = new VarCharVector("name", a);
        Float8Vector xs = new Float8Vector("x", a);
        ids.allocateNew(n);
        names.allocateNew(n);
        xs.allocateNew(n);
        for (int i = 0; i < n; i++) {
            if (i % 5 == 3) ids.setNull(i); else ids.set(i, i * 10L);
            names.setSafe(i, ("n" + i).getBytes(StandardCharsets.UTF_8));
            xs.set(i, i / 2.0);
        }
        ids.setValueCount(n);
        names.setValueCount(n);
        xs.setValueCount(n);
        return new VectorSchemaRoot(List.of(ids.getField(), names.getField(), xs.getField()), List.of(ids, names, xs), n);
    }
}
