package dev.panamapy.nativetests.safety;

import dev.panamapy.BufferExporter;
import dev.panamapy.BufferLayout;
import dev.panamapy.BufferRequest;
import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * The child JVM of {@link StackDepthTest}: recursion between Java and Python, and deep recursion
 * inside CPython, on threads with small stacks. Every case must end in Python's RecursionError
 * (or, for a void slot, a RecursionError handed to the Java code that recursed) and leave the
 * interpreter working: the next call gives the right value, and the bridge's counts are back
 * where they were. A case that crashes the JVM fails the test through the exit code.
 *
 * <p>Arguments: the cases to run, then {@code --threads=256,512,...} (stack sizes in KiB of the
 * threads to run them on; 0 is the JVM's main thread, sized by -Xss).
 * Prints {@code OK <case> <thread> <what happened>} per case and exits 1 after the first failure.
 */
public final class StackDepthMain {

    private static CPython py;
    private static final List<String> failures = new ArrayList<>();

    public static void main(String[] args) throws Exception {
        List<String> cases = new ArrayList<>();
        List<Long> threads = new ArrayList<>(List.of(0L));
        for (String a : args) {
            if (a.startsWith("--threads=")) {
                threads.clear();
                for (String t : a.substring(10).split(",")) threads.add(Long.parseLong(t));
            } else {
                cases.add(a);
            }
        }
        py = CPython.start();
        setUp();
        for (long kib : threads) {
            Runnable all = () -> {
                for (String c : cases) runCase(c, kib);
            };
            if (kib == 0) {
                all.run();
            } else {
                Thread t = new Thread(null, all, "stack-" + kib + "k", kib * 1024);
                t.start();
                t.join();
            }
            if (!failures.isEmpty()) break;
        }
        if (!failures.isEmpty()) {
            System.out.println("FAILED: " + failures);
            System.out.flush();
            System.exit(1);
        }
        System.out.println("ALL OK");
        System.out.flush();
        System.exit(0);      // the shared interpreter is never closed here: close() is not what this tests
    }

    // ---- set-up: the Java side of the recursions -------------------------------------------------

    private static final Arena ARENA = Arena.ofShared();
    private static final MemorySegment MEMORY = ARENA.allocate(64);
    private static volatile long deepest;
    private static final AtomicReference<Throwable> seenInVoidSlot = new AtomicReference<>();

    private static void setUp() {
        py.exec("import sys, json, pickle, copy");
        // 1. a Java function calling Python calling it again
        py.defineFunction("rec", a -> {
            long n = (Long) a[0];
            deepest = Math.max(deepest, n);
            return py.eval("rec(" + (n + 1) + ")");
        });
        // 2. every upcall kind at every level: export (dealloc at close), repr, getbuffer + release
        py.defineFunction("every", a -> {
            long n = (Long) a[0];
            deepest = Math.max(deepest, n);
            try (JavaBuffer b = py.export(BufferSpec.of(MEMORY, "B")); PyObject body = py.getGlobal("every_body")) {
                return body.call(b, n + 1);
            }
        });
        // 2b. the same through withoutGil: each level lets the GIL go and takes it back to recurse
        py.defineFunction("rec_free", a -> {
            long n = (Long) a[0];
            deepest = Math.max(deepest, n);
            return py.withoutGil(() -> py.eval("rec_free(" + (n + 1) + ")"));
        });
        // 3. a Java function that overflows the Java stack by itself
        py.defineFunction("boom", a -> javaRecursion(0));
        // 4. a dynamic exporter whose getbuffer takes a view of itself again
        JavaBuffer dyn = py.export(new BufferExporter() {
            @Override
            public BufferSpec getBuffer(BufferRequest request) {
                deepest++;
                py.exec("memoryview(dyn).release()");
                return BufferSpec.of(MEMORY, "B");
            }
        });
        py.setGlobal("dyn", dyn);
        // 5. a release listener that takes and releases a view again
        JavaBuffer rel = py.export(BufferSpec.of(MEMORY, "B"));
        rel.onRelease(left -> {
            deepest++;
            try {
                py.exec("memoryview(rel).release()");
            } catch (RuntimeException e) {
                seenInVoidSlot.compareAndSet(null, e);     // the deepest level's refusal; thrown on, it would only be logged
            }
        });
        py.setGlobal("rel", rel);
        // 6. a dynamic exporter whose releaseBuffer takes and releases a view again
        JavaBuffer relDyn = py.export(new BufferExporter() {
            @Override
            public BufferSpec getBuffer(BufferRequest request) {
                return BufferSpec.of(MEMORY, "B");
            }

            @Override
            public void releaseBuffer(BufferLayout view) {
                deepest++;
                try {
                    py.exec("memoryview(rel_dyn).release()");
                } catch (RuntimeException e) {
                    seenInVoidSlot.compareAndSet(null, e);
                }
            }
        });
        py.setGlobal("rel_dyn", relDyn);
        py.setGlobal("plain", py.export(BufferSpec.of(MEMORY, "B")));
        py.defineFunction("jf", a -> a[0]);
        // C recursion in CPython with an upcall at every level, down to the deepest one
        py.exec("""
                class Chain:
                    def __init__(self, child): self.child = child
                    def __repr__(self):
                        jf(1); repr(plain); memoryview(plain).release()
                        return 'C' + repr(self.child)
                def chain(n):
                    x = None
                    for i in range(n): x = Chain(x)
                    return x
                def nested(n):
                    x = []
                    for i in range(n): x = [x]
                    return x
                def every_body(b, n):
                    repr(b)
                    memoryview(b).release()
                    return every(n)
                CHAIN = chain(20000)
                def in_thread(f, stack_kib):
                    import threading
                    out = []
                    threading.stack_size(stack_kib * 1024)
                    try:
                        t = threading.Thread(target=lambda: out.append(f()))
                        t.start()
                    finally:
                        threading.stack_size(0)
                    t.join()
                    return out[0] if out else 'the thread died'
                class Deeper:
                    def __repr__(self):
                        global reached
                        reached += 1
                        return repr(self)
                def reachable():
                    global reached
                    reached = 0
                    try:
                        repr(Deeper())
                    except RecursionError:
                        pass
                    return reached
                def caught(f):
                    try:
                        f()
                        return 'no error'
                    except RecursionError:
                        return 'RecursionError'
                """);
    }

    private static Object javaRecursion(int n) {
        long[] pad = new long[8];
        pad[n & 7] = n;
        return javaRecursion(n + 1 + (int) pad[0] * 0);
    }

    // ---- the cases -----------------------------------------------------------------------------------

    private static void runCase(String name, long kib) {
        String where = kib == 0 ? "main(-Xss)" : kib + "k";
        if (!failures.isEmpty()) return;
        try {
            deepest = 0;
            seenInVoidSlot.set(null);
            CPython.Diagnostics before = settledDiagnostics();
            String what = switch (name) {
                case "function" -> expectRecursionError(() -> py.eval("rec(0)"), "rec");
                case "caughtInPython" -> expectValue("RecursionError", () -> py.eval("caught(lambda: rec(0))"));
                case "everyUpcall" -> expectRecursionError(() -> py.eval("every(0)"), "every");
                case "withoutGil" -> expectRecursionError(() -> py.eval("rec_free(0)"), "rec_free")
                        + "; " + expectValue("RecursionError", () -> py.eval("caught(lambda: rec_free(0))"));
                case "javaOverflow" -> expectRecursionError(() -> py.eval("boom()"), "boom")
                        + "; " + expectValue("RecursionError", () -> py.eval("caught(boom)"));
                case "getbuffer" -> expectRecursionError(() -> py.eval("memoryview(dyn).release()"), "getbuffer");
                case "releaseListener" -> expectVoidSlotRecursion(() -> py.exec("memoryview(rel).release()"), "listener");
                case "releaseBuffer" -> expectVoidSlotRecursion(() -> py.exec("memoryview(rel_dyn).release()"),
                        "releaseBuffer");
                case "javaDepthSweep" -> javaDepthSweep();
                case "overflowAtEveryDepth" -> overflowAtEveryDepth();
                case "budgetGivenBack" -> budgetGivenBack();
                // a thread Python made, with a small stack, recursing through a Java function (C
                // recursion alone on such a thread crashes standalone python3.13 as well: CPython's own)
                case "pythonThread" -> expectValue("RecursionError",
                        () -> py.eval("in_thread(lambda: caught(lambda: rec(0)), 512)"))
                        + ", " + expectValue("RecursionError",
                        () -> py.eval("in_thread(lambda: caught(lambda: rec(0)), 256)"));
                case "reprNestedList" -> expectValue("RecursionError", () -> py.eval("caught(lambda: repr(nested(100000)))"));
                case "reprChain" -> expectValue("RecursionError", () -> py.eval("caught(lambda: repr(chain(100000)))"));
                case "json" -> expectValue("RecursionError", () -> py.eval("caught(lambda: json.dumps(nested(100000)))"));
                case "pickle" -> expectValue("RecursionError", () -> py.eval("caught(lambda: pickle.dumps(nested(100000)))"));
                case "deepcopy" -> expectValue("RecursionError", () -> py.eval("caught(lambda: copy.deepcopy(nested(100000)))"));
                case "pythonRecursion" -> expectValue("RecursionError", () -> py.eval(
                        "caught(lambda: (f := lambda n: f(n - 1) + 1 if n else 0)(100000))"));
                default -> throw new IllegalArgumentException("no case " + name);
            };
            afterwards(before, name);
            System.out.println("OK " + name + " " + where + " " + what);
        } catch (Throwable t) {
            failures.add(name + " on " + where + ": " + t);
            System.out.println("FAIL " + name + " " + where);
            t.printStackTrace(System.out);
        }
        System.out.flush();
    }

    /** The call must throw Python's RecursionError; says how deep it got. */
    private static String expectRecursionError(Supplier<PyObject> call, String what) {
        try (PyObject r = call.get()) {
            throw new AssertionError(what + ": no RecursionError, returned " + r);
        } catch (PythonException e) {
            if (!e.is("RecursionError")) throw new AssertionError(what + ": expected RecursionError, got " + e.pythonType(), e);
            return what + " ended in RecursionError at depth " + deepest;
        }
    }

    private static String expectValue(String expected, Supplier<PyObject> call) {
        try (PyObject r = call.get()) {
            String got = r.asString();
            if (!expected.equals(got)) throw new AssertionError("expected " + expected + ", got " + got);
            return got;
        }
    }

    /** A release slot cannot raise: the recursion ends quietly, and the Java code saw the RecursionError. */
    private static String expectVoidSlotRecursion(Runnable call, String what) {
        call.run();
        Throwable t = seenInVoidSlot.get();
        if (!(t instanceof PythonException pe) || !pe.is("RecursionError")) {
            throw new AssertionError(what + ": the recursion did not end in RecursionError but " + t, t);
        }
        return what + " saw RecursionError at depth " + deepest;
    }

    /**
     * Java frames of every depth below a call into Python whose C recursion (repr of a chain,
     * each level calling a Java function, repr and getbuffer of a JavaBuffer) runs down to its
     * fitted limit: whatever stack is left when Python starts, the deepest level's upcalls still
     * run, and the recursion ends in RecursionError; the deepest Java depths are refused outright.
     */
    private static String javaDepthSweep() {
        int refused = 0, ran = 0;
        boolean bottom = false;
        for (int depth = 0; depth < 100_000; depth += 11) {
            String r;
            try {
                r = atJavaDepth(depth);
            } catch (StackOverflowError e) {
                bottom = true;                              // deeper than Java itself can go
                break;
            }
            if (r.equals("refused")) refused++;
            else if (r.equals("RecursionError")) ran++;
            else throw new AssertionError("at Java depth " + depth + ": " + r);
            if (refused > 20) {
                bottom = true;
                break;
            }
        }
        if (ran == 0) throw new AssertionError("no depth ran: " + refused + " refusals");
        return ran + " depths ran into RecursionError, " + refused + " were refused"
                + (bottom ? "" : " (the sweep stopped before the bottom of this big stack)");
    }

    /**
     * Java code that calls Python at every Java depth down to where Java itself overflows, one
     * frame apart, so that a StackOverflowError lands on every instruction of the way into
     * Python in turn. Whatever it interrupts, nothing may stay taken: this thread holds no call
     * (detachThread() works), and another thread gets the GIL at once.
     */
    private static String overflowAtEveryDepth() throws InterruptedException {
        int bottom = javaBottom(0);                         // how deep plain Java gets here (compiled frames are smaller)
        int overflowed = 0, ran = 0, inARow = 0;
        for (int depth = bottom / 2; inARow < 300 && depth < 20 * bottom; depth++) {
            try {
                evalAtDepth(depth);
                ran++;
                inARow = 0;
            } catch (StackOverflowError e) {
                overflowed++;
                inARow++;
            } catch (PythonException e) {
                if (!e.is("RecursionError")) throw e;
                ran++;
                inARow = 0;
            }
        }
        try {
            py.detachThread();                              // refused while this thread counts a call
        } catch (IllegalStateException e) {
            throw new AssertionError("after " + ran + " depths ran and " + overflowed + " overflowed, this thread still "
                    + "counts a call: a StackOverflowError on the way into Python (or out) left it taken", e);
        }
        Thread other = new Thread(() -> py.eval("1 + 1").close(), "other-caller");
        other.start();
        other.join(30_000);
        if (other.isAlive()) throw new AssertionError("another thread waits for the GIL after the sweep");
        if (ran == 0 || overflowed == 0) throw new AssertionError(ran + " ran, " + overflowed + " overflowed: not a sweep");
        return ran + " depths ran, " + overflowed + " overflowed, nothing left taken";
    }

    private static int javaBottom(int n) {
        try {
            long[] pad = new long[4];
            pad[n & 3] = n;
            return javaBottom(n + 1) + (int) (pad[0] * 0);
        } catch (StackOverflowError e) {
            return n;
        }
    }

    private static void evalAtDepth(int depth) {
        if (depth > 0) {
            long[] pad = new long[4];
            pad[depth & 3] = depth;
            evalAtDepth(depth - 1 + (int) (pad[0] * 0));
            return;
        }
        py.eval("1").close();
    }

    private static String atJavaDepth(int depth) {
        if (depth > 0) {
            long[] pad = new long[4];
            pad[depth & 3] = depth;
            String r = atJavaDepth(depth - 1);
            return pad[0] < 0 ? "" : r;
        }
        try (PyObject r = py.eval("caught(lambda: repr(CHAIN))")) {
            return r.asString();
        } catch (PythonException e) {
            if (e.is("RecursionError") && e.pythonMessage().contains("stack")) return "refused";
            throw e;
        }
    }

    /**
     * How deep Python can recurse from here is the same before and after a Java-Python
     * recursion that ended in RecursionError: every nested entry gave back the budget it took.
     */
    private static String budgetGivenBack() {
        long before = reachableDepth();
        expectRecursionError(() -> py.eval("rec(0)"), "rec");
        expectRecursionError(() -> py.eval("every(0)"), "every");
        long after = reachableDepth();
        if (before != after || before < 20) {
            throw new AssertionError("Python reached depth " + before + " before the recursion and " + after + " after it");
        }
        return "depth " + before + " reachable before and after";
    }

    private static long reachableDepth() {
        try (PyObject r = py.eval("reachable()")) {
            return r.asLong();
        }
    }

    // ---- afterwards: the interpreter keeps working ---------------------------------------------------

    private static void afterwards(CPython.Diagnostics before, String name) {
        try (PyObject three = py.eval("1 + 2")) {
            if (three.asLong() != 3) throw new AssertionError("1 + 2 gave " + three);
        }
        try (PyObject depthLimit = py.eval("sys.getrecursionlimit()")) {
            if (depthLimit.asLong() != 1000) throw new AssertionError("recursion limit changed: " + depthLimit);
        }
        // the same depth of plain Python recursion works as before the case
        try (PyObject r = py.eval("(lambda f: f(f, 50))(lambda f, n: f(f, n - 1) + 1 if n else 0)")) {
            if (r.asLong() != 50) throw new AssertionError("recursion after the case gave " + r);
        }
        CPython.Diagnostics after = settledDiagnostics();
        if (after.liveExporters() != before.liveExporters() || after.liveViews() != before.liveViews()
                || after.liveReferences() > before.liveReferences()) {
            throw new AssertionError(name + ": counts not back: before " + before + ", after " + after);
        }
    }

    /** Diagnostics once unreachable PyObjects and exceptions have been dropped by their cleaners. */
    private static CPython.Diagnostics settledDiagnostics() {
        CPython.Diagnostics d = py.diagnostics();
        for (int i = 0; i < 20; i++) {
            System.gc();
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            py.eval("0").close();                 // drains what the cleaners queued
            CPython.Diagnostics next = py.diagnostics();
            if (next.equals(d) && i > 1) return next;
            d = next;
        }
        return d;
    }
}
