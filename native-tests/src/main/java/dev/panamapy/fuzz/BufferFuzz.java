package dev.panamapy.fuzz;

import dev.panamapy.BufferLayout;
import dev.panamapy.BufferRequest;
import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.Gil;
import dev.panamapy.HarnessSpec;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PyBufferView;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Differential fuzzing of {@code panamapy.JavaBuffer} against CPython's reference exporter
 * {@code _testbuffer.ndarray}. Each case is a random layout, built both ways over identical
 * bytes:
 * <ul>
 *   <li>format: one of {@link #CODES} with a byte-order prefix ("", "@", "=", "<", ">", "!";
 *       native-only codes n/N only without one or with "@");</li>
 *   <li>ndim 0-4, each dimension 0-4 long (zero-length dimensions included);</li>
 *   <li>strides: C order, Fortran order ({@code ND_FORTRAN}) or explicit multiples of the
 *       itemsize from -4 to 4 (zero and negative included, non-contiguous most of the time),
 *       with the offset they need plus 0-2 spare items, and 0-2 spare items at the end;</li>
 *   <li>read-only or writable; PIL-style suboffsets ({@code ND_PIL}, ndim >= 1) reproduced
 *       byte for byte with {@code HarnessSpec.of(..).suboffsets(..)}: the same pointer
 *       array in front of the data, the same {@code suboffsets[0]} and first stride.</li>
 * </ul>
 * For every one of the 256 combinations of the eight PyBUF_* request bits, PyObject_GetBuffer's
 * outcome on both (every Py_buffer field, buf relative to the FULL_RO buf, or the BufferError
 * with "ndarray" read as "JavaBuffer") must agree; so must memoryview's attributes,
 * {@code tolist()}, {@code tobytes()} (C and Fortran order), {@code cast('B')}, the slices
 * {@code [::-1]} and {@code [1:]}, {@code bytes(x)}, and {@code memoryview(nd) == memoryview(jb)}
 * must equal {@code memoryview(nd) == memoryview(nd)}.
 *
 * <p>The requests are made from Python through {@code ctypes.pythonapi.PyObject_GetBuffer} (a
 * {@code Py_buffer} mirrored as a ctypes Structure), which is about ten times cheaper per
 * request than a {@link PyBufferView} from Java; the Java path of the same comparison is
 * {@code RequestFlagsDifferentialTest}.
 *
 * <p>Every case is generated from {@code (seed, case number)} alone, so one case reproduces on
 * its own: {@code scripts/fuzz --seed S --case N}.
 *
 * <p>Deliberate differences from _testbuffer, excluded from the comparison: none so far (see
 * {@link #knownQuirk}).
 */
public final class BufferFuzz {

    /** struct codes tried; 'n'/'N' are native-only. */
    static final String[] CODES = {"b", "B", "h", "H", "i", "I", "l", "L", "q", "Q", "n", "N", "f", "d", "e", "?"};
    static final String[] PREFIXES = {"", "", "", "@", "=", "<", ">", "!"};

    /** The eight request bits; every subset of them is one request. */
    static final int[] BITS = {0x1, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80, 0x100};

    private static final String PY_HELPERS = """
            from _testbuffer import ndarray as _fz_ndarray, ND_WRITABLE as _FZ_W, ND_FORTRAN as _FZ_F, ND_PIL as _FZ_P
            def _fz_make(items, shape, strides, offset, fmt, readonly, fortran, pil):
                flags = (0 if readonly else _FZ_W) | (_FZ_F if fortran else 0) | (_FZ_P if pil else 0)
                kw = dict(shape=shape, offset=offset, format=fmt, flags=flags)
                if strides is not None:
                    kw['strides'] = strides
                return _fz_ndarray(items, **kw)
            def _fz_raw(items, fmt):
                return _fz_ndarray(items, shape=[len(items)], format=fmt).tobytes() if items else b''
            def _fz_o(f):
                try:
                    return repr(f())
                except Exception as e:
                    return type(e).__name__ + ': ' + str(e).replace('ndarray', 'JavaBuffer')
            _FZ_NAMES = ('attributes', 'tolist()', 'tobytes()', "tobytes('F')", "cast('B').tolist()",
                         '[::-1].tolist()', '[1:].tolist()', 'bytes(x)')
            def _fz_probe(x):
                m = memoryview(x)
                r = [_fz_o(lambda: (m.format, m.itemsize, m.ndim, m.shape, m.strides, m.suboffsets, m.readonly,
                                    m.nbytes, m.c_contiguous, m.f_contiguous, m.contiguous)),
                     _fz_o(m.tolist), _fz_o(m.tobytes), _fz_o(lambda: m.tobytes('F')),
                     _fz_o(lambda: m.cast('B').tolist()), _fz_o(lambda: m[::-1].tolist()),
                     _fz_o(lambda: m[1:].tolist()), _fz_o(lambda: bytes(x))]
                m.release()
                return r
            import ctypes as _fz_c
            class _FzView(_fz_c.Structure):
                _fields_ = [('buf', _fz_c.c_void_p), ('obj', _fz_c.c_void_p), ('len', _fz_c.c_ssize_t),
                            ('itemsize', _fz_c.c_ssize_t), ('readonly', _fz_c.c_int), ('ndim', _fz_c.c_int),
                            ('format', _fz_c.c_char_p), ('shape', _fz_c.POINTER(_fz_c.c_ssize_t)),
                            ('strides', _fz_c.POINTER(_fz_c.c_ssize_t)), ('suboffsets', _fz_c.POINTER(_fz_c.c_ssize_t)),
                            ('internal', _fz_c.c_void_p)]
            _fz_get = _fz_c.pythonapi.PyObject_GetBuffer
            _fz_get.argtypes = [_fz_c.py_object, _fz_c.POINTER(_FzView), _fz_c.c_int]
            _fz_rel = _fz_c.pythonapi.PyBuffer_Release
            _fz_rel.argtypes = [_fz_c.POINTER(_FzView)]
            _fz_rel.restype = None
            def _fz_arr(p, n):
                return 'NULL' if not p else str(p[:n])
            def _fz_outcome(x, flags, base):
                # PyObject_GetBuffer through ctypes: every Py_buffer field, or the BufferError
                v = _FzView()
                try:
                    _fz_get(x, v, flags)
                except Exception as e:
                    return type(e).__name__ + ': ' + str(e).replace('ndarray', 'JavaBuffer')
                try:
                    n = v.ndim
                    return 'buf+%d len=%d itemsize=%d readonly=%d ndim=%d format=%s shape=%s strides=%s suboffsets=%s' % (
                        v.buf - base if v.buf else -1, v.len, v.itemsize, v.readonly, n,
                        'NULL' if v.format is None else v.format.decode(),
                        _fz_arr(v.shape, n), _fz_arr(v.strides, n), _fz_arr(v.suboffsets, n))
                finally:
                    _fz_rel(v)
            _FZ_BITS = (0x1, 0x4, 0x8, 0x10, 0x20, 0x40, 0x80, 0x100)
            _FZ_FLAGS = [sum(b for i, b in enumerate(_FZ_BITS) if c & (1 << i)) for c in range(256)]
            def _fz_base(x):
                v = _FzView()
                _fz_get(x, v, 0x11c)   # PyBUF_FULL_RO
                try:
                    return v.buf or 0
                finally:
                    _fz_rel(v)
            def _fz_requests(nd, jb):
                bn, bj = _fz_base(nd), _fz_base(jb)
                out = []
                for f in _FZ_FLAGS:
                    a, b = _fz_outcome(nd, f, bn), _fz_outcome(jb, f, bj)
                    if a != b:
                        out.append('request 0x%x: ndarray %s, JavaBuffer %s' % (f, a, b))
                return out
            def _fz_compare(nd, jb):
                a, b = _fz_probe(nd), _fz_probe(jb)
                out = _fz_requests(nd, jb)[:20]
                out += ['%s: ndarray %s, JavaBuffer %s' % (n, x, y) for n, x, y in zip(_FZ_NAMES, a, b) if x != y]
                same = _fz_o(lambda: memoryview(nd) == memoryview(nd))
                cross = _fz_o(lambda: memoryview(nd) == memoryview(jb))
                if same != cross:
                    out.append('memoryview(nd) == memoryview(jb) is %s but memoryview(nd) == memoryview(nd) is %s'
                               % (cross, same))
                return '\\n'.join(out)
            """;

    /** One generated layout. */
    record Layout(String format, long[] shape, long[] strides, String order, long offset, int nitems,
                  boolean readOnly, boolean pil, String items) {
        String pyShape() { return list(shape); }

        String pyStrides() { return strides == null ? "None" : list(strides); }

        @Override
        public String toString() {
            return "format='" + format + "' shape=" + Arrays.toString(shape) + " strides="
                    + (strides == null ? order + "-order" : Arrays.toString(strides)) + " offset=" + offset
                    + " items=" + nitems + (readOnly ? " read-only" : "") + (pil ? " PIL" : "");
        }

        private static String list(long[] a) {
            StringBuilder sb = new StringBuilder("[");
            for (int i = 0; i < a.length; i++) sb.append(i > 0 ? ", " : "").append(a[i]);
            return sb.append(']').toString();
        }
    }

    /** One disagreement. */
    public record Mismatch(long seed, long caseNo, String layout, String detail) {
        public String describe(String python) {
            return "MISMATCH seed=" + seed + " case=" + caseNo + ": " + layout + "\n  " + detail.replace("\n", "\n  ")
                    + "\n  reproduce: scripts/fuzz --seed " + seed + " --case " + caseNo
                    + (python == null ? "" : " --python " + python);
        }
    }

    /** What a run did. */
    public record Result(long cases, long skipped, long requests, List<Mismatch> mismatches, long nanos) { }

    private final CPython py;
    private final PyObject make, raw, compare;

    public BufferFuzz(CPython py) {
        this.py = Objects.requireNonNull(py, "py");
        py.exec(PY_HELPERS);
        this.make = py.getGlobal("_fz_make");
        this.raw = py.getGlobal("_fz_raw");
        this.compare = py.getGlobal("_fz_compare");
    }

    // ---- generation -------------------------------------------------------------------------

    /** The random source of one case: a function of (seed, case) only. */
    static SplittableRandom rng(long seed, long caseNo) {
        return new SplittableRandom(seed * 0x9E3779B97F4A7C15L + caseNo * 0xBF58476D1CE4E5B9L + 0x94D049BB133111EBL);
    }

    static Layout generate(long seed, long caseNo) {
        SplittableRandom r = rng(seed, caseNo);
        String code = CODES[r.nextInt(CODES.length)];
        String prefix = PREFIXES[r.nextInt(PREFIXES.length)];
        if ((code.equals("n") || code.equals("N")) && !prefix.isEmpty() && !prefix.equals("@")) prefix = "";
        String format = prefix + code;
        long itemsize = itemsize(code, prefix);
        int ndim = r.nextInt(5);
        long[] shape = new long[ndim];
        for (int i = 0; i < ndim; i++) shape[i] = r.nextInt(10) == 0 ? 0 : 1 + r.nextInt(4);
        boolean pil = ndim >= 1 && r.nextInt(6) == 0;
        int mode = r.nextInt(4);                       // 0 C, 1 Fortran, 2-3 explicit strides
        long[] strides = null;
        String order = mode == 1 ? "F" : "C";
        long count = 1;
        for (long d : shape) count *= d;
        long offsetItems = 0, spareEnd = 0;
        long span;                                     // items the layout reaches from offset 0
        if (mode >= 2 && ndim > 0) {
            strides = new long[ndim];
            long minI = 0, maxI = 0;
            for (int i = 0; i < ndim; i++) {
                long k = r.nextInt(9) - 4;
                strides[i] = k * itemsize;
                if (shape[i] > 0) {
                    minI += Math.min(0, (shape[i] - 1) * k);
                    maxI += Math.max(0, (shape[i] - 1) * k);
                }
            }
            offsetItems = -minI + r.nextInt(3);
            span = offsetItems + maxI + 1;
        } else {
            offsetItems = r.nextInt(4) == 0 ? r.nextInt(3) : 0;
            span = offsetItems + Math.max(count, 1);
        }
        if (count == 0) span = Math.max(span, offsetItems + 1);
        spareEnd = r.nextInt(3);
        int nitems = (int) (span + spareEnd);
        boolean readOnly = r.nextInt(3) == 0;
        StringBuilder items = new StringBuilder("[");
        for (int i = 0; i < nitems; i++) items.append(i > 0 ? ", " : "").append(item(code, r));
        items.append(']');
        return new Layout(format, shape, strides, order, offsetItems * itemsize, nitems, readOnly, pil, items.toString());
    }

    static long itemsize(String code, String prefix) {
        boolean std = !prefix.isEmpty() && !prefix.equals("@");
        return switch (code) {
            case "b", "B", "?" -> 1;
            case "h", "H", "e" -> 2;
            case "i", "I", "f" -> 4;
            case "l", "L" -> std ? 4 : 8;
            default -> 8;   // q Q n N d
        };
    }

    static String item(String code, SplittableRandom r) {
        return switch (code) {
            case "b" -> Integer.toString(r.nextInt(256) - 128);
            case "B" -> Integer.toString(r.nextInt(256));
            case "h", "i", "l", "q", "n" -> Integer.toString(r.nextInt(20001) - 10000);
            case "H", "I", "L", "Q", "N" -> Integer.toString(r.nextInt(60001));
            case "f", "d", "e" -> (r.nextInt(201) - 100) / 4.0 + "";
            case "?" -> r.nextBoolean() ? "True" : "False";
            default -> throw new IllegalArgumentException(code);
        };
    }

    // ---- one case ---------------------------------------------------------------------------

    /** Runs one case; null if it agrees, or the mismatch; a Layout _testbuffer refuses is skipped (returns "skip"). */
    String runCase(long seed, long caseNo, long[] requests) {
        Layout l = generate(seed, caseNo);
        try (Gil gil = py.gil()) {
            PyObject nd;
            try {
                nd = make.call(py.eval(l.items()), py.eval(l.pyShape()), py.eval(l.pyStrides()), l.offset(), l.format(),
                        l.readOnly(), "F".equals(l.order()), l.pil());
            } catch (PythonException e) {
                return "skip: _testbuffer refuses it: " + e.pythonType() + ": " + e.pythonMessage();
            }
            byte[] bytes;
            try (PyObject rawBytes = raw.call(py.eval(l.items()), l.format())) {
                bytes = rawBytes.asBytesCopy();
            }
            BufferLayout spec;
            try {
                spec = spec(l, bytes);
            } catch (IllegalArgumentException e) {
                nd.close();
                return "BufferSpec refuses a layout _testbuffer accepts: " + e.getMessage();
            }
            try (nd; JavaBuffer jb = py.export(spec); PyObject ours = jb.asPyObject()) {
                StringBuilder diff = new StringBuilder();
                requests[0] += 256;
                try (PyObject c = compare.call(nd, ours)) {
                    diff.append(c.asString());
                }
                return diff.isEmpty() ? null : diff.toString().strip();
            }
        }
    }

    /**
     * The same bytes and layout as a BufferSpec; for PIL, a HarnessSpec over the pointer array
     * _testbuffer puts in front of the data.
     */
    static BufferLayout spec(Layout l, byte[] bytes) {
        String code = l.format().substring(l.format().length() - 1);
        long itemsize = itemsize(code, l.format().substring(0, l.format().length() - 1));
        long[] shape = l.shape();
        long[] strides = l.strides() != null ? l.strides()
                : "F".equals(l.order()) ? BufferSpec.fStrides(shape, itemsize) : BufferSpec.cStrides(shape, itemsize);
        if (!l.pil()) {
            MemorySegment seg = Arena.ofAuto().allocate(Math.max(1, bytes.length), 16);
            MemorySegment.copy(bytes, 0, seg, ValueLayout.JAVA_BYTE, 0, bytes.length);
            return BufferSpec.of(seg.asSlice(0, bytes.length), l.format()).layout(l.offset(), shape, strides)
                    .readOnly(l.readOnly());
        }
        // _testbuffer.c init_suboffsets, step by step
        long addsize = 8 * ((shape[0] * 8 + 7) / 8);
        MemorySegment seg = Arena.ofAuto().allocate(addsize + Math.max(1, bytes.length), 16);
        MemorySegment.copy(bytes, 0, seg, ValueLayout.JAVA_BYTE, addsize, bytes.length);
        long imin = 0, suboffset0 = 0;
        for (int n = 0; n < shape.length; n++) {
            if (shape[n] == 0) break;
            if (strides[n] <= 0) {
                long x = (shape[n] - 1) * strides[n];
                imin += x;
                suboffset0 += n >= 1 ? -x : 0;
            }
        }
        long start = addsize + l.offset() + imin;
        long step = Math.abs(strides[0]);
        for (long n = 0; n < shape[0]; n++) seg.setAtIndex(ValueLayout.JAVA_LONG, n, seg.address() + start + n * step);
        long[] sub = new long[shape.length];
        Arrays.fill(sub, -1);
        sub[0] = suboffset0;
        long[] st = strides.clone();
        long bufOffset = 0;
        if (strides[0] >= 0) {
            st[0] = 8;
        } else {
            st[0] = -8;
            if (shape[0] > 0) bufOffset = (shape[0] - 1) * 8;
        }
        return HarnessSpec.of(seg, l.format()).layout(bufOffset, shape, st).suboffsets(sub).readOnly(l.readOnly());
    }

    /**
     * Differences we keep on purpose, documented where they are decided. None is excluded
     * today: every difference the fuzzer found was fixed in the bridge.
     */
    static boolean knownQuirk(Layout l, int flags, String expected, String actual) {
        return false;
    }

    /** PyObject_GetBuffer's outcome as one string: the fields, or the error. */
    static String outcome(PyObject obj, int flags, long base) {
        try (PyBufferView v = obj.getBuffer(BufferRequest.of(flags))) {
            return "buf+" + ((v.segment().address() + v.offset()) - base) + " len=" + v.byteLength() + " itemsize=" + v.itemsize()
                    + " readonly=" + v.readOnly() + " ndim=" + v.ndim()
                    + " format=" + (v.hasFormat() ? v.format() : "NULL")
                    + " shape=" + (v.hasShape() ? Arrays.toString(v.shape()) : "NULL")
                    + " strides=" + (v.hasStrides() ? Arrays.toString(v.strides()) : "NULL")
                    + " suboffsets=" + (v.suboffsets() == null ? "NULL" : Arrays.toString(v.suboffsets()));
        } catch (PythonException e) {
            return e.pythonType() + ": " + e.pythonMessage().replace("ndarray", "JavaBuffer");
        }
    }

    private static long bufOf(PyObject obj) {
        try (PyBufferView v = obj.getBuffer(BufferRequest.FULL_RO)) {
            return (v.segment().address() + v.offset());
        }
    }

    // ---- runs -------------------------------------------------------------------------------

    /**
     * Runs cases {@code first .. first+count-1} of a seed, printing progress to {@code out}
     * about every {@code progressEvery} cases, stopping after {@code maxMismatches} mismatches.
     */
    public Result run(long seed, long first, long count, int maxMismatches, long progressEvery, PrintStream out) {
        long t0 = System.nanoTime();
        long[] requests = {0};
        long skipped = 0, done = 0;
        List<Mismatch> mismatches = new ArrayList<>();
        for (long c = first; c < first + count; c++) {
            String r = runCase(seed, c, requests);
            done++;
            if (r != null && r.startsWith("skip: ")) {
                skipped++;
            } else if (r != null) {
                mismatches.add(new Mismatch(seed, c, generate(seed, c).toString(), r));
                if (out != null) out.println(mismatches.getLast().describe(pythonProperty()));
                if (mismatches.size() >= maxMismatches) break;
            }
            if (out != null && progressEvery > 0 && done % progressEvery == 0) {
                out.printf("fuzz: %d/%d cases, %d skipped, %d mismatches, %.1f s%n", done, count, skipped,
                        mismatches.size(), (System.nanoTime() - t0) / 1e9);
            }
        }
        return new Result(done, skipped, requests[0], mismatches, System.nanoTime() - t0);
    }

    private static String pythonProperty() {
        String p = System.getProperty("panamapy.python");
        return p == null || p.isBlank() ? null : p;
    }

    /** {@code --cases N --seed S [--first F] [--case N] [--python PATH] [--max-mismatches M]} */
    public static void main(String[] args) {
        long cases = 1000, seed = System.nanoTime() & 0xFFFFFFFFL, first = 0;
        int maxMismatches = 10;
        String python = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--cases" -> cases = Long.parseLong(args[++i]);
                case "--seed" -> seed = Long.parseLong(args[++i]);
                case "--first" -> first = Long.parseLong(args[++i]);
                case "--case" -> { first = Long.parseLong(args[++i]); cases = 1; }
                case "--python" -> python = args[++i];
                case "--max-mismatches" -> maxMismatches = Integer.parseInt(args[++i]);
                case "-h", "--help" -> {
                    System.out.println("usage: BufferFuzz [--cases N] [--seed S] [--first F | --case N] [--python PATH] "
                            + "[--max-mismatches M]");
                    return;
                }
                default -> {
                    System.err.println("fuzz: unknown argument " + args[i]);
                    System.exit(2);
                }
            }
        }
        if (python != null) System.setProperty("panamapy.python", python);
        CPython py = python != null ? CPython.builder().python(Path.of(python)).start() : CPython.start();
        System.out.println("fuzz: seed " + seed + ", cases " + first + ".." + (first + cases - 1) + ", Python "
                + py.version() + " (" + py.executable() + ")");
        if (cases == 1) System.out.println("fuzz: layout " + generate(seed, first));
        Result r = new BufferFuzz(py).run(seed, first, cases, maxMismatches, Math.max(1, Math.min(10_000, cases / 20)),
                System.out);
        System.out.printf("fuzz: done: %d cases (%d skipped: _testbuffer refused the layout), %d requests compared, "
                        + "%d mismatches, %.1f s, seed %d%n", r.cases(), r.skipped(), r.requests(), r.mismatches().size(),
                r.nanos() / 1e9, seed);
        System.out.flush();
        // CPython is not finalized: exit at once (Py_FinalizeEx would only cost time)
        Runtime.getRuntime().halt(r.mismatches().isEmpty() ? 0 : 1);
    }
}
