package dev.panamapy.nativetests.safety;

import dev.panamapy.BufferRequest;
import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PyBufferView;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.function.Executable;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Class 9 of issue 15: every error path of every public call leaves reference counts as they
 * were and no Python error pending. One table: for each public method of PyObject, CPython,
 * JavaBuffer, PyBufferView and the Java-function call path, each way it can fail (a key, value
 * or argument that cannot be converted; a closed receiver; a closed PyObject argument; Python
 * raising; a NUL in a name), called 1,000 times. After the rounds, {@code sys.getrefcount} of
 * every object involved and {@code diagnostics().liveReferences()} are what they were, each
 * failing call is followed by a call that would throw a pending error, and
 * {@code sys.exc_info()} is empty.
 */
@Adversarial
class ErrorPathLeakTest {

    private static final int ROUNDS = 1_000;
    /** The Python objects whose reference counts every case watches. */
    private static final String WATCHED = "['t_recv', 't_val', 't_key', 't_res', 't_ba', 't_bytes', 't_jb']";

    private final CPython py;
    private PyObject minusOne, recv, val, key, res, returner, closedRecv, closedVal, closedKey, ba, closedBa, bytes;
    private PyObject jBadResult, jClosedResult, jThrows, jNested;
    private Arena arena;
    private JavaBuffer jb, closedJb, untrackedJb;
    private Arena sharing;
    private PyBufferView confinedView, closedView;

    ErrorPathLeakTest(CPython py) {
        this.py = py;
    }

    @BeforeEach
    void setUp() {
        py.exec("""
                import sys
                class T_Hostile:
                    def __setattr__(self, name, value): raise ValueError('setattr refused')
                    def __getattr__(self, name): raise AttributeError(name)
                    def __setitem__(self, k, v): raise ValueError('setitem refused')
                    def __getitem__(self, k): raise KeyError(k)
                    def __len__(self): raise ValueError('len refused')
                    def __bool__(self): raise ValueError('bool refused')
                    def __repr__(self): raise ValueError('repr refused')
                    def __str__(self): raise ValueError('str refused')
                    def __call__(self, *a): raise ValueError('call refused', a)
                    def meth(self, *a): raise ValueError('meth refused', a)
                t_recv = T_Hostile()
                t_val = object()
                t_key = ('key', 1)
                t_res = object()
                t_returner = lambda *a: t_res
                t_ba = bytearray(16)
                t_bytes = b'read-only'
                """);
        minusOne = py.eval("-1");
        recv = py.getGlobal("t_recv");
        val = py.getGlobal("t_val");
        key = py.getGlobal("t_key");
        res = py.getGlobal("t_res");
        returner = py.getGlobal("t_returner");
        ba = py.getGlobal("t_ba");
        bytes = py.getGlobal("t_bytes");
        closedRecv = py.getGlobal("t_recv");
        closedRecv.close();
        closedVal = py.getGlobal("t_val");
        closedVal.close();
        closedKey = py.getGlobal("t_key");
        closedKey.close();
        closedBa = py.getGlobal("t_ba");
        closedBa.close();
        jBadResult = py.function("t_jbad", args -> new Object());
        jClosedResult = py.function("t_jclosed", args -> closedVal);
        jThrows = py.function("t_jthrows", args -> { throw new IllegalStateException("refused in Java " + args.length); });
        jNested = py.function("t_jnested", args -> { py.exec("raise ValueError(t_val)"); return null; });
        py.setGlobal("t_jbad", jBadResult);
        py.setGlobal("t_jthrows", jThrows);
        arena = Arena.ofConfined();
        jb = py.export(BufferSpec.of(arena.allocate(16), "B"));
        py.setGlobal("t_jb", jb);
        py.exec("t_jb_view = memoryview(t_jb)");          // a live view over the caller's arena: close() refuses
        confinedView = ba.getBuffer(BufferRequest.FULL_RO);
        closedView = ba.getBuffer(BufferRequest.FULL_RO);
        closedView.close();
        closedJb = py.export(BufferSpec.of(arena.allocate(8), "B"));
        closedJb.close();
        sharing = py.arena();
        untrackedJb = py.exportUntracked(BufferSpec.of(sharing.allocate(8), "B"));
    }

    @AfterEach
    void tearDown() {
        confinedView.close();
        py.exec("t_jb_view.release()");
        jb.close();
        untrackedJb.close();
        sharing.close();
        arena.close();
        for (PyObject o : List.of(minusOne, recv, val, key, res, returner, ba, bytes, jBadResult, jClosedResult, jThrows, jNested)) {
            o.close();
        }
        py.exec("for _n in [n for n in globals() if n.startswith('t_') or n == 'T_Hostile']: del globals()[_n]");
    }

    private record Case(String name, Class<? extends Throwable> expected, Executable call) { }

    private List<Case> cases() {
        Object bad = new Object();                      // no conversion to Python
        List<Case> t = new ArrayList<>();
        // PyObject: attributes
        t.add(new Case("getAttr: NUL in name", IllegalArgumentException.class, () -> recv.getAttr("a\0b")));
        t.add(new Case("getAttr: closed receiver", IllegalStateException.class, () -> closedRecv.getAttr("x")));
        t.add(new Case("getAttr: Python raises", PythonException.class, () -> recv.getAttr("missing")));
        t.add(new Case("setAttr: NUL in name", IllegalArgumentException.class, () -> recv.setAttr("a\0b", val)));
        t.add(new Case("setAttr: closed receiver", IllegalStateException.class, () -> closedRecv.setAttr("x", val)));
        t.add(new Case("setAttr: value not convertible", IllegalArgumentException.class, () -> recv.setAttr("x", bad)));
        t.add(new Case("setAttr: closed value", IllegalStateException.class, () -> recv.setAttr("x", closedVal)));
        t.add(new Case("setAttr: Python raises", PythonException.class, () -> recv.setAttr("x", val)));
        t.add(new Case("hasAttr: NUL in name", IllegalArgumentException.class, () -> recv.hasAttr("a\0b")));
        t.add(new Case("hasAttr: closed receiver", IllegalStateException.class, () -> closedRecv.hasAttr("x")));
        // PyObject: calls
        t.add(new Case("call: argument not convertible", IllegalArgumentException.class, () -> recv.call(val, key, bad)));
        t.add(new Case("call: closed argument", IllegalStateException.class, () -> recv.call(val, key, closedVal)));
        t.add(new Case("call: closed receiver", IllegalStateException.class, () -> closedRecv.call(val, key)));
        t.add(new Case("call: Python raises", PythonException.class, () -> recv.call(val, key)));
        t.add(new Case("callAs: argument not convertible", IllegalArgumentException.class,
                () -> returner.callAs(Long.class, val, bad)));
        t.add(new Case("callAs: closed argument", IllegalStateException.class, () -> returner.callAs(Long.class, val, closedKey)));
        t.add(new Case("callAs: closed receiver", IllegalStateException.class, () -> closedRecv.callAs(Long.class, val)));
        t.add(new Case("callAs: Python raises", PythonException.class, () -> recv.callAs(Object.class, val, key)));
        t.add(new Case("callAs: result not a Long", PythonException.class, () -> returner.callAs(Long.class, val)));
        t.add(new Case("callAs: result not a Double", PythonException.class, () -> returner.callAs(Double.class, val)));
        t.add(new Case("callAs: result not a str", ClassCastException.class, () -> returner.callAs(String.class, val)));
        t.add(new Case("callAs: result not bytes", ClassCastException.class, () -> returner.callAs(byte[].class, val)));
        t.add(new Case("callAs: unsupported type", IllegalArgumentException.class, () -> returner.callAs(Integer.class, val)));
        t.add(new Case("callMethod: NUL in name", IllegalArgumentException.class, () -> recv.callMethod("m\0eth", val)));
        t.add(new Case("callMethod: closed receiver", IllegalStateException.class, () -> closedRecv.callMethod("meth", val)));
        t.add(new Case("callMethod: argument not convertible", IllegalArgumentException.class,
                () -> recv.callMethod("meth", val, bad)));
        t.add(new Case("callMethod: closed argument", IllegalStateException.class, () -> recv.callMethod("meth", val, closedKey)));
        t.add(new Case("callMethod: Python raises", PythonException.class, () -> recv.callMethod("meth", val, key)));
        // PyObject: items
        t.add(new Case("getItem: key not convertible", IllegalArgumentException.class, () -> recv.getItem(bad)));
        t.add(new Case("getItem: closed key", IllegalStateException.class, () -> recv.getItem(closedKey)));
        t.add(new Case("getItem: closed receiver", IllegalStateException.class, () -> closedRecv.getItem(key)));
        t.add(new Case("getItem: Python raises", PythonException.class, () -> recv.getItem(key)));
        t.add(new Case("setItem: key not convertible", IllegalArgumentException.class, () -> recv.setItem(bad, val)));
        t.add(new Case("setItem: value not convertible", IllegalArgumentException.class, () -> recv.setItem(key, bad)));
        t.add(new Case("setItem: closed key", IllegalStateException.class, () -> recv.setItem(closedKey, val)));
        t.add(new Case("setItem: closed value", IllegalStateException.class, () -> recv.setItem(key, closedVal)));
        t.add(new Case("setItem: closed receiver", IllegalStateException.class, () -> closedRecv.setItem(key, val)));
        t.add(new Case("setItem: Python raises", PythonException.class, () -> recv.setItem(key, val)));
        // PyObject: values
        t.add(new Case("length: Python raises", PythonException.class, recv::length));
        t.add(new Case("length: closed receiver", IllegalStateException.class, closedRecv::length));
        t.add(new Case("asLong: not an int", PythonException.class, val::asLong));
        t.add(new Case("asDouble: not a float", PythonException.class, val::asDouble));
        t.add(new Case("asBoolean: Python raises", PythonException.class, recv::asBoolean));
        t.add(new Case("asString: not a str", ClassCastException.class, val::asString));
        t.add(new Case("asBytesCopy: not bytes", ClassCastException.class, val::asBytesCopy));
        t.add(new Case("asLong: closed receiver", IllegalStateException.class, closedVal::asLong));
        t.add(new Case("typeName: closed receiver", IllegalStateException.class, closedVal::typeName));
        t.add(new Case("repr: Python raises", PythonException.class, recv::repr));
        t.add(new Case("toString: Python raises", PythonException.class, recv::toString));
        t.add(new Case("isNone: closed receiver", IllegalStateException.class, closedVal::isNone));
        t.add(new Case("getBuffer: no buffer", PythonException.class, () -> recv.getBuffer(BufferRequest.FULL_RO)));
        t.add(new Case("getBufferShared: no buffer", PythonException.class, () -> recv.getBufferShared(BufferRequest.FULL_RO)));
        t.add(new Case("getBuffer: closed receiver", IllegalStateException.class, () -> closedBa.getBuffer(BufferRequest.FULL_RO)));
        t.add(new Case("getBuffer: request refused", PythonException.class,
                () -> bytes.getBuffer(BufferRequest.FULL)));     // bytes are read-only: BufferError
        // CPython
        t.add(new Case("exec: NUL in code", IllegalArgumentException.class, () -> py.exec("t_val\0")));
        t.add(new Case("exec: Python raises", PythonException.class, () -> py.exec("raise ValueError(t_val, t_key)")));
        t.add(new Case("eval: syntax error", PythonException.class, () -> py.eval("t_val +")));
        t.add(new Case("eval: Python raises", PythonException.class, () -> py.eval("t_recv[t_key]")));
        t.add(new Case("importModule: NUL in name", IllegalArgumentException.class, () -> py.importModule("os\0.path")));
        t.add(new Case("importModule: missing", PythonException.class, () -> py.importModule("t_no_such_module")));
        t.add(new Case("setGlobal: NUL in name", IllegalArgumentException.class, () -> py.setGlobal("t_\0x", val)));
        t.add(new Case("setGlobal: value not convertible", IllegalArgumentException.class, () -> py.setGlobal("t_x", bad)));
        t.add(new Case("setGlobal: closed value", IllegalStateException.class, () -> py.setGlobal("t_x", closedVal)));
        t.add(new Case("getGlobal: NUL in name", IllegalArgumentException.class, () -> py.getGlobal("t_val\0")));
        t.add(new Case("getGlobal: not bound", NoSuchElementException.class, () -> py.getGlobal("t_unbound")));
        t.add(new Case("defineFunction: NUL in name", IllegalArgumentException.class,
                () -> py.defineFunction("t_f\0", args -> null)));
        t.add(new Case("function: lone surrogate in name", IllegalArgumentException.class,
                () -> py.function("t_f\ud800", args -> null)));
        t.add(new Case("export: arena closed", IllegalStateException.class, () -> {
            Arena gone = Arena.ofConfined();
            var seg = gone.allocate(8);
            gone.close();
            py.export(BufferSpec.of(seg, "B"));
        }));
        // JavaBuffer and PyBufferView
        t.add(new Case("JavaBuffer.close: views live over the caller's arena", IllegalStateException.class, jb::close));
        t.add(new Case("JavaBuffer.asPyObject: closed", IllegalStateException.class, closedJb::asPyObject));
        t.add(new Case("JavaBuffer.exportCount: untracked", UnsupportedOperationException.class, untrackedJb::exportCount));
        t.add(new Case("JavaBuffer.awaitReleased: inside gil()", IllegalStateException.class, () -> {
            try (var gil = py.gil()) {
                jb.awaitReleased(java.time.Duration.ofSeconds(1));
            }
        }));
        t.add(new Case("JavaBuffer as an argument: closed", IllegalStateException.class, () -> recv.call(val, closedJb)));
        t.add(new Case("exportUntracked: memory of the caller's arena", IllegalArgumentException.class,
                () -> py.exportUntracked(BufferSpec.of(arena.allocate(8), "B"))));
        t.add(new Case("PyBufferView.close: confined to another thread", WrongThreadException.class,
                () -> rethrow(onOtherThread(confinedView::close))));
        t.add(new Case("PyBufferView.segment: closed", IllegalStateException.class, closedView::segment));
        t.add(new Case("PyBufferView.getDouble: not a 'd' buffer", UnsupportedOperationException.class,
                () -> confinedView.getDouble(0)));
        // Java functions called from Python
        t.add(new Case("Java function: result not convertible", PythonException.class, () -> jBadResult.call(val, key)));
        t.add(new Case("Java function: result a closed PyObject", PythonException.class, () -> jClosedResult.call(val, key)));
        t.add(new Case("Java function: throws", PythonException.class, () -> jThrows.call(val, key, recv)));
        t.add(new Case("Java function: its Python call raises", PythonException.class, () -> jNested.call(val, key)));
        t.add(new Case("Java function called by Python: result not convertible", PythonException.class,
                () -> py.exec("t_jbad(t_val, t_key, t_recv)")));
        t.add(new Case("Java function called by Python: throws", PythonException.class,
                () -> py.exec("t_jthrows(t_val, t_key)")));
        return t;
    }

    @TestFactory
    Stream<DynamicTest> everyFailingCallLeavesReferencesAndErrorStateUnchanged() {
        return cases().stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> check(c)));
    }

    private void check(Case c) throws InterruptedException {
        long[] before = refcounts();
        long liveBefore = py.diagnostics().liveReferences();
        int viewsBefore = jb.exportCount();
        for (int i = 0; i < ROUNDS; i++) {
            assertThrows(c.expected(), c.call(), c.name());
            assertEquals(-1, minusOne.asLong(), "no Python error is pending after: " + c.name());
        }
        long[] after = refcounts();
        long liveAfter = py.diagnostics().liveReferences();
        // what a PythonException keeps for a Java function (its original Python exception) goes with it: let the GC run
        long deadline = System.nanoTime() + 20_000_000_000L;
        while ((!Arrays.equals(before, after) || liveAfter != liveBefore) && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(20);
            after = refcounts();
            liveAfter = py.diagnostics().liveReferences();
        }
        assertArrayEquals(before, after, c.name() + ": sys.getrefcount of " + WATCHED + " after " + ROUNDS + " failing calls");
        assertEquals(liveBefore, liveAfter, c.name() + ": references Java holds");
        assertEquals(viewsBefore, jb.exportCount(), c.name() + ": live views of the JavaBuffer");
        assertFalse(jb.isClosed(), c.name());
        assertFalse(confinedView.isClosed(), c.name());
        try (PyObject r = py.eval("sys.exc_info() == (None, None, None)")) {
            assertTrue(r.asBoolean(), c.name() + ": sys.exc_info() is empty");
        }
    }

    private long[] refcounts() {
        try (PyObject counts = py.eval("[sys.getrefcount(globals()[n]) for n in " + WATCHED + "]")) {
            long[] out = new long[(int) counts.length()];
            for (int i = 0; i < out.length; i++) {
                try (PyObject n = counts.getItem(i)) {
                    out[i] = n.asLong();
                }
            }
            return out;
        }
    }

    private static Throwable onOtherThread(Runnable r) throws InterruptedException {
        AtomicReference<Throwable> thrown = new AtomicReference<>();
        Thread t = Thread.ofPlatform().start(() -> {
            try {
                r.run();
            } catch (Throwable e) {
                thrown.set(e);
            }
        });
        t.join();
        return thrown.get();
    }

    private static void rethrow(Throwable t) throws Throwable {
        if (t != null) throw t;
    }
}
