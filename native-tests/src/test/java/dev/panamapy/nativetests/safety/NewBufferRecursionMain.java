package dev.panamapy.nativetests.safety;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;

/**
 * The child JVM of {@link NewBufferRecursionTest}: a BufferMixin whose {@code _get_buffer} asks
 * for a view of itself again (Python, the getbuffer upcall and Java recursing together), started
 * from Java threads with small stacks and from a thread Python started. Each must end in
 * RecursionError and leave the interpreter working. Prints {@code OK <thread>} per case.
 */
public final class NewBufferRecursionMain {
    private NewBufferRecursionMain() { }

    public static void main(String[] args) {
        ChildJvm.exitOnFailure(() -> {
            try (CPython py = CPython.start()) {
                py.exec("import panamapy.newbuffer as nb, threading\n"
                        + "class R(nb.BufferMixin):\n    def _get_buffer(self, view, flags):\n        memoryview(self)\n"
                        + "def go():\n    try:\n        memoryview(R())\n    except RecursionError:\n        return 'RecursionError'\n"
                        + "    return 'no error'\n");
                for (long kib : new long[]{256, 512, 2048}) {
                    String[] got = new String[1];
                    Thread t = new Thread(null, () -> {
                        try (PyObject r = py.eval("go()")) {
                            got[0] = r.asString();
                        }
                    }, "stack-" + kib, kib << 10);
                    t.start();
                    t.join();
                    check("java thread " + kib + " KiB", got[0]);
                }
                py.exec("out = []\nth = threading.Thread(target=lambda: out.append(go())); th.start(); th.join()");
                try (PyObject r = py.eval("out[0]")) {
                    check("python thread", r.asString());
                }
                try (PyObject r = py.eval("bytes(memoryview(b'ok'))")) {
                    check("after", r.toString().equals("b'ok'") ? "RecursionError" : r.toString());
                }
            }
        });
    }

    private static void check(String where, String got) {
        if (!"RecursionError".equals(got)) throw new AssertionError(where + ": " + got);
        System.out.println("OK " + where);
    }
}
