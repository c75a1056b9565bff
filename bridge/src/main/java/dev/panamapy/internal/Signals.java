package dev.panamapy.internal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static dev.panamapy.bindings.Python_h.*;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Keeps CPython's hands off the JVM's signals. The JVM handles SIGSEGV itself: implicit null
 * checks and safepoint polls fault on purpose, and its handler turns the fault into an
 * exception or a safepoint. {@code faulthandler} would put its own handler in front (for
 * SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, and any signal given to {@code register}), which
 * reports a "fatal" error and re-raises the signal, so the JVM's next ordinary fault kills
 * the process. Three layers:
 * <ul>
 * <li>at start, {@code PYTHONFAULTHANDLER} and {@code PYTHONDEVMODE} (development mode turns
 *     faulthandler on) are blanked in the C environment while {@code Py_InitializeEx} reads it,
 *     and put back afterwards, in {@code os.environ} too, so subprocesses still get them;</li>
 * <li>after start, {@code faulthandler.enable} and {@code faulthandler.register} are made
 *     harmless at the C level (their {@code PyMethodDef}), so that every function object for
 *     them, imported before or after, even from a re-created module, issues a RuntimeWarning and
 *     does nothing;</li>
 * <li>the JVM's handlers are recorded before start and put back after it if anything run during
 *     start-up (a {@code sitecustomize}, a {@code .pth} file) replaced them.</li>
 * </ul>
 * ({@code signal.signal} needs no guard: CPython accepts it only on its main thread, which runs
 * no user code but at finalization; everywhere else it raises ValueError.)
 */
final class Signals {
    private Signals() { }

    private static final Logger LOG = LoggerFactory.getLogger(Signals.class);

    /** Environment variables that switch faulthandler on at start. */
    private static final List<String> ENVIRONMENT = List.of("PYTHONFAULTHANDLER", "PYTHONDEVMODE");
    /** Signals 1 to 31; SIGKILL and SIGSTOP cannot be handled. */
    private static final int SIGNALS = 32, SIGKILL = 9, SIGSTOP = 19;
    /** Larger than any libc's {@code struct sigaction} (152 bytes on glibc); the handler comes first. */
    private static final long SIGACTION_SIZE = 256;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle GETENV = libc("getenv", FunctionDescriptor.of(ADDRESS, ADDRESS));
    private static final MethodHandle SETENV = libc("setenv", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    private static final MethodHandle SIGACTION = libc("sigaction", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));

    private static MethodHandle libc(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow(name), fd);
    }

    /**
     * What start-up must give back: the environment values blanked for {@code Py_InitializeEx},
     * and the JVM's signal actions.
     */
    record Saved(Map<String, String> environment, MemorySegment actions) { }

    /** Right before {@code Py_InitializeEx}: records the JVM's handlers, blanks the variables. */
    static Saved beforeInit() {
        MemorySegment actions = Arena.ofAuto().allocate(SIGACTION_SIZE * SIGNALS, 16);
        for (int sig = 1; sig < SIGNALS; sig++) {
            if (sig == SIGKILL || sig == SIGSTOP) continue;
            sigaction(sig, MemorySegment.NULL, actions.asSlice(sig * SIGACTION_SIZE, SIGACTION_SIZE));
        }
        Map<String, String> blanked = new LinkedHashMap<>();
        for (String name : ENVIRONMENT) {
            String value = getenv(name);
            if (value == null || value.isEmpty()) continue;   // CPython treats an empty value as unset
            blanked.put(name, value);
            setenv(name, "");                                  // replaces the entry: the array never moves
        }
        if (!blanked.isEmpty()) {
            LOG.warn("{} ignored by the embedded CPython: faulthandler (which {} switches on) installs signal handlers "
                    + "over the JVM's, and the JVM's next implicit null check or safepoint would kill the process. "
                    + "The variables stay set for subprocesses.", blanked.keySet(),
                    blanked.size() == 1 ? "it" : "each");
        }
        return new Saved(blanked, actions);
    }

    /** Right after {@code Py_InitializeEx}, with or without success: the C environment as it was. */
    static void restoreEnvironment(Saved saved) {
        saved.environment().forEach(Signals::setenv);
    }

    /**
     * After start, on the main thread under the GIL: {@code os.environ} as the environment is,
     * faulthandler off and disarmed, the JVM's handlers back.
     */
    static void afterInit(Saved saved) {
        restoreOsEnviron(saved.environment());
        disarmFaulthandler();
        List<Integer> replaced = new ArrayList<>();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment now = a.allocate(SIGACTION_SIZE, 16);
            for (int sig = 1; sig < SIGNALS; sig++) {
                if (sig == SIGKILL || sig == SIGSTOP) continue;
                MemorySegment jvm = saved.actions().asSlice(sig * SIGACTION_SIZE, SIGACTION_SIZE);
                sigaction(sig, MemorySegment.NULL, now);
                if (now.get(JAVA_LONG, 0) != jvm.get(JAVA_LONG, 0)) {
                    sigaction(sig, jvm, MemorySegment.NULL);
                    replaced.add(sig);
                }
            }
        }
        if (!replaced.isEmpty()) {
            LOG.warn("CPython's start-up replaced the JVM's handlers for signals {} (sitecustomize or a .pth file?); "
                    + "the JVM's handlers are back", replaced);
        }
    }

    private static void restoreOsEnviron(Map<String, String> environment) {
        if (environment.isEmpty()) return;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment os = PyImport_ImportModule(a.allocateFrom("os"));
            if (os.address() == 0) { PyErr_Clear(); return; }
            MemorySegment environ = PyObject_GetAttrString(os, a.allocateFrom("environ"));
            Py_DecRef(os);
            if (environ.address() == 0) { PyErr_Clear(); return; }
            environment.forEach((name, value) -> {
                MemorySegment k = PyUnicode_FromString(a.allocateFrom(name));
                MemorySegment v = PyUnicode_FromString(a.allocateFrom(value));
                if (k.address() != 0 && v.address() != 0 && PyObject_SetItem(environ, k, v) == 0) {
                    // os.environ is in step with the C environment again
                } else {
                    PyErr_Clear();
                }
                if (k.address() != 0) Py_DecRef(k);
                if (v.address() != 0) Py_DecRef(v);
            });
            Py_DecRef(environ);
        }
    }

    // ---- faulthandler ---------------------------------------------------------------------------

    private static final String ENABLE_REFUSED = "faulthandler.enable() does nothing in a JVM (panamapy): its handler "
            + "for SIGSEGV would replace the JVM's, which relies on SIGSEGV for null checks and safepoints, and crash "
            + "the process; the JVM writes its own crash report (hs_err_pid*.log), and faulthandler.dump_traceback() "
            + "still works";
    private static final String REGISTER_REFUSED = "faulthandler.register() does nothing in a JVM (panamapy): a "
            + "handler for a signal takes it from the JVM (SIGQUIT, SIGUSR2, SIGSEGV ... are the JVM's); "
            + "faulthandler.dump_traceback() and dump_traceback_later() still work";

    private static final MemorySegment ENABLE_STUB = stub("enableRefused");
    private static final MemorySegment REGISTER_STUB = stub("registerRefused");

    private static MemorySegment stub(String method) {
        try {
            FunctionDescriptor fd = FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG);
            MethodHandle mh = MethodHandles.lookup().findStatic(Signals.class, method, fd.toMethodType());
            return LINKER.upcallStub(mh, fd, Arena.global());
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    // PyObject *enable(PyObject *module, PyObject *args, ...): whatever the calling convention,
    // the first two arguments come in the same registers and the rest are never read
    private static long enableRefused(long module, long args) { return refused(ENABLE_REFUSED); }

    private static long registerRefused(long module, long args) { return refused(REGISTER_REFUSED); }

    private static long refused(String message) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment category = runtimeWarning();
            if (category.address() != 0 && (int) WARN.invokeExact(category, a.allocateFrom(message), 1L) != 0) {
                return 0;                                   // warnings are errors (-W error): the exception is set
            }
            long none = _Py_NoneStruct().address();
            Py_IncRef(Mem.ptr(none));
            return none;
        } catch (Throwable t) {
            UpcallBarrier.voidFailure("faulthandler", t);
            long none = _Py_NoneStruct().address();
            Py_IncRef(Mem.ptr(none));
            return none;
        }
    }

    private static final MethodHandle WARN = LINKER.downcallHandle(
            SymbolLookup.loaderLookup().findOrThrow("PyErr_WarnEx"),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));

    private static MemorySegment runtimeWarning() {
        return SymbolLookup.loaderLookup().find("PyExc_RuntimeWarning")
                .map(p -> p.reinterpret(ADDRESS.byteSize()).get(ADDRESS, 0))
                .orElse(MemorySegment.NULL);
    }

    /**
     * Switches faulthandler off if start-up switched it on, then points the C functions behind
     * {@code faulthandler.enable} and {@code faulthandler.register} at warnings that do nothing.
     * The method table lives in libpython's writable data and every function object reads it
     * at each call, so this holds for any later import. If the table cannot be patched safely
     * (an unexpected layout, a read-only page), the module's attributes are replaced instead.
     */
    private static void disarmFaulthandler() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment fh = PyImport_ImportModule(a.allocateFrom("faulthandler"));
            if (fh.address() == 0) { PyErr_Clear(); return; }
            try {
                MemorySegment enabled = call(fh, "is_enabled", a);
                if (enabled.address() != 0) {
                    boolean on = PyObject_IsTrue(enabled) == 1;
                    Py_DecRef(enabled);
                    if (on) {
                        MemorySegment off = call(fh, "disable", a);
                        if (off.address() != 0) Py_DecRef(off);
                        LOG.warn("faulthandler was enabled during CPython's start-up (sitecustomize or a .pth file?); it "
                                + "is disabled again: its signal handlers would crash the JVM");
                    }
                }
                PyErr_Clear();
                patch(fh, "enable", ENABLE_STUB, a);
                patch(fh, "register", REGISTER_STUB, a);
            } finally {
                Py_DecRef(fh);
            }
        }
    }

    private static MemorySegment call(MemorySegment module, String name, Arena a) {
        MemorySegment f = PyObject_GetAttrString(module, a.allocateFrom(name));
        if (f.address() == 0) return f;
        MemorySegment r = PyObject_CallObject(f, MemorySegment.NULL);
        Py_DecRef(f);
        return r;
    }

    /** Points the builtin's PyMethodDef at the stub, or failing that replaces the module attribute. */
    private static void patch(MemorySegment module, String name, MemorySegment stub, Arena a) {
        MemorySegment f = PyObject_GetAttrString(module, a.allocateFrom(name));
        if (f.address() == 0) { PyErr_Clear(); return; }
        try {
            MemorySegment def = methodDefOf(f, name);
            if (def != null && writable(def.address(), dev.panamapy.bindings.PyMethodDef.layout().byteSize())) {
                dev.panamapy.bindings.PyMethodDef.ml_meth(def, stub);
                return;
            }
            // a module attribute: calls through later imports of a re-created module are not covered
            MemorySegment replacement = dev.panamapy.bindings.PyMethodDef.allocate(Arena.global());
            dev.panamapy.bindings.PyMethodDef.ml_name(replacement, Arena.global().allocateFrom(name));
            dev.panamapy.bindings.PyMethodDef.ml_meth(replacement, stub);
            dev.panamapy.bindings.PyMethodDef.ml_flags(replacement, METH_VARARGS() | METH_KEYWORDS());
            MemorySegment g = PyCFunction_NewEx(replacement, MemorySegment.NULL, MemorySegment.NULL);
            if (g.address() == 0 || PyObject_SetAttrString(module, a.allocateFrom(name), g) != 0) PyErr_Clear();
            if (g.address() != 0) Py_DecRef(g);
            LOG.debug("faulthandler.{} replaced as a module attribute (its method table could not be patched)", name);
        } finally {
            Py_DecRef(f);
        }
    }

    /**
     * The {@code PyMethodDef} of a builtin function object ({@code PyCFunctionObject.m_ml}, right
     * after the object header), or null unless it is one and names {@code name}.
     */
    private static MemorySegment methodDefOf(MemorySegment f, String name) {
        long header = dev.panamapy.bindings._object.layout().byteSize();
        MemorySegment obj = f.reinterpret(header + ADDRESS.byteSize());
        MemorySegment type = PyObject_Type(f);
        String typeName = Errors.str(type);
        Py_DecRef(type);
        if (!"<class 'builtin_function_or_method'>".equals(typeName)) return null;
        MemorySegment def = obj.get(ADDRESS, header);
        if (def.address() == 0) return null;
        def = def.reinterpret(dev.panamapy.bindings.PyMethodDef.layout().byteSize());
        MemorySegment defName = dev.panamapy.bindings.PyMethodDef.ml_name(def);
        if (defName.address() == 0 || !name.equals(defName.reinterpret(64).getString(0))) return null;
        return def;
    }

    /** Whether the bytes lie in a writable mapping of this process (Linux: /proc/self/maps). */
    private static boolean writable(long address, long size) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                int dash = line.indexOf('-'), space = line.indexOf(' ');
                long from = Long.parseUnsignedLong(line.substring(0, dash), 16);
                long to = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
                if (Long.compareUnsigned(address, from) >= 0 && Long.compareUnsigned(address + size, to) <= 0) {
                    return line.charAt(space + 2) == 'w';
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("cannot read /proc/self/maps", e);
        }
        return false;
    }

    // ---- libc -----------------------------------------------------------------------------------

    private static String getenv(String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = (MemorySegment) GETENV.invokeExact(a.allocateFrom(name));
            return v.address() == 0 ? null : v.reinterpret(Long.MAX_VALUE).getString(0);
        } catch (Throwable t) {
            throw new IllegalStateException("getenv failed", t);
        }
    }

    private static void setenv(String name, String value) {
        try (Arena a = Arena.ofConfined()) {
            int rc = (int) SETENV.invokeExact(a.allocateFrom(name), a.allocateFrom(value), 1);
            if (rc != 0) LOG.warn("setenv({}) failed", name);
        } catch (Throwable t) {
            throw new IllegalStateException("setenv failed", t);
        }
    }

    private static void sigaction(int sig, MemorySegment act, MemorySegment old) {
        try {
            int rc = (int) SIGACTION.invokeExact(sig, act, old);
            if (rc != 0) LOG.debug("sigaction({}) failed", sig);
        } catch (Throwable t) {
            throw new IllegalStateException("sigaction failed", t);
        }
    }
}
