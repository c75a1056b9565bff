package dev.panamapy.nativetests.safety;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;

/**
 * The child JVM of {@link NewBufferOverflowTest}: on a Python thread with a 4 MiB stack and no
 * recursion limit to speak of, {@code bool(Py_buffer())} is called at the bottom of ever deeper
 * recursions that go through C ({@code map}), until the Java stack of the upcall overflows or
 * Python refuses. Prints {@code ended in <exception>} and {@code done}.
 */
public final class NewBufferOverflowMain {
    private NewBufferOverflowMain() { }

    public static void main(String[] args) {
        ChildJvm.exitOnFailure(() -> {
            try (CPython py = CPython.start()) {
                py.exec("""
                        import threading, sys, panamapy.newbuffer as nb
                        v = nb.Py_buffer()
                        out = []
                        def r(n):
                            if n == 0:
                                return bool(v)
                            return list(map(r, [n - 1]))[0]    # a C frame a level: the stack is used up
                        def sweep():
                            bool(v)                            # the thread is attached at a shallow depth
                            n = 100
                            while n < 200000:
                                try:
                                    if r(n) is not False:
                                        out.append('a wrong answer at depth %d' % n)
                                        return
                                except (RecursionError, SystemError) as e:
                                    out.append(type(e).__name__)
                                    return
                                n += 7
                            out.append('no error down to depth %d' % n)
                        sys.setrecursionlimit(1000000)
                        threading.stack_size(4 << 20)
                        t = threading.Thread(target=sweep)
                        t.start()
                        t.join()
                        threading.stack_size(0)
                        """);
                try (PyObject r = py.eval("out[0]")) {
                    System.out.println("ended in " + r.asString());
                }
                try (PyObject r = py.eval("bool(v)")) {
                    System.out.println("after: " + r);
                }
            }
            System.out.println("done");
        });
    }
}
