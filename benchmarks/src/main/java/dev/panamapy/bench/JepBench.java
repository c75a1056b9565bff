package dev.panamapy.bench;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * The Jep side of {@link Bench}'s side-by-side figures, run in a JVM of its own (two CPython embedders
 * in one process would fight over the one interpreter). Jep is not a dependency: its jar is loaded
 * from {@code JEP_DIR} through a {@link URLClassLoader} and driven through method handles.
 *
 * <pre>JEP_DIR=/opt/jep PYTHONPATH=&lt;site-packages with numpy&gt;:&lt;JEP_DIR's parent&gt;
 * java --enable-native-access=ALL-UNNAMED -cp &lt;benchmarks classes&gt; dev.panamapy.bench.JepBench [--quick]</pre>
 *
 * Prints {@code key=value} lines on stdout: {@code version}, {@code python}, {@code numpy},
 * {@code call.median/min/max/runs} (ns per {@code invoke("ident", 1)}) and
 * {@code handoff.median/min/max/runs} (ns per hand-off of a 256 MiB float64 direct buffer:
 * {@code set("a", new DirectNDArray(buf, n))} + {@code invoke("_seen")} returning {@code a.size}),
 * then {@code ok=true}. Exits non-zero with a message on stderr when anything fails.
 */
public final class JepBench {

    /** Elements of the hand-off buffer: 256 MiB of float64. */
    static final int HANDOFF_DOUBLES = (256 << 20) / 8;

    /** Set before {@link J} is first touched; its handles are constants the JIT can fold. */
    private static ClassLoader jepLoader;

    private JepBench() { }

    /** Jep's API as method handles, all adapted to Object types so calls are {@code invokeExact}. */
    private static final class J {
        static final Class<?> INTERPRETER = load("jep.Interpreter");
        static final MethodHandle SET_LIBRARY = find("jep.MainInterpreter", "setJepLibraryPath", true,
                MethodType.methodType(void.class, String.class));
        static final MethodHandle NEW_SHARED;
        static final MethodHandle NEW_NDARRAY;
        static final MethodHandle EXEC = find("jep.Interpreter", "exec", false,
                MethodType.methodType(void.class, String.class)).asType(
                MethodType.methodType(void.class, Object.class, String.class));
        static final MethodHandle INVOKE = find("jep.Interpreter", "invoke", false,
                MethodType.methodType(Object.class, String.class, Object[].class)).asType(
                MethodType.methodType(Object.class, Object.class, String.class, Object[].class));
        static final MethodHandle SET = find("jep.Interpreter", "set", false,
                MethodType.methodType(void.class, String.class, Object.class)).asType(
                MethodType.methodType(void.class, Object.class, String.class, Object.class));
        static final MethodHandle GET_VALUE = find("jep.Interpreter", "getValue", false,
                MethodType.methodType(Object.class, String.class)).asType(
                MethodType.methodType(Object.class, Object.class, String.class));

        static {
            try {
                MethodHandles.Lookup l = MethodHandles.publicLookup();
                NEW_SHARED = l.findConstructor(load("jep.SharedInterpreter"), MethodType.methodType(void.class))
                        .asType(MethodType.methodType(Object.class));
                // DirectNDArray(T data, int... dimensions) with T extends Buffer: erased to (Buffer, int[])
                NEW_NDARRAY = l.findConstructor(load("jep.DirectNDArray"),
                                MethodType.methodType(void.class, Buffer.class, int[].class))
                        .asType(MethodType.methodType(Object.class, Buffer.class, int[].class));
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("not a Jep this harness knows: " + e, e);
            }
        }

        private static Class<?> load(String name) {
            try {
                return Class.forName(name, true, jepLoader);
            } catch (ClassNotFoundException e) {
                throw new IllegalStateException(name + " is not in the Jep jar", e);
            }
        }

        private static MethodHandle find(String cls, String name, boolean isStatic, MethodType type) {
            try {
                MethodHandles.Lookup l = MethodHandles.publicLookup();
                return isStatic ? l.findStatic(load(cls), name, type) : l.findVirtual(load(cls), name, type);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("not a Jep this harness knows: " + e, e);
            }
        }
    }

    public static void main(String[] args) throws Throwable {
        boolean quick = Arrays.asList(args).contains("--quick");
        String dirEnv = System.getenv("JEP_DIR");
        if (dirEnv == null || dirEnv.isBlank()) fail("JEP_DIR is not set");
        Path dir = Path.of(dirEnv).toAbsolutePath();
        Path jar = find(dir, "jep-", ".jar");
        Path lib = Files.exists(dir.resolve("libjep.so")) ? dir.resolve("libjep.so") : find(dir, "jep.", ".so");
        jepLoader = new URLClassLoader(new URL[]{jar.toUri().toURL()}, JepBench.class.getClassLoader());

        J.SET_LIBRARY.invokeExact(lib.toString());
        Object in = (Object) J.NEW_SHARED.invokeExact();
        try {
            J.EXEC.invokeExact(in, "import sys, numpy as np\ndef ident(x): return x\ndef _seen(): return a.size");
            System.out.println("version=" + jar.getFileName().toString().replaceAll("^jep-|\\.jar$", ""));
            System.out.println("python=" + (Object) J.GET_VALUE.invokeExact(in, "sys.version.split()[0]"));
            System.out.println("numpy=" + (Object) J.GET_VALUE.invokeExact(in, "np.__version__"));
            call(in, quick);
            handoff(in, quick);
        } finally {
            ((AutoCloseable) in).close();
        }
        System.out.println("ok=true");
    }

    /** ns per {@code Interpreter.invoke("ident", 1)}: the same trivial call as Bench's jep-call. */
    private static void call(Object in, boolean quick) throws Throwable {
        int n = quick ? 20_000 : 500_000, repeat = quick ? 3 : 9;
        Object[] one = {1};
        long until = System.nanoTime() + (quick ? 1_000_000_000L : 5_000_000_000L);   // the same warm-up as Bench
        long sink = 0;
        while (System.nanoTime() < until) {
            for (int i = 0; i < n; i++) sink += ((Number) (Object) J.INVOKE.invokeExact(in, "ident", one)).longValue();
        }
        double[] s = new double[repeat];
        for (int r = 0; r < repeat; r++) {
            long t = System.nanoTime();
            for (int i = 0; i < n; i++) sink += ((Number) (Object) J.INVOKE.invokeExact(in, "ident", one)).longValue();
            s[r] = (System.nanoTime() - t) / (double) n;
        }
        if (sink == 0) throw new AssertionError();
        print("call", s);
    }

    /**
     * ns per hand-off of a 256 MiB float64 direct buffer to numpy: wrap it in a DirectNDArray, set it as
     * a global (Jep makes a numpy array over the buffer's memory, no copy) and have Python read a.size
     * back: the same steps as Bench's side (export + np.asarray + size).
     */
    private static void handoff(Object in, boolean quick) throws Throwable {
        int ops = quick ? 2_000 : 20_000, repeat = quick ? 3 : 9;
        DoubleBuffer buf = ByteBuffer.allocateDirect(HANDOFF_DOUBLES * 8).order(ByteOrder.nativeOrder()).asDoubleBuffer();
        int[] dims = {HANDOFF_DOUBLES};
        // once, untimed: numpy sees the buffer's memory, not a copy
        J.SET.invokeExact(in, "a", (Object) J.NEW_NDARRAY.invokeExact((Buffer) buf, dims));
        J.EXEC.invokeExact(in, "assert isinstance(a, np.ndarray) and a.dtype == np.float64 and not a.flags.owndata\na[7] = 42.0");
        if (buf.get(7) != 42.0) fail("Jep's DirectNDArray did not share the buffer's memory");
        long expect = HANDOFF_DOUBLES;
        for (int i = 0; i < Math.max(2, repeat / 2) * ops; i++) {
            J.SET.invokeExact(in, "a", (Object) J.NEW_NDARRAY.invokeExact((Buffer) buf, dims));
            if (((Number) (Object) J.INVOKE.invokeExact(in, "_seen", new Object[0])).longValue() != expect) throw new AssertionError();
        }
        double[] s = new double[repeat];
        Object[] none = {};
        for (int r = 0; r < repeat; r++) {
            long t = System.nanoTime();
            for (int i = 0; i < ops; i++) {
                J.SET.invokeExact(in, "a", (Object) J.NEW_NDARRAY.invokeExact((Buffer) buf, dims));
                if (((Number) (Object) J.INVOKE.invokeExact(in, "_seen", none)).longValue() != expect) throw new AssertionError();
            }
            s[r] = (System.nanoTime() - t) / (double) ops;
        }
        J.EXEC.invokeExact(in, "del a");
        print("handoff", s);
    }

    private static void print(String key, double[] samples) {
        Bench.Stat st = Bench.Stat.of(samples);
        System.out.printf(Locale.ROOT, "%s.median=%s%n%s.min=%s%n%s.max=%s%n%s.runs=%d%n", key, st.median(), key,
                st.min(), key, st.max(), key, st.runs());
    }

    private static Path find(Path dir, String prefix, String suffix) throws java.io.IOException {
        if (!Files.isDirectory(dir)) fail("JEP_DIR " + dir + " is not a folder");
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> {
                String n = p.getFileName().toString();
                return n.startsWith(prefix) && n.endsWith(suffix) && !n.contains("-sources") && !n.contains("-test");
            }).sorted().findFirst().orElseGet(() -> {
                fail("no " + prefix + "*" + suffix + " in JEP_DIR " + dir);
                return null;
            });
        }
    }

    private static void fail(String why) {
        System.err.println("JepBench: " + why);
        System.exit(1);
    }

    /**
     * Where Jep's Python package ({@code jep/__init__.py}, next to the jar and libjep.so in an installed
     * Jep) is importable from: the folder holding JEP_DIR.
     */
    static Path pythonPathFor(Path jepDir) {
        Path parent = jepDir.toAbsolutePath().getParent();
        return parent == null ? jepDir : parent;
    }
}
