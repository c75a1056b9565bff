package dev.panamapy;

/**
 * The request flags of PEP 3118 ({@code PyBUF_*}): what a consumer asks of an exporter. The
 * named constants are the combinations the PEP defines; {@link #of(int)} takes any raw value.
 */
public record BufferRequest(int flags) {

    // the bits (values from CPython's pybuffer.h; stable since 3.0)
    public static final int PyBUF_SIMPLE = 0;
    public static final int PyBUF_WRITABLE = 0x0001;
    public static final int PyBUF_FORMAT = 0x0004;
    public static final int PyBUF_ND = 0x0008;
    public static final int PyBUF_STRIDES = 0x0010 | PyBUF_ND;
    public static final int PyBUF_C_CONTIGUOUS = 0x0020 | PyBUF_STRIDES;
    public static final int PyBUF_F_CONTIGUOUS = 0x0040 | PyBUF_STRIDES;
    public static final int PyBUF_ANY_CONTIGUOUS = 0x0080 | PyBUF_STRIDES;
    public static final int PyBUF_INDIRECT = 0x0100 | PyBUF_STRIDES;

    /** Contiguous bytes, read-only allowed: no format, no shape. */
    public static final BufferRequest SIMPLE = new BufferRequest(PyBUF_SIMPLE);
    /** Contiguous writable bytes. */
    public static final BufferRequest WRITABLE = new BufferRequest(PyBUF_WRITABLE);
    /** Format only (exporters that follow {@code _testbuffer} refuse it without ND). */
    public static final BufferRequest FORMAT = new BufferRequest(PyBUF_FORMAT);
    /** Shape, C-contiguous, no strides. */
    public static final BufferRequest ND = new BufferRequest(PyBUF_ND);
    /** Shape and strides. */
    public static final BufferRequest STRIDES = new BufferRequest(PyBUF_STRIDES);
    public static final BufferRequest C_CONTIGUOUS = new BufferRequest(PyBUF_C_CONTIGUOUS);
    public static final BufferRequest F_CONTIGUOUS = new BufferRequest(PyBUF_F_CONTIGUOUS);
    public static final BufferRequest ANY_CONTIGUOUS = new BufferRequest(PyBUF_ANY_CONTIGUOUS);
    public static final BufferRequest INDIRECT = new BufferRequest(PyBUF_INDIRECT);
    /** {@code PyBUF_CONTIG}: ND | WRITABLE. */
    public static final BufferRequest CONTIG = new BufferRequest(PyBUF_ND | PyBUF_WRITABLE);
    public static final BufferRequest CONTIG_RO = new BufferRequest(PyBUF_ND);
    /** {@code PyBUF_STRIDED}: STRIDES | WRITABLE. */
    public static final BufferRequest STRIDED = new BufferRequest(PyBUF_STRIDES | PyBUF_WRITABLE);
    public static final BufferRequest STRIDED_RO = new BufferRequest(PyBUF_STRIDES);
    /** {@code PyBUF_RECORDS}: STRIDES | WRITABLE | FORMAT. */
    public static final BufferRequest RECORDS = new BufferRequest(PyBUF_STRIDES | PyBUF_WRITABLE | PyBUF_FORMAT);
    public static final BufferRequest RECORDS_RO = new BufferRequest(PyBUF_STRIDES | PyBUF_FORMAT);
    /** {@code PyBUF_FULL}: INDIRECT | WRITABLE | FORMAT: everything, writable. */
    public static final BufferRequest FULL = new BufferRequest(PyBUF_INDIRECT | PyBUF_WRITABLE | PyBUF_FORMAT);
    /** {@code PyBUF_FULL_RO}: INDIRECT | FORMAT: everything, read-only allowed. */
    public static final BufferRequest FULL_RO = new BufferRequest(PyBUF_INDIRECT | PyBUF_FORMAT);

    /** Any raw combination of {@code PyBUF_*} bits. */
    public static BufferRequest of(int flags) { return new BufferRequest(flags); }

    /** This request plus WRITABLE. */
    public BufferRequest writable() { return new BufferRequest(flags | PyBUF_WRITABLE); }

    /** This request plus FORMAT. */
    public BufferRequest withFormat() { return new BufferRequest(flags | PyBUF_FORMAT); }

    // the predicates, named as in CPython's memoryobject.c
    public boolean wantsWritable() { return (flags & PyBUF_WRITABLE) != 0; }
    public boolean wantsFormat() { return (flags & PyBUF_FORMAT) != 0; }
    public boolean wantsShape() { return (flags & PyBUF_ND) == PyBUF_ND; }
    public boolean wantsStrides() { return (flags & PyBUF_STRIDES) == PyBUF_STRIDES; }
    public boolean wantsCContiguous() { return (flags & PyBUF_C_CONTIGUOUS) == PyBUF_C_CONTIGUOUS; }
    public boolean wantsFContiguous() { return (flags & PyBUF_F_CONTIGUOUS) == PyBUF_F_CONTIGUOUS; }
    public boolean wantsAnyContiguous() { return (flags & PyBUF_ANY_CONTIGUOUS) == PyBUF_ANY_CONTIGUOUS; }
    public boolean wantsIndirect() { return (flags & PyBUF_INDIRECT) == PyBUF_INDIRECT; }

    @Override
    public String toString() { return describe(flags); }

    /** "STRIDES|WRITABLE|FORMAT" style. */
    public static String describe(int flags) {
        StringBuilder sb = new StringBuilder();
        int f = flags;
        String shape = (f & PyBUF_INDIRECT) == PyBUF_INDIRECT ? "INDIRECT"
                : (f & PyBUF_C_CONTIGUOUS) == PyBUF_C_CONTIGUOUS ? "C_CONTIGUOUS"
                : (f & PyBUF_F_CONTIGUOUS) == PyBUF_F_CONTIGUOUS ? "F_CONTIGUOUS"
                : (f & PyBUF_ANY_CONTIGUOUS) == PyBUF_ANY_CONTIGUOUS ? "ANY_CONTIGUOUS"
                : (f & PyBUF_STRIDES) == PyBUF_STRIDES ? "STRIDES"
                : (f & PyBUF_ND) == PyBUF_ND ? "ND" : "SIMPLE";
        sb.append(shape);
        if ((f & PyBUF_WRITABLE) != 0) sb.append("|WRITABLE");
        if ((f & PyBUF_FORMAT) != 0) sb.append("|FORMAT");
        int known = PyBUF_WRITABLE | PyBUF_FORMAT | PyBUF_INDIRECT | PyBUF_C_CONTIGUOUS | PyBUF_F_CONTIGUOUS
                | PyBUF_ANY_CONTIGUOUS;
        if ((f & ~known) != 0) sb.append("|0x").append(Integer.toHexString(f & ~known));
        return sb.toString();
    }
}
