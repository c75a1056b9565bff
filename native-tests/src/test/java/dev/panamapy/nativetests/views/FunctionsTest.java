package dev.panamapy.nativetests.views;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;
import dev.panamapy.testing.PythonTest;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

/** Java functions called from Python: conversion, exceptions both ways, threads, reentrancy. */
@PythonTest
class FunctionsTest {

    private final CPython py;

    FunctionsTest(CPython py) {
        this.py = py;
    }

    @Test
    void definedFunctionIsCallableFromPythonWithConvertedArguments() {
        List<Object> seen = new ArrayList<>();
        py.defineFunction("j_echo", args -> {
            seen.addAll(Arrays.asList(args));
            return args.length;
        }).close();
        try (PyObject r = py.eval("j_echo(None, True, 7, 2.5, 'héllo', b'\\x01\\x02', [1, 2], 2**70)")) {
            assertEquals(8, r.asLong());
        }
        assertNull(seen.get(0));
        assertEquals(Boolean.TRUE, seen.get(1));
        assertEquals(7L, seen.get(2));
        assertEquals(2.5, seen.get(3));
        assertEquals("héllo", seen.get(4));
        assertArrayEquals(new byte[]{1, 2}, (byte[]) seen.get(5));
        assertInstanceOf(PyObject.class, seen.get(6));
        assertInstanceOf(PyObject.class, seen.get(7), "an int beyond long stays a Python int");
        assertTrue(((PyObject) seen.get(6)).isClosed(), "argument PyObjects are valid only during the call");
    }

    @Test
    void resultsAreConvertedBack() {
        py.defineFunction("j_results", args -> switch (((Long) args[0]).intValue()) {
            case 0 -> null;
            case 1 -> true;
            case 2 -> 42;
            case 3 -> 1.25;
            case 4 -> "text";
            case 5 -> new byte[]{65, 66};
            default -> py.eval("[1, 2, 3]");
        }).close();
        try (PyObject r = py.eval("[j_results(k) for k in range(7)]")) {
            assertEquals("[None, True, 42, 1.25, 'text', b'AB', [1, 2, 3]]", r.toString());
        }
    }

    @Test
    void anonymousFunctionAsSortKeyAndInMap() {
        try (PyObject key = py.function("neg_len", args -> -((String) args[0]).length());
             PyObject sorted = py.eval("sorted");
             PyObject words = py.eval("['a', 'ccc', 'bb', 'dddd']");
             PyObject kw = py.eval("lambda f, xs, key: f(xs, key=key)");
             PyObject r = kw.call(sorted, words, key)) {
            assertEquals("['dddd', 'ccc', 'bb', 'a']", r.toString());
        }
        try (PyObject sq = py.function("square", args -> (Long) args[0] * (Long) args[0]);
             PyObject listMap = py.eval("lambda f, n: list(map(f, range(n)))");
             PyObject r = listMap.call(sq, 5)) {
            assertEquals("[0, 1, 4, 9, 16]", r.toString());
        }
    }

    @Test
    void mapCallsAJavaFunction100000Times() {
        AtomicInteger calls = new AtomicInteger();
        try (PyObject f = py.function("times3", args -> { calls.incrementAndGet(); return 3 * (Long) args[0]; });
             PyObject check = py.eval("lambda f: sum(f(k) for k in range(100000)) == 3 * sum(range(100000))")) {
            assertTrue(check.call(f).asBoolean());
        }
        assertEquals(100_000, calls.get());
    }

    @Test
    void javaExceptionBecomesJavaExceptionInPythonCatchableAsRuntimeError() {
        py.defineFunction("j_fail", args -> { throw new IllegalStateException("bad state " + args[0]); }).close();
        py.exec("""
                import panamapy
                try:
                    j_fail(5)
                except RuntimeError as e:
                    jf_caught = (type(e).__name__, isinstance(e, panamapy.JavaException), str(e))
                """);
        try (PyObject r = py.eval("jf_caught")) {
            assertEquals("('JavaException', True, 'java.lang.IllegalStateException: bad state 5')", r.toString());
        }
    }

    @Test
    void javaExceptionReturningToJavaKeepsItsCauseAndFrames() {
        py.defineFunction("j_fail2", args -> failHere()).close();
        PythonException e = assertThrows(PythonException.class, () -> py.exec("def pyside():\n    return j_fail2()\npyside()"));
        assertEquals("panamapy.JavaException", e.pythonType());
        assertTrue(e.pythonMessage().contains("java.lang.ArithmeticException: failHere"), e.pythonMessage());
        assertInstanceOf(ArithmeticException.class, e.getCause());
        assertTrue(Arrays.stream(e.getCause().getStackTrace()).anyMatch(f -> f.getMethodName().equals("failHere")));
        assertTrue(e.pythonTraceback().contains("pyside"), e.pythonTraceback());
    }

    private static Object failHere() { throw new ArithmeticException("failHere"); }

    @Test
    void pythonExceptionInANestedCallComesBackAsPythonException() {
        py.defineFunction("j_calls_py", args -> {
            try (PyObject f = py.eval("lambda: int('not a number')")) {
                return f.call();
            }
        }).close();
        PythonException e = assertThrows(PythonException.class, () -> py.eval("j_calls_py()").close());
        assertEquals("ValueError", e.pythonType(), "the nested Python exception is restored as itself");
        assertTrue(e.pythonMessage().contains("not a number"));
        assertTrue(e.pythonTraceback().contains("<lambda>"), e.pythonTraceback());
    }

    @Test
    void pythonCodeCatchesItsOwnExceptionThroughAJavaFunction() {
        py.defineFunction("j_passes_through", args -> {
            try (PyObject f = (PyObject) args[0]) {
                return f.call();
            }
        }).close();
        py.exec("""
                class Custom(Exception):
                    def __init__(self, code):
                        super().__init__('custom %d' % code)
                        self.code = code
                def raiser():
                    raise Custom(17)
                try:
                    j_passes_through(raiser)
                except Custom as c:
                    pt_caught = c.code
                """);
        try (PyObject r = py.eval("pt_caught")) {
            assertEquals(17, r.asLong());
        }
    }

    @Test
    void threeLevelsDeepExceptionKeepsJavaCauseAndPythonFrames() {
        py.defineFunction("j_level1", args -> py.eval("py_level2()"));
        py.defineFunction("j_level2", args -> py.eval("py_level3()"));
        py.defineFunction("j_level3", args -> throwDeep());
        py.exec("""
                def py_level1():
                    return j_level1()
                def py_level2():
                    return j_level2()
                def py_level3():
                    return j_level3()
                """);
        PythonException e = assertThrows(PythonException.class, () -> py.eval("py_level1()"));
        Throwable original = null;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof UnsupportedOperationException) original = t;
        }
        assertNotNull(original, "the cause chain holds the Java exception");
        assertEquals("deep down", original.getMessage());
        assertTrue(Arrays.stream(original.getStackTrace()).anyMatch(f -> f.getMethodName().equals("throwDeep")));
        String tb = e.pythonTraceback();
        for (String frame : new String[]{"py_level1", "py_level2", "py_level3"}) {
            assertTrue(tb.contains(frame), frame + " missing in\n" + tb);
        }
        assertTrue(e.getMessage().contains("java.lang.UnsupportedOperationException: deep down"), e.getMessage());
    }

    private static Object throwDeep() { throw new UnsupportedOperationException("deep down"); }

    @Test
    void reentrantSeveralLevels() {
        // Python -> Java -> Python -> Java ... down to zero
        py.defineFunction("j_down", args -> {
            long n = (Long) args[0];
            if (n == 0) return 0L;
            try (PyObject r = py.eval("py_down(" + (n - 1) + ")")) {
                return r.asLong() + n;
            }
        }).close();
        py.exec("def py_down(n):\n    return j_down(n)");
        try (PyObject r = py.eval("py_down(20)")) {
            assertEquals(210, r.asLong());
        }
    }

    @Test
    void callableFromPythonThreads() {
        AtomicInteger threadsSeen = new AtomicInteger();
        java.util.Set<String> names = java.util.concurrent.ConcurrentHashMap.newKeySet();
        py.defineFunction("j_work", args -> {
            if (names.add(Thread.currentThread().getName())) threadsSeen.incrementAndGet();
            return (Long) args[0] * 2;
        }).close();
        py.exec("""
                import threading
                th_results = {}
                def th_worker(k):
                    th_results[k] = sum(j_work(i) for i in range(2000))
                th_threads = [threading.Thread(target=th_worker, args=(k,)) for k in range(8)]
                for t in th_threads: t.start()
                for t in th_threads: t.join()
                """);
        try (PyObject r = py.eval("sorted(set(th_results.values())), len(th_results)")) {
            assertEquals("([" + 2L * 1999 * 2000 / 2 + "], 8)", r.toString());
        }
        assertTrue(threadsSeen.get() >= 2, "calls came from several threads: " + names);
    }

    @Test
    void javaThreadsAndPythonThreadsCallConcurrently() throws Exception {
        py.defineFunction("j_inc", args -> (Long) args[0] + 1).close();
        py.exec("""
                import threading
                cc_ok = []
                def cc_worker():
                    x = 0
                    for _ in range(3000):
                        x = j_inc(x)
                    cc_ok.append(x)
                cc_threads = [threading.Thread(target=cc_worker) for _ in range(3)]
                for t in cc_threads: t.start()
                """);
        Thread[] java = new Thread[3];
        long[] out = new long[3];
        for (int k = 0; k < 3; k++) {
            int kk = k;
            java[k] = Thread.ofPlatform().start(() -> {
                try (PyObject f = py.eval("j_inc")) {
                    long x = 0;
                    for (int i = 0; i < 1000; i++) try (PyObject r = f.call(x)) { x = r.asLong(); }
                    out[kk] = x;
                }
            });
        }
        for (Thread t : java) t.join();
        py.exec("for t in cc_threads: t.join()");
        assertArrayEquals(new long[]{1000, 1000, 1000}, out);
        try (PyObject r = py.eval("cc_ok")) {
            assertEquals("[3000, 3000, 3000]", r.toString());
        }
    }

    @Test
    void keywordArgumentsAreRefusedWithTypeError() {
        py.defineFunction("j_nokw", args -> 1).close();
        PythonException e = assertThrows(PythonException.class, () -> py.eval("j_nokw(a=1)"));
        assertEquals("TypeError", e.pythonType());
    }

    @Test
    void unconvertibleResultBecomesJavaException() {
        py.defineFunction("j_badresult", args -> new Object()).close();
        PythonException e = assertThrows(PythonException.class, () -> py.eval("j_badresult()"));
        assertEquals("panamapy.JavaException", e.pythonType());
        assertInstanceOf(IllegalArgumentException.class, e.getCause());
    }

    @Test
    void functionNameAndReprComeFromTheName() {
        try (PyObject f = py.function("my_java_fn", args -> null);
             PyObject name = f.getAttr("__name__")) {
            assertEquals("my_java_fn", name.asString());
        }
    }

    @Test
    void aFreedFunctionLetsGoOfItsJavaLambda() throws InterruptedException {
        java.lang.ref.WeakReference<Object> weak = registerShortLived();
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (weak.get() != null) {
            if (System.nanoTime() > deadline) fail("the Java function was never forgotten after Python freed it");
            System.gc();
            Thread.sleep(20);
        }
    }

    private java.lang.ref.WeakReference<Object> registerShortLived() {
        int[] state = new int[1];
        dev.panamapy.JavaFunction fn = args -> ++state[0];
        try (PyObject f = py.function("short_lived", fn); PyObject r = f.call()) {
            assertEquals(1, r.asLong());
        }
        return new java.lang.ref.WeakReference<>(fn);
    }
}
