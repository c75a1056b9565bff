package dev.panamapy.nativetests.safety;

import dev.panamapy.CPython;
import dev.panamapy.Gil;

/**
 * Child JVM for {@link ForkTest}: Python code called from Java forks, one way per
 * {@code args[0]}. It prints what it saw, one fact a line, and exits 0 only if everything went
 * as the contract says; a forked child that came back into Java must have exited on its own
 * (status 70, its message on fd 2, which is this JVM's output too), else the parent's
 * {@code waitpid} never returns and the test sees a hang.
 */
public final class ForkMain {
    private ForkMain() { }

    public static void main(String[] args) {
        try {
            CPython py = CPython.start();
            // The API's own way back from a call (making a PyObject, ...) loads classes the first
            // time; in a child forked by that first call, loading can wait for ever on a JVM lock
            // a compiler thread held at the fork (see the report): so one call before forking.
            py.exec("import os");
            switch (args[0]) {
                case "fork" -> fork(py);
                case "fork-in-gil-scope" -> forkInGilScope(py);
                case "pool" -> pool(py);
                case "subprocess" -> subprocess(py);
                default -> throw new IllegalArgumentException(args[0]);
            }
            System.out.println("interpreter works: " + py.eval("6 * 7").asLong());
            py.close();
            System.out.println("closed: " + py.isClosed());
            System.out.println("done");
        } catch (Throwable t) {
            t.printStackTrace();
            System.exit(1);
        }
    }

    /** The forked child returns from the outermost call into Java. */
    private static void fork(CPython py) {
        py.exec("import os\npid = os.fork()");
        // only the parent gets here: the child ended on the way back into Java
        reapChild(py);
    }

    /** The forked child returns into Java inside a gil() scope: it ends when the scope closes. */
    private static void forkInGilScope(CPython py) {
        try (Gil gil = py.gil()) {
            py.exec("import os\npid = os.fork()");
        }
        reapChild(py);
    }

    private static void reapChild(CPython py) {
        System.out.println("parent continues, child pid > 0: " + (py.eval("pid").asLong() > 0));
        py.exec("_, status = os.waitpid(pid, 0)\ncode = os.waitstatus_to_exitcode(status)");
        System.out.println("child exit status: " + py.eval("code").asLong());
    }

    /**
     * multiprocessing: a 'fork' process runs Python only and ends with os._exit, so it keeps
     * working; a 'spawn' pool (what the javadoc recommends) computes a map. A 'fork' Pool is
     * not used: its handler threads hold locks at fork time, and on 3.13 a worker can inherit
     * one locked and wait forever (seen 1 run in 6, with or without panamapy) — the
     * fork-with-threads hazard CPython warns about since 3.12.
     */
    private static void pool(CPython py) {
        py.exec("""
                import multiprocessing, warnings
                def square_into(conn, xs):
                    conn.send([x * x for x in xs])
                    conn.close()
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter('always')      # 3.12+: DeprecationWarning about fork with threads, expected
                    ctx = multiprocessing.get_context('fork')
                    here, there = ctx.Pipe()
                    p = ctx.Process(target=square_into, args=(there, range(10)))
                    p.start()
                    result = here.recv()
                    p.join(60)
                    forked_exit = p.exitcode
                warned = [w.category.__name__ for w in caught]
                with multiprocessing.get_context('spawn').Pool(2) as pool:
                    spawned = pool.map(abs, range(-4, 1))
                """);
        System.out.println("fork process: " + py.eval("result") + ", exit code " + py.eval("forked_exit"));
        System.out.println("spawn pool.map: " + py.eval("spawned"));
        System.out.println("warnings: " + py.eval("warned"));
    }

    /** subprocess forks (vfork or fork, with preexec_fn after-fork hooks run) and execs at once. */
    private static void subprocess(CPython py) {
        py.exec("""
                import subprocess, sys
                plain = subprocess.run([sys.executable, '-c', 'print(6 * 7)'], capture_output=True, text=True)
                hooked = subprocess.run([sys.executable, '-c', 'print(6 * 9)'], capture_output=True, text=True,
                                        preexec_fn=lambda: None)
                """);
        System.out.println("subprocess.run: " + py.eval("(plain.returncode, plain.stdout.strip())"));
        System.out.println("subprocess.run with preexec_fn: " + py.eval("(hooked.returncode, hooked.stdout.strip())"));
    }
}
