package dev.panamapy.internal;

import static dev.panamapy.BufferRequest.*;

/**
 * The PEP 3118 request rules, as CPython's reference exporter ({@code _testbuffer.ndarray},
 * {@code ndarray_getbuf} in {@code Modules/_testbuffer.c}) applies them, one named predicate a
 * rule, in the same order and with the same words, so the two read side by side:
 *
 * <ol>
 *   <li>WRITABLE on a read-only view: "ndarray is not writable"</li>
 *   <li>no FORMAT: format = NULL (bytes), itemsize unchanged</li>
 *   <li>C_/F_/ANY_CONTIGUOUS the view is not: "... is not C-contiguous" ...</li>
 *   <li>no INDIRECT and the view has suboffsets: "... cannot be represented without suboffsets"</li>
 *   <li>no STRIDES: the view must be C-contiguous; strides = NULL</li>
 *   <li>no ND: with FORMAT it is refused ("cannot cast to unsigned bytes if the format flag is
 *       present"); otherwise ndim = 1, shape = NULL</li>
 * </ol>
 * Our messages say "JavaBuffer" where {@code _testbuffer} says "ndarray".
 */
public final class BufferRules {
    private BufferRules() { }

    /** Every request bit PEP 3118 defines. */
    static final int KNOWN_BITS = PyBUF_WRITABLE | PyBUF_FORMAT | PyBUF_ND | PyBUF_STRIDES | PyBUF_C_CONTIGUOUS
            | PyBUF_F_CONTIGUOUS | PyBUF_ANY_CONTIGUOUS | PyBUF_INDIRECT;
    /** The request space: every request made of known bits is below it (512). */
    static final int REQUESTS = Integer.highestOneBit(KNOWN_BITS) << 1;

    static boolean reqWritable(int f) { return (f & PyBUF_WRITABLE) != 0; }
    static boolean reqFormat(int f) { return (f & PyBUF_FORMAT) != 0; }
    static boolean reqShape(int f) { return (f & PyBUF_ND) == PyBUF_ND; }
    static boolean reqStrides(int f) { return (f & PyBUF_STRIDES) == PyBUF_STRIDES; }
    static boolean reqCContiguous(int f) { return (f & PyBUF_C_CONTIGUOUS) == PyBUF_C_CONTIGUOUS; }
    static boolean reqFContiguous(int f) { return (f & PyBUF_F_CONTIGUOUS) == PyBUF_F_CONTIGUOUS; }
    static boolean reqAnyContiguous(int f) { return (f & PyBUF_ANY_CONTIGUOUS) == PyBUF_ANY_CONTIGUOUS; }
    static boolean reqIndirect(int f) { return (f & PyBUF_INDIRECT) == PyBUF_INDIRECT; }

    /**
     * Why this request cannot be met for a view with these facts, or null if it can.
     *
     * @param readOnly      the view is read-only
     * @param cContiguous   {@code PyBuffer_IsContiguous(view, 'C')}
     * @param fContiguous   {@code PyBuffer_IsContiguous(view, 'F')}
     * @param hasSuboffsets the view has suboffsets
     */
    public static String refusal(int flags, boolean readOnly, boolean cContiguous, boolean fContiguous,
                                 boolean hasSuboffsets) {
        if (reqWritable(flags) && readOnly) return "JavaBuffer is not writable";
        if (reqCContiguous(flags) && !cContiguous) return "JavaBuffer is not C-contiguous";
        if (reqFContiguous(flags) && !fContiguous) return "JavaBuffer is not Fortran contiguous";
        if (reqAnyContiguous(flags) && !(cContiguous || fContiguous)) return "JavaBuffer is not contiguous";
        if (!reqIndirect(flags) && hasSuboffsets) return "JavaBuffer cannot be represented without suboffsets";
        if (!reqStrides(flags) && !cContiguous) return "JavaBuffer is not C-contiguous";
        if (!reqShape(flags) && reqFormat(flags)) {
            return "JavaBuffer: cannot cast to unsigned bytes if the format flag is present";
        }
        return null;
    }

    /** Whether the filled view carries the format (else NULL: unsigned bytes). */
    public static boolean giveFormat(int flags) { return reqFormat(flags); }

    /** Whether the filled view carries strides (else NULL: C-contiguous). */
    public static boolean giveStrides(int flags) { return reqStrides(flags); }

    /** Whether the filled view carries its shape and ndim (else ndim = 1, shape = NULL). */
    public static boolean giveShape(int flags) { return reqShape(flags); }

    /**
     * The requests a view with these facts accepts, one bit per request in {@code [0, REQUESTS)},
     * worked out once for a view that never changes, so that {@link #accepts} is one lookup.
     *
     * @param refusedFlags a harness's refusal ({@code HarnessSpec.refusing}): every request with
     *                     all these bits is refused too; 0 for none
     */
    static long[] acceptedRequests(boolean readOnly, boolean cContiguous, boolean fContiguous, boolean hasSuboffsets,
                                   int refusedFlags) {
        long[] accepted = new long[REQUESTS / Long.SIZE];
        for (int f = 0; f < REQUESTS; f++) {
            boolean harnessRefuses = refusedFlags != 0 && (f & refusedFlags) == refusedFlags;
            if (!harnessRefuses && refusal(f, readOnly, cContiguous, fContiguous, hasSuboffsets) == null) {
                accepted[f / Long.SIZE] |= 1L << f;
            }
        }
        return accepted;
    }

    /** Whether {@code flags} is a known request that {@code accepted} (from {@link #acceptedRequests}) accepts. */
    static boolean accepts(long[] accepted, int flags) {
        return (flags & -REQUESTS) == 0 && (accepted[flags / Long.SIZE] & (1L << flags)) != 0;
    }
}
