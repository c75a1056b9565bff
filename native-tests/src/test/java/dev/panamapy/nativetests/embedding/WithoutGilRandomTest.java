package dev.panamapy.nativetests.embedding;

import dev.panamapy.CPython;
import dev.panamapy.Gil;
import dev.panamapy.PyObject;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Random nestings of the ways a thread holds or lets go of the GIL: Java calling Python calling
 * a Java function, gil() scopes (some left open where the bridge must close them), withoutGil
 * blocks, other threads running Python while this one lets the GIL go, and exceptions thrown at
 * any level. Whatever the nesting, each program must end with nothing taken (the thread can
 * detach, another thread gets the GIL at once), references flat, and every value read right.
 * A failure names its seed and the program; {@code -Dpanamapy.withoutGil.seed=S} on the mvn
 * command line replays it, {@code -Dpanamapy.withoutGil.programs=N} runs more (20,000 took 5.5 s).
 */
@PythonTest
class WithoutGilRandomTest {

    private static final int PROGRAMS = Integer.getInteger("panamapy.withoutGil.programs", 1000);
    private static CPython py;
    /** The body a Java function runs, by the number Python passes it. */
    private static final Map<Long, Step> BODIES = new ConcurrentHashMap<>();
    private static final AtomicInteger NEXT = new AtomicInteger();
    private static final List<String> wrong = java.util.Collections.synchronizedList(new ArrayList<>());

    @BeforeAll
    static void define(CPython python) {
        py = python;
        py.defineFunction("_rg_call", a -> {
            BODIES.get((Long) a[0]).run();
            return a[0];
        });
    }

    /** A generated piece of code and what it does, for the failure message. */
    private record Step(String what, Runnable code) implements Runnable {
        @Override public void run() { code.run(); }
        @Override public String toString() { return what; }
    }

    /** Where the generated code runs: whether this thread holds the GIL, and whether a scope may be left open. */
    private record Where(boolean holdsGil, boolean insideCallback) { }

    private static Step program(Random r, int depth, Where w) {
        List<Step> steps = new ArrayList<>();
        int n = 1 + r.nextInt(3);
        for (int i = 0; i < n; i++) {
            Step st = step(r, depth, w);
            steps.add(st);
            if (st.what.equals("leak")) w = new Where(true, w.insideCallback);   // the open scope holds the GIL from here
        }
        return new Step(steps.toString(), () -> steps.forEach(Runnable::run));
    }

    private static Step step(Random r, int depth, Where w) {
        int kind = depth >= 5 ? 0 : r.nextInt(w.holdsGil ? 6 : 7);
        switch (kind) {
            case 1: {                                            // Python calls a Java function
                long id = NEXT.incrementAndGet();
                Step body = program(r, depth + 1, new Where(true, true));
                BODIES.put(id, body);
                return new Step("fn" + body, () -> {
                    try (PyObject v = py.eval("_rg_call(" + id + ")")) {
                        if (v.asLong() != id) wrong.add("call " + id + " returned " + v);
                    }
                });
            }
            case 2: {                                            // a gil() scope, closed
                Step inner = program(r, depth + 1, new Where(true, w.insideCallback));
                return new Step("gil" + inner, () -> {
                    try (Gil g = py.gil()) {
                        inner.run();
                    }
                });
            }
            case 3: {                                            // a withoutGil block
                Step inner = program(r, depth + 1, new Where(false, true));
                return new Step("free" + inner, () -> py.withoutGil(inner::run));
            }
            case 4: {                                            // a failure that unwinds the levels above
                boolean fire = r.nextInt(4) == 0;
                return new Step(fire ? "throw" : "nothrow", () -> {
                    if (fire) throw new IllegalArgumentException("thrown at depth " + depth);
                });
            }
            case 5:                                              // a scope left open: only where the bridge closes it
                if (!w.insideCallback) return eval(r);
                return new Step("leak", py::gil);
            case 6:                                              // another thread runs Python (only while the GIL is free)
                return new Step("other", () -> {
                    CompletableFuture<Long> f = new CompletableFuture<>();
                    Thread.ofPlatform().start(() -> {
                        try (PyObject v = py.eval("3 * 14")) {
                            f.complete(v.asLong());
                        } catch (Throwable t) {
                            f.completeExceptionally(t);
                        }
                    });
                    try {
                        long v = f.get(30, TimeUnit.SECONDS);
                        if (v != 42) wrong.add("other thread read " + v);
                    } catch (Exception e) {
                        wrong.add("other thread: " + e);
                    }
                });
            default:
                return eval(r);
        }
    }

    private static Step eval(Random r) {
        int a = r.nextInt(1000), b = r.nextInt(1000);
        return new Step("eval", () -> {
            try (PyObject v = py.eval(a + " + " + b)) {
                if (v.asLong() != a + b) wrong.add(a + " + " + b + " gave " + v);
            }
        });
    }

    @Test
    void everyNestingEndsWithNothingTakenAndRightValues() {
        long seed = Long.getLong("panamapy.withoutGil.seed", System.nanoTime());
        Random r = new Random(seed);
        long refsBefore = py.diagnostics().liveReferences();
        assertTimeoutPreemptively(Duration.ofMinutes(5), () -> {
            int failedPrograms = 0;
            for (int p = 0; p < PROGRAMS; p++) {
                Step prog = program(r, 0, new Where(false, false));
                try {
                    prog.run();
                } catch (RuntimeException expected) {       // thrown steps and scopes left open end a program early
                    failedPrograms++;
                }
                try {
                    py.detachThread();                       // refused if this thread still counted a call
                } catch (IllegalStateException e) {
                    throw new AssertionError("seed " + seed + ", program " + p + " left a call counted: " + prog, e);
                }
                BODIES.clear();
            }
            CompletableFuture<Long> other = new CompletableFuture<>();
            Thread.ofPlatform().start(() -> {
                try (PyObject v = py.eval("6 * 7")) {
                    other.complete(v.asLong());
                }
            });
            assertEquals(42L, other.get(30, TimeUnit.SECONDS), "seed " + seed);
            assertTrue(wrong.isEmpty(), "seed " + seed + ": " + wrong);
            assertTrue(failedPrograms < PROGRAMS, "seed " + seed + ": every program failed");
        }, "seed " + seed);
        System.gc();
        long refsAfter = py.diagnostics().liveReferences();
        assertTrue(refsAfter <= refsBefore + 2, "seed " + seed + ": references " + refsBefore + " -> " + refsAfter);
    }
}
