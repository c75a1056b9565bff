package dev.panamapy.nativetests.safety;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The child JVM of {@link NewBufferCloseTest}: daemon Python threads loop through
 * panamapy.newbuffer upcalls that run Python code letting the GIL go ({@code time.sleep(0)}),
 * while Java closes CPython. {@code args[0]} names the upcall: {@code get} (a BufferMixin's
 * {@code _get_buffer}), {@code release} (its {@code _release_buffer}), {@code wrapper}
 * ({@code Py_buffer.get_buffer} of an exporter running Python, and the {@code obj} setter
 * dropping an object whose {@code __del__} runs Python), {@code backport} ({@code panamapy.Buffer}'s
 * upcalls before 3.12: {@code __buffer__} returning an object whose drop runs Python) and
 * {@code backport-release} (its {@code __release_buffer__}). A global's {@code __del__} keeps the
 * main thread busy in Python code during finalization, so the GIL does go to those threads
 * then (CPython ends a thread that takes it while finalizing: inside an upcall, its Java frames
 * are left behind and the JVM still lists it, a thread that can abort the process). Prints
 * {@code closed: true}, how many threads the JVM still sees inside a newbuffer upcall (0 when
 * finalization waited for them), and {@code done}.
 */
public final class NewBufferCloseMain {
    private NewBufferCloseMain() { }

    public static void main(String[] args) {
        ChildJvm.exitOnFailure(() -> {
            CPython py = CPython.start();
            py.exec("""
                    import threading, time, ctypes, sys
                    import panamapy.newbuffer as nb
                    count = [0]
                    FMT = ctypes.create_string_buffer(b'B')
                    class M(nb.BufferMixin):
                        def _get_buffer(self, view, flags):
                            if SCENARIO == 'get':
                                time.sleep(0)          # the GIL changes hands inside the upcall
                            view.obj = self
                            view.ndim = 1
                            view.itemsize = 1
                            view.format = ctypes.addressof(FMT)
                    class R(M):
                        def _release_buffer(self, view):
                            time.sleep(0)
                    class P:
                        def __buffer__(self, flags):
                            time.sleep(0)
                            return memoryview(b'ab')
                    class D:
                        def __del__(self):
                            time.sleep(0)
                    struct = bytearray(nb.PyBUFFER_SIZEOF)
                    if SCENARIO.startswith('backport'):         # panamapy.Buffer before 3.12: BufferBackport's upcalls
                        import panamapy
                        class NotAView(panamapy.Buffer):
                            def __buffer__(self, flags):
                                return D()                     # TypeError; dropping it runs D's __del__ in the upcall
                        class Released(panamapy.Buffer):
                            def __buffer__(self, flags):
                                return memoryview(b'ab')
                            def __release_buffer__(self, view):
                                time.sleep(0)
                    def one():
                        if SCENARIO == 'wrapper':
                            v = nb.Py_buffer()
                            v.get_buffer(P() if sys.version_info >= (3, 12) else M())
                            v.release_buffer()
                            w = nb.Py_buffer(ctypes.addressof((ctypes.c_char * len(struct)).from_buffer(struct)))
                            w.obj = D()
                            w.obj = None               # D's __del__ runs inside the setter's upcall
                        elif SCENARIO == 'backport':
                            try:
                                memoryview(NotAView())
                            except TypeError:
                                pass
                        elif SCENARIO == 'backport-release':
                            bytes(memoryview(Released()))
                        else:
                            bytes(memoryview(R() if SCENARIO == 'release' else M()))
                    def loop():
                        while True:
                            try:
                                one()
                            except BufferError as e:
                                if 'finalizing' not in str(e):
                                    raise                  # only refusals while CPython finalizes are expected
                            count[0] += 1
                    class Slow:                        # finalization runs Python code for a while: the GIL
                        def __del__(self, monotonic=time.monotonic):   # goes to the daemon threads meanwhile
                            end = monotonic() + 0.2
                            while monotonic() < end:
                                pass
                    slow = Slow()
                    for _ in range(3):
                        threading.Thread(target=loop, daemon=True).start()
                    """.replace("SCENARIO", "'" + args[0] + "'"));
            long n;
            do {
                Thread.sleep(10);
                try (PyObject c = py.eval("count[0]")) {
                    n = c.asLong();
                }
            } while (n < 50);
            py.close();
            System.out.println("closed: " + py.isClosed());
            // a thread CPython ended (or parked for good) inside an upcall still shows its Java frames
            List<String> left = new ArrayList<>();
            for (Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet()) {
                for (StackTraceElement f : e.getValue()) {
                    if (f.getClassName().startsWith("dev.panamapy.internal.NewBuffer")
                            || f.getClassName().startsWith("dev.panamapy.internal.BufferBackport")) {
                        left.add(e.getKey().getName() + " at " + f);
                        break;
                    }
                }
            }
            System.out.println("threads left inside newbuffer upcalls: " + left.size() + " " + left);
            System.gc();
            System.out.println("done");
        });
    }
}
