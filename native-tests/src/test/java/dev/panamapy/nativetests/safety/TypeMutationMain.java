package dev.panamapy.nativetests.safety;

import dev.panamapy.BufferSpec;
import dev.panamapy.CPython;
import dev.panamapy.JavaBuffer;
import dev.panamapy.PyObject;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Child of {@link JavaBufferTypeTest}: replaces {@code __new__} on the {@code panamapy.JavaBuffer}
 * types, which only CPython 3.9 allows (its heap types cannot be made immutable), and makes
 * instances of them and of Python subclasses, GC-tracked ones included. Each must be inert (a
 * BufferError on getbuffer, no Java state touched) and deallocate without a crash; the real
 * exports must keep working and counting. From 3.10 on every replacement is a TypeError. Exits 0
 * and prints "type mutation: ok" when all holds, 1 with the reason otherwise.
 */
public final class TypeMutationMain {

    public static void main(String[] args) {
        CPython py = CPython.start();
        Arena arena = py.arena();
        MemorySegment seg = arena.allocate(JAVA_LONG, 4);
        for (int i = 0; i < 4; i++) seg.setAtIndex(JAVA_LONG, i, i + 1);
        JavaBuffer tracked = py.export(BufferSpec.of(seg, "q"));
        JavaBuffer untracked = py.exportUntracked(BufferSpec.of(seg, "q"));
        py.setGlobal("t", tracked);
        py.setGlobal("u", untracked);
        py.exec("import gc, panamapy, sys\ngc.collect()");
        long exporters = py.diagnostics().liveExporters();
        py.exec("""
                made = []
                def check(f):
                    try:
                        memoryview(f)
                        raise AssertionError('a view of an object Java did not make: %r' % (f,))
                    except BufferError as e:
                        assert 'no Java state' in str(e), e
                    assert repr(f).startswith('<panamapy.JavaBuffer'), repr(f)
                def replaced(cls):
                    try:
                        cls.__new__ = staticmethod(lambda c, *a: object.__new__(c))
                        return True
                    except TypeError:
                        return False
                mutable = [replaced(c) for c in (panamapy.JavaBuffer, type(t), type(u))]
                assert mutable == [sys.version_info < (3, 10)] * 3, mutable
                if sys.version_info < (3, 10):
                    class S(panamapy.JavaBuffer):           # a __dict__: a GC-tracked instance
                        pass
                    class Slots(panamapy.JavaBuffer):
                        __slots__ = ()
                    for cls in (panamapy.JavaBuffer, type(t), type(u), S, Slots):
                        f = cls()
                        check(f)
                        for other in (type(t), type(u)):
                            if type(f) is not other:
                                try:
                                    f.__class__ = other
                                    raise AssertionError('reassigned %r to %r' % (cls, other))
                                except TypeError:
                                    pass
                        made.append(f)
                    s = S()
                    s.cycle = s                          # freed by the collector, through tp_free
                    del s, f
                    made.clear()
                    gc.collect()
                m = memoryview(t)
                assert m.tolist() == [1, 2, 3, 4], m.tolist()
                """);
        check(tracked.exportCount() == 1, "the real tracked export counts its view: " + tracked.exportCount());
        py.exec("m.release()\nassert memoryview(u).tolist() == [1, 2, 3, 4]");
        check(tracked.exportCount() == 0, "its release reached Java: " + tracked.exportCount());
        tracked.close();
        untracked.close();
        py.exec("del t, u, m\ngc.collect()");
        arena.close();
        long left = py.diagnostics().liveExporters();
        check(left == exporters - 2, "exporters back to the baseline: " + left + " left, " + exporters + " with ours");
        check(!seg.scope().isAlive(), "the arena's memory was freed once Python let go");
        try (PyObject v = py.eval("sys.version.split()[0]")) {
            System.out.println("type mutation: ok on " + v);
        }
        System.exit(0);
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            System.out.println("FAILED: " + what);
            System.exit(1);
        }
    }
}
