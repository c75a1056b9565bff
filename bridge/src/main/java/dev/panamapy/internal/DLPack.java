package dev.panamapy.internal;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.ByteOrder;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The DLPack ABI (dlpack.h, v1.x) as offsets, and the mapping between its data types and
 * struct-module formats; shared by {@link DLPackExport} ({@code JavaBuffer.__dlpack__}) and
 * {@link DLPackImport} (Java reading any {@code __dlpack__} producer). Hand-written offsets,
 * checked against dlpack.h: every field is naturally aligned on the 64-bit ABIs the JDK
 * supports, so the C layout is the sum of the sizes below.
 *
 * <pre>
 * DLTensor (48):               data 0, device {int32 type, int32 id} 8, ndim int32 16,
 *                              dtype {uint8 code, uint8 bits, uint16 lanes} 20, shape* 24,
 *                              strides* 32 (in elements), byte_offset uint64 40
 * DLManagedTensor (64):        dl_tensor 0, manager_ctx 48, deleter 56
 * DLManagedTensorVersioned (80): version {uint32 major, uint32 minor} 0, manager_ctx 8,
 *                              deleter 16, flags uint64 24, dl_tensor 32
 * </pre>
 */
final class DLPack {
    private DLPack() { }

    // DLTensor fields, relative to the tensor
    static final long DATA = 0, DEVICE_TYPE = 8, DEVICE_ID = 12, NDIM = 16, DTYPE_CODE = 20, DTYPE_BITS = 21,
            DTYPE_LANES = 22, SHAPE = 24, STRIDES = 32, BYTE_OFFSET = 40, TENSOR_SIZE = 48;
    // DLManagedTensor (legacy, capsule "dltensor")
    static final long LEGACY_TENSOR = 0, LEGACY_CTX = 48, LEGACY_DELETER = 56, LEGACY_SIZE = 64;
    // DLManagedTensorVersioned (capsule "dltensor_versioned")
    static final long V_MAJOR = 0, V_MINOR = 4, V_CTX = 8, V_DELETER = 16, V_FLAGS = 24, V_TENSOR = 32, V_SIZE = 80;

    /** The version this bridge produces and reads (1.0: the versioned struct, the read-only flag). */
    static final int MAJOR = 1, MINOR = 0;
    static final long FLAG_READ_ONLY = 1L, FLAG_IS_COPIED = 1L << 1;

    /** kDLCPU: the only device Java memory lives on. */
    static final int CPU = 1;

    // DLDataTypeCode
    static final int INT = 0, UINT = 1, FLOAT = 2, BFLOAT = 4, COMPLEX = 5, BOOL = 6;

    static final String LEGACY_NAME = "dltensor", VERSIONED_NAME = "dltensor_versioned";
    static final String USED_LEGACY_NAME = "used_dltensor", USED_VERSIONED_NAME = "used_dltensor_versioned";

    /** The DLPack data type of a struct-module format: {@code code | bits << 8} (lanes 1), or -1 if it has none. */
    static int dtypeOf(String format) {
        if (format == null) return UINT | 8 << 8;                 // no format: unsigned bytes
        String f = format;
        if (!f.isEmpty() && (f.charAt(0) == '@' || f.charAt(0) == '='
                || (f.charAt(0) == '<' && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN))) {
            if (f.charAt(0) != '@' && f.length() == 2 && "lLnN".indexOf(f.charAt(1)) >= 0) return -1;  // standard sizes: rare, refuse
            f = f.substring(1);
        }
        if (f.equals("Zf")) return COMPLEX | 64 << 8;
        if (f.equals("Zd")) return COMPLEX | 128 << 8;
        if (f.length() != 1) return -1;
        char c = f.charAt(0);
        int code;
        switch (c) {
            case 'b', 'h', 'i', 'l', 'q', 'n' -> code = INT;
            case 'B', 'H', 'I', 'L', 'Q', 'N' -> code = UINT;
            case 'e', 'f', 'd' -> code = FLOAT;
            case '?' -> code = BOOL;
            default -> { return -1; }
        }
        long size = StructFormat.codeSize(c, true);
        return code | (int) (size * 8) << 8;
    }

    /** The struct-module format of a DLPack data type, or null if the bridge cannot read it. */
    static String formatOf(int code, int bits, int lanes) {
        if (lanes != 1) return null;
        return switch (code) {
            case INT -> switch (bits) { case 8 -> "b"; case 16 -> "h"; case 32 -> "i"; case 64 -> "q"; default -> null; };
            case UINT -> switch (bits) { case 8 -> "B"; case 16 -> "H"; case 32 -> "I"; case 64 -> "Q"; default -> null; };
            case FLOAT -> switch (bits) { case 16 -> "e"; case 32 -> "f"; case 64 -> "d"; default -> null; };
            case BOOL -> bits == 8 ? "?" : null;
            case COMPLEX -> switch (bits) { case 64 -> "Zf"; case 128 -> "Zd"; default -> null; };
            default -> null;
        };
    }

    /** A DLPack data type for messages: "float64", "bfloat16", "int32x4". */
    static String dtypeName(int code, int bits, int lanes) {
        String kind = switch (code) {
            case INT -> "int"; case UINT -> "uint"; case FLOAT -> "float"; case BFLOAT -> "bfloat";
            case COMPLEX -> "complex"; case BOOL -> "bool"; case 3 -> "opaque_handle";
            default -> "type code " + code + " ";
        };
        return kind + bits + (lanes != 1 ? "x" + lanes : "");
    }

    // ---- the C calls DLPack needs beyond the bindings and Capsules: libc malloc/free, deleters

    private static final Linker LINKER = Linker.nativeLinker();

    private static MethodHandle c(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow(name), fd);
    }

    static final class C {
        private C() { }
        static final MethodHandle MALLOC = c("malloc", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG));
        static final MethodHandle FREE = c("free", FunctionDescriptor.ofVoid(JAVA_LONG));
        /** void (*deleter)(DLManagedTensor[Versioned] *): calls a producer's deleter. */
        static final MethodHandle CALL_DELETER = LINKER.downcallHandle(FunctionDescriptor.ofVoid(JAVA_LONG));
    }

    /** malloc; never 0. */
    static long malloc(long size) {
        try {
            long p = (long) C.MALLOC.invokeExact(size);
            if (p == 0) throw new OutOfMemoryError("malloc(" + size + ") failed");
            return p;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** free; safe on any thread, with or without the GIL. */
    static void free(long p) {
        try {
            C.FREE.invokeExact(p);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** Calls a producer's deleter on its managed tensor (either struct). */
    static void callDeleter(long deleter, long managed) {
        try {
            C.CALL_DELETER.invokeExact(MemorySegment.ofAddress(deleter), managed);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) throw r;
        if (t instanceof Error e) throw e;
        throw new IllegalStateException(t);
    }
}
