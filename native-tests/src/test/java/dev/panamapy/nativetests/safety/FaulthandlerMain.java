package dev.panamapy.nativetests.safety;

import dev.panamapy.CPython;
import dev.panamapy.PyObject;
import dev.panamapy.PythonException;

/**
 * Child JVM for {@link FaulthandlerTest}, started with {@code PYTHONFAULTHANDLER=1} or
 * {@code PYTHONDEVMODE=1}: starts CPython, has Python code switch faulthandler on every way it
 * can, then makes the JVM take its own SIGSEGVs (implicit null checks in compiled code, and
 * safepoints) many times. With faulthandler's handler in front of the JVM's, the first of them
 * killed the process.
 */
public final class FaulthandlerMain {
    private FaulthandlerMain() { }

    private static CPython py;

    public static void main(String[] args) {
        ChildJvm.exitOnFailure(() -> run(args));
    }

    private static void run(String[] args) throws Exception {
        py = CPython.start();
        print("faulthandler enabled after start", "__import__('faulthandler').is_enabled()");
        print("os.environ keeps PYTHONFAULTHANDLER", "__import__('os').environ.get('PYTHONFAULTHANDLER')");
        print("os.environ keeps PYTHONDEVMODE", "__import__('os').environ.get('PYTHONDEVMODE')");
        py.exec("""
                import faulthandler, signal, sys, warnings
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter('always')
                    faulthandler.enable()
                    faulthandler.enable(all_threads=True)
                    faulthandler.register(signal.SIGUSR1)
                    from faulthandler import enable as early_enable
                    del sys.modules['faulthandler']                  # a module made afresh
                    import faulthandler as again
                    again.enable()
                    early_enable()
                warned = [(w.category.__name__, str(w.message).split(':')[0]) for w in caught]
                enabled = faulthandler.is_enabled() or again.is_enabled()
                """);
        print("warnings", "warned");
        print("enabled after enable()", "enabled");
        try {
            py.exec("import warnings\nwith warnings.catch_warnings():\n    warnings.simplefilter('error')\n"
                    + "    __import__('faulthandler').enable()");
            System.out.println("with warnings as errors: no exception");
        } catch (PythonException e) {
            System.out.println("with warnings as errors: " + e.pythonType());
        }
        print("dump_traceback still works", "__import__('faulthandler').dump_traceback(all_threads=False) is None");
        System.out.println("null checks taken: " + jvmFaults());
        System.out.println("survived");
    }

    private static void print(String what, String expression) {
        try (PyObject r = py.eval(expression)) {
            System.out.println(what + ": " + r.repr());
        }
    }

    /**
     * Lets C2 compile a method whose null check is implicit (a load through the reference, which
     * faults with SIGSEGV when it is null), then hits it with nulls, and forces safepoints.
     */
    private static long jvmFaults() {
        Object[] objects = new Object[1024];
        for (int i = 0; i < objects.length; i++) objects[i] = (i % 512 == 511) ? null : new int[]{i};
        long npes = 0, sum = 0;
        for (int round = 0; round < 2_000; round++) {
            for (Object o : objects) {
                try {
                    sum += length(o);
                } catch (NullPointerException e) {
                    npes++;
                }
            }
            if (round % 200 == 0) System.gc();
        }
        return sum > 0 ? npes : -1;
    }

    private static int length(Object o) {
        return ((int[]) o).length;
    }
}
