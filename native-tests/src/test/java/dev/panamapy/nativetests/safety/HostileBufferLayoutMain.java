package dev.panamapy.nativetests.safety;

import dev.panamapy.BufferRequest;
import dev.panamapy.CPython;
import dev.panamapy.HarnessSpec;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PyBufferView;
import dev.panamapy.PyObject;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.function.Function;

/**
 * Child JVM of {@link HostileBufferLayoutTest}: takes a buffer with a hostile layout from Python
 * (a {@code _testbuffer.ndarray}, or an unchecked JavaBuffer standing in for a careless C
 * exporter) through {@link PyBufferView}, and prints what Java did: {@code RESULT ACCEPTED ...}
 * with what it read, or {@code RESULT REFUSED <exception>: <message>}. Had Java made a segment
 * beyond the buffer, or wrapped an address, reading would be SIGSEGV: the parent sees a crash.
 */
public final class HostileBufferLayoutMain {
    private HostileBufferLayoutMain() { }

    public static void main(String[] args) {
        CPython py = CPython.start();
        py.exec("from _testbuffer import ndarray, ND_PIL");
        Arena arena = Arena.ofAuto();
        String result;
        try {
            result = switch (args[0]) {
                case "testbuffer-wrapped-len" -> fromPython(py, "ndarray(list(range(16)), shape=[2**62, 2], strides=[0, 1], format='B')",
                        v -> "len " + v.byteLength());
                case "testbuffer-len-0-huge-shape" -> fromPython(py,
                        "ndarray(list(range(16)), shape=[2**31, 2**31, 4], strides=[0, 0, 1], format='B')",
                        v -> "items " + v.itemCount());
                case "testbuffer-huge-zero-stride" -> fromPython(py, "ndarray(list(range(16)), shape=[2**40], strides=[0], format='B')",
                        v -> "segment=" + v.segment().byteSize() + " items=" + v.itemCount() + " first=" + v.getAsLong(0)
                                + " last=" + v.getAsLong((1L << 40) - 1) + " copy=" + attempt(v::copyToByteArray));
                case "testbuffer-negative-strides" -> fromPython(py,
                        "ndarray(list(range(16)), shape=[4, 4], strides=[-4, -1], offset=15, format='B')",
                        v -> "segment=" + v.segment().byteSize() + " origin=" + v.offset() + " [0,0]=" + v.getAsLong(0, 0)
                                + " [1,2]=" + v.getAsLong(1, 2) + " [3,3]=" + v.getAsLong(3, 3)
                                + " all=" + Arrays.toString(v.copyToLongArray()));
                case "testbuffer-empty-huge" -> fromPython(py,
                        "ndarray(list(range(16)), shape=[0, 2**62], strides=[2**62, 2**62], format='B')",
                        v -> "segment=" + v.segment().byteSize() + " items=" + v.itemCount() + " copy=" + v.copyToByteArray().length);
                case "testbuffer-pil" -> fromPython(py, "ndarray(list(range(12)), shape=[3, 4], format='B', flags=ND_PIL)",
                        v -> "segment=" + v.segment().byteSize() + " suboffsets=" + Arrays.toString(v.suboffsets())
                                + " all=" + Arrays.toString(v.copyToLongArray()));
                case "java-wrapping-strides" -> fromJava(py, HarnessSpec.of(arena.allocate(16), "B").shape(2, 2)
                        .strides(1L << 62, 1L << 62), v -> "segment=" + v.segment().byteSize());
                case "java-len-mismatch" -> fromJava(py, HarnessSpec.of(arena.allocate(16), "d").shape(2).len(1000),
                        v -> "segment=" + v.segment().byteSize());
                case "java-ndim-65" -> fromJava(py, HarnessSpec.of(arena.allocate(16), "B").layout(0, ones(65),
                        new long[65]), v -> "ndim=" + v.ndim());
                case "java-negative-shape" -> fromJava(py, HarnessSpec.of(arena.allocate(16), "B")
                        .layout(0, new long[]{-1}, new long[]{1}).len(0), v -> "items=" + v.itemCount());
                case "java-negative-itemsize" -> fromJava(py, HarnessSpec.of(arena.allocate(16), "B").itemsize(-1),
                        v -> "items=" + v.itemCount());
                case "java-address-wrap" -> {
                    MemorySegment seg = arena.allocate(16);
                    yield fromJava(py, HarnessSpec.of(seg, "B").layout(0, new long[]{2}, new long[]{-(seg.address() + 1)}),
                            v -> "segment=" + v.segment().byteSize());
                }
                case "java-min-stride" -> fromJava(py, HarnessSpec.of(arena.allocate(16), "B")
                        .layout(0, new long[]{2}, new long[]{Long.MIN_VALUE}), v -> "segment=" + v.segment().byteSize());
                case "java-pointer-at-the-top" -> {
                    // one row of 3 ints behind a pointer 4 bytes below 2^64: the last item's address wraps
                    MemorySegment pointers = arena.allocate(8, 8);
                    pointers.set(ValueLayout.JAVA_LONG, 0, -4L);
                    yield fromJava(py, HarnessSpec.of(pointers, "i").shape(1, 3).strides(8, 4).suboffsets(0, -1),
                            v -> "segment=" + v.segment().byteSize() + " [0,2]=" + attempt(() -> v.getAsLong(0, 2))
                                    + " [0,0]=" + attempt(() -> v.getAsLong(0, 0)));
                }
                default -> throw new IllegalArgumentException("no case " + args[0]);
            };
        } catch (RuntimeException e) {
            result = "REFUSED " + e.getClass().getSimpleName() + ": " + e.getMessage();
        }
        py.exec("import gc; gc.collect()");
        System.out.println("RESULT " + result);
        System.out.println("LIVE VIEWS " + py.diagnostics().liveViews());
        System.out.flush();
        System.exit(0);
    }

    private static String fromPython(CPython py, String expr, Function<PyBufferView, String> read) {
        try (PyObject x = py.eval(expr); PyBufferView v = x.getBuffer(BufferRequest.FULL_RO)) {
            return "ACCEPTED " + read.apply(v);
        }
    }

    private static String fromJava(CPython py, HarnessSpec spec, Function<PyBufferView, String> read) {
        try (JavaBuffer b = py.export(spec); PyObject x = b.asPyObject()) {
            try (PyBufferView v = x.getBuffer(BufferRequest.FULL_RO)) {
                return "ACCEPTED " + read.apply(v);
            }
        }
    }

    private static String attempt(java.util.function.Supplier<Object> read) {
        try {
            Object r = read.get();
            return r instanceof byte[] b ? "bytes[" + b.length + "]" : String.valueOf(r);
        } catch (RuntimeException e) {
            return e.getClass().getSimpleName();
        }
    }

    private static long[] ones(int n) {
        long[] a = new long[n];
        Arrays.fill(a, 1);
        return a;
    }
}
