package dev.panamapy.arrow;

import org.apache.arrow.memory.BufferAllocator;
import org.apache.arrow.vector.BigIntVector;
import org.apache.arrow.vector.BitVector;
import org.apache.arrow.vector.DateDayVector;
import org.apache.arrow.vector.DecimalVector;
import org.apache.arrow.vector.FieldVector;
import org.apache.arrow.vector.FixedSizeBinaryVector;
import org.apache.arrow.vector.Float4Vector;
import org.apache.arrow.vector.Float8Vector;
import org.apache.arrow.vector.IntVector;
import org.apache.arrow.vector.LargeVarCharVector;
import org.apache.arrow.vector.SmallIntVector;
import org.apache.arrow.vector.TimeStampMicroTZVector;
import org.apache.arrow.vector.VarBinaryVector;
import org.apache.arrow.vector.VarCharVector;
import org.apache.arrow.vector.VectorSchemaRoot;
import org.apache.arrow.vector.complex.ListVector;
import org.apache.arrow.vector.complex.StructVector;
import org.apache.arrow.vector.complex.impl.UnionListWriter;
import org.apache.arrow.vector.types.pojo.ArrowType;
import org.apache.arrow.vector.types.pojo.FieldType;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Random record batches over Java-owned vectors: random columns of random types, rows and nulls. */
final class RandomBatches {
    private RandomBatches() { }

    private static final int KINDS = 14;

    static VectorSchemaRoot next(Random r, BufferAllocator a) {
        int cols = 1 + r.nextInt(6);
        int rows = r.nextInt(5) == 0 ? 0 : r.nextInt(200);
        List<FieldVector> vectors = new ArrayList<>();
        try {
            for (int c = 0; c < cols; c++) vectors.add(column(r, a, "c" + c, r.nextInt(KINDS), rows));
        } catch (RuntimeException e) {
            vectors.forEach(FieldVector::close);
            throw e;
        }
        return new VectorSchemaRoot(vectors.stream().map(FieldVector::getField).toList(), vectors, rows);
    }

    private static boolean isNull(Random r) { return r.nextInt(7) == 0; }

    private static FieldVector column(Random r, BufferAllocator a, String name, int kind, int n) {
        switch (kind) {
            case 0 -> {
                IntVector v = new IntVector(name, a);
                v.allocateNew(n);
                for (int i = 0; i < n; i++) if (isNull(r)) v.setNull(i); else v.set(i, r.nextInt());
                v.setValueCount(n);
                return v;
            }
            case 1 -> {
                BigIntVector v = new BigIntVector(name, a);
                v.allocateNew(n);
                for (int i = 0; i < n; i++) if (isNull(r)) v.setNull(i); else v.set(i, r.nextLong());
                v.setValueCount(n);
                return v;
            }
            case 2 -> {
                Float8Vector v = new Float8Vector(name, a);
                v.allocateNew(n);
                for (int i = 0; i < n; i++) if (isNull(r)) v.setNull(i); else v.set(i, r.nextDouble());
                v.setValueCount(n);
                return v;
            }
            case 3 -> {
                VarCharVector v = new VarCharVector(name, a);
                v.allocateNew();
                for (int i = 0; i < n; i++) if (isNull(r)) v.setNull(i); else v.setSafe(i, text(r));
                v.setValueCount(n);
                return v;
            }
            case 4 -> {
                BitVector v = new BitVector(name, a);
                v.allocateNew(n);
                for (int i = 0; i < n; i++) if (isNull(r)) v.setNull(i); else v.set(i, r.nextBoolean() ? 1 : 0);
                v.setValueCount(n);
                return v;
            }
            case 5 -> {
                LargeVarCharVector v = new LargeVarCharVector(name, a);
                v.allocateNew();
                for (int i = 0; i < n; i++) if (isNull(r)) v.setNull(i); else v.setSafe(i, text(r));
                v.setValueCount(n);
                return v;
            }
            case 6 -> {
                DateDayVector v = new DateDayVector(name, a);
                v.allocateNew(n);
                for (int i = 0; i < n; i++) if (isNull(r)) v.setNull(i); else v.set(i, r.nextInt(40000));
                v.setValueCount(n);
                return v;
            }
            case 7 -> {
                TimeStampMicroTZVector v = new TimeStampMicroTZVector(name, a, "Asia/Tokyo");
                v.allocateNew(n);
                for (int i = 0; i < n; i++) if (isNull(r)) v.setNull(i); else v.set(i, r.nextLong() >>> 12);
                v.setValueCount(n);
                return v;
            }
            case 8 -> {
                DecimalVector v = new DecimalVector(name, a, 18, 3);
                v.allocateNew(n);
                for (int i = 0; i < n; i++) if (isNull(r)) v.setNull(i); else v.set(i, BigDecimal.valueOf(r.nextInt(), 3));
                v.setValueCount(n);
                return v;
            }
            case 9 -> {
                FixedSizeBinaryVector v = new FixedSizeBinaryVector(name, a, 5);
                v.allocateNew(n);
                for (int i = 0; i < n; i++) {
                    if (isNull(r)) v.setNull(i);
                    else { byte[] b = new byte[5]; r.nextBytes(b); v.set(i, b); }
                }
                v.setValueCount(n);
                return v;
            }
            case 10 -> {
                VarBinaryVector v = new VarBinaryVector(name, a);
                v.allocateNew();
                for (int i = 0; i < n; i++) {
                    if (isNull(r)) v.setNull(i);
                    else { byte[] b = new byte[r.nextInt(9)]; r.nextBytes(b); v.setSafe(i, b); }
                }
                v.setValueCount(n);
                return v;
            }
            case 11 -> {
                SmallIntVector v = new SmallIntVector(name, a);
                v.allocateNew(n);
                for (int i = 0; i < n; i++) if (isNull(r)) v.setNull(i); else v.set(i, (short) r.nextInt());
                v.setValueCount(n);
                return v;
            }
            case 12 -> {
                ListVector v = ListVector.empty(name, a);
                UnionListWriter w = v.getWriter();
                for (int i = 0; i < n; i++) {
                    w.setPosition(i);
                    if (isNull(r)) { w.writeNull(); continue; }
                    w.startList();
                    int k = r.nextInt(4);
                    for (int j = 0; j < k; j++) w.integer().writeInt(r.nextInt());
                    w.endList();
                }
                v.setValueCount(n);
                return v;
            }
            default -> {
                StructVector v = StructVector.empty(name, a);
                IntVector x = v.addOrGet("x", FieldType.nullable(new ArrowType.Int(32, true)), IntVector.class);
                Float4Vector y = v.addOrGet("y", FieldType.nullable(new ArrowType.FloatingPoint(
                        org.apache.arrow.vector.types.FloatingPointPrecision.SINGLE)), Float4Vector.class);
                v.allocateNew();
                for (int i = 0; i < n; i++) {
                    if (isNull(r)) { v.setNull(i); x.setNull(i); y.setNull(i); continue; }
                    v.setIndexDefined(i);
                    x.setSafe(i, r.nextInt());
                    if (isNull(r)) y.setNull(i); else y.setSafe(i, r.nextFloat());
                }
                x.setValueCount(n);
                y.setValueCount(n);
                v.setValueCount(n);
                return v;
            }
        }
    }

    private static byte[] text(Random r) {
        int len = r.nextInt(12);
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < len; i++) b.append((char) ('a' + r.nextInt(26)));
        if (r.nextInt(10) == 0) b.append("é✓");
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }
}
