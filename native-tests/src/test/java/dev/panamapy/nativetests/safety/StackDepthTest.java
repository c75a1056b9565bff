package dev.panamapy.nativetests.safety;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Issue 15, classes 4 and 11: recursion between Java and Python, and deep recursion inside
 * CPython, on thread stacks of 256 KiB to 1 MiB (Java's default; CPython assumes 8 MiB). Before
 * the stack guard, {@code rec(n) -> py.eval("rec(n+1)")} was a JVM fatal error at about 225
 * levels, and {@code repr()} of a list nested 100,000 deep killed the process on 3.13. Each case
 * must end in Python's RecursionError and leave the interpreter working with its counts flat
 * (see {@link StackDepthMain}). A failure here is a crash, so every case runs in a child JVM.
 */
@Adversarial
class StackDepthTest {

    /** Recursion through every upcall kind: Java functions (also letting the GIL go between levels), getbuffer, the two release paths, dealloc and repr. */
    private static final List<String> THROUGH_UPCALLS = List.of("function", "caughtInPython", "everyUpcall", "withoutGil", "javaOverflow",
            "getbuffer", "releaseListener", "releaseBuffer", "pythonThread", "budgetGivenBack");
    /** Deep structures and deep Python recursion, CPython alone. */
    private static final List<String> DEEP_IN_CPYTHON = List.of("reprNestedList", "reprChain", "json", "pickle", "deepcopy",
            "pythonRecursion");

    @Test
    void recursionThroughEveryUpcallEndsInRecursionErrorOnSmallThreadStacks() throws Exception {
        run(THROUGH_UPCALLS, "256,512,1024");
    }

    @ParameterizedTest
    @ValueSource(strings = {"-Xss512k", "-Xss1m"})
    void recursionThroughEveryUpcallEndsInRecursionErrorOnTheMainThread(String xss) throws Exception {
        run(THROUGH_UPCALLS, "0", xss);
    }

    @Test
    void deepStructuresAndDeepPythonRecursionRaiseRecursionErrorOnSmallStacks() throws Exception {
        run(DEEP_IN_CPYTHON, "256,512,1024,0", "-Xss1m");
    }

    @Test
    void deepCRecursionWithUpcallsAtTheBottomIsSafeBelowEveryJavaDepth() throws Exception {
        run(List.of("javaDepthSweep"), "256,512,1024");
    }

    @Test
    void aStackOverflowOnTheWayIntoPythonLeavesNothingTaken() throws Exception {
        run(List.of("overflowAtEveryDepth"), "256,1024,0");
    }

    /**
     * The same sweep with every frame interpreted, and with everything compiled before its first
     * use. Where the overflow lands depends on the frames' sizes, so the JIT's state decides which
     * step of the entry it interrupts: under load this test once failed only now and then (the
     * stack measurement read its own StackOverflowError as "stack unknown, room without limit",
     * and the entry went on to overflow after counting the call). -Xcomp also once turned the
     * guard off altogether (its start-up check expected two stack readings in frame order), and
     * every sweep then left a call counted.
     */
    @ParameterizedTest
    @ValueSource(strings = {"-Xint", "-Xcomp"})
    void aStackOverflowOnTheWayIntoPythonLeavesNothingTakenWhateverTheJitDid(String mode) throws Exception {
        run(List.of("overflowAtEveryDepth"), "256", mode);
    }

    private static void run(List<String> cases, String threads, String... jvmArgs) throws Exception {
        List<String> args = new ArrayList<>(cases);
        args.add("--threads=" + threads);
        ChildJvm.Result r = ChildJvm.main(StackDepthMain.class).jvmArgs(jvmArgs).args(args.toArray(String[]::new))
                .timeout(600).run();
        r.assertExit(0).assertOutputContains("ALL OK");
        long ok = r.output().lines().filter(l -> l.startsWith("OK ")).count();
        assertEquals((long) cases.size() * threads.split(",").length, ok, "cases that ran:\n" + r.output());
    }
}
