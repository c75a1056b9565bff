package dev.panamapy.testing;

import dev.panamapy.CPython;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * JUnit 5 extension giving tests the embedded CPython: register it with
 * {@code @ExtendWith(PanamapyExtension.class)} or {@link PythonTest @PythonTest}, then declare a
 * {@link CPython} parameter on a test method, a {@code @BeforeAll}/{@code @BeforeEach} method or
 * the test class's constructor.
 *
 * <p><b>One CPython per test JVM.</b> The interpreter is started on first use, from the Python
 * that {@link CPython#start()} discovers: the system property {@code panamapy.python}, else the
 * environment variable {@code PANAMAPY_PYTHON}, else {@code python3} on the PATH. If this JVM
 * already runs one (started by other code through {@code CPython.start()}), that one is reused.
 * Every test class and every test in the JVM shares it, so state a test leaves in
 * {@code __main__} or {@code sys.modules} is seen by the next: bind what a test needs with
 * {@link PythonRunner#run}, which runs each snippet in a fresh namespace. If starting fails,
 * every test asking for it fails with the same startup error; it is not retried.
 *
 * <p><b>Never closed.</b> The extension does not finalize CPython, neither after a class nor at
 * JVM exit: CPython cannot be restarted in the same process (a later test class in the same JVM
 * would be left without one), and {@code Py_FinalizeEx} from a shutdown hook would race with
 * threads still alive at exit (JUnit's, the bridge's Cleaner) and run arbitrary {@code __del__}
 * code. The operating system reclaims the interpreter when the JVM exits. Tests must not close
 * the injected interpreter either.
 *
 * <p>The test JVM needs {@code --enable-native-access=ALL-UNNAMED} (class path) or
 * {@code --enable-native-access=dev.panamapy.bridge,dev.panamapy.bindings} (module path).
 */
public final class PanamapyExtension implements ParameterResolver {

    private static CPython python;               // guarded by PanamapyExtension.class
    private static RuntimeException startFailure; // guarded by PanamapyExtension.class

    /**
     * The CPython of this JVM, started on first call (see the class comment). Usable outside
     * JUnit too, e.g. from a {@code main}.
     *
     * @throws dev.panamapy.PythonStartupException if no usable Python was found (also on every later call)
     */
    public static synchronized CPython python() {
        if (python != null) return python;
        if (startFailure != null) throw startFailure;
        try {
            python = CPython.running().orElseGet(CPython::start);
            return python;
        } catch (RuntimeException e) {
            startFailure = e;
            throw e;
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return parameterContext.getParameter().getType() == CPython.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        try {
            return python();
        } catch (RuntimeException e) {
            throw new ParameterResolutionException("could not start the embedded CPython for "
                    + extensionContext.getDisplayName() + ": " + e.getMessage(), e);
        }
    }
}
