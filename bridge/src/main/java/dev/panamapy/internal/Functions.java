package dev.panamapy.internal;

import dev.panamapy.JavaFunction;
import dev.panamapy.bindings.PyMethodDef;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import static dev.panamapy.bindings.Python_h.*;

/**
 * Java functions as Python callables: a {@code PyCFunction} (METH_VARARGS) whose C function is
 * the {@link Upcalls#callFunction} stub and whose {@code self} is a Python int naming the Java
 * function in a table.
 */
public final class Functions {
    private Functions() { }

    private static final ConcurrentHashMap<Long, JavaFunction> TABLE = new ConcurrentHashMap<>();
    private static final AtomicLong NEXT = new AtomicLong(1);

    /** Makes Java PyObjects for arguments; installed by the public package. */
    public interface Wrapper {
        AutoCloseable wrap(Interpreter interp, long newReference);
    }

    public static volatile Wrapper wrapper;

    /** A new reference to a Python callable backed by fn. Requires the GIL. */
    public static long create(Interpreter interp, String name, JavaFunction fn) {
        long id = NEXT.getAndIncrement();
        TABLE.put(id, fn);
        Arena forever = Arena.global();     // the method def must outlive the function object
        MemorySegment def = PyMethodDef.allocate(forever);
        PyMethodDef.ml_name(def, forever.allocateFrom(name));
        PyMethodDef.ml_meth(def, Upcalls.CALL_FUNCTION);
        PyMethodDef.ml_flags(def, METH_VARARGS());
        PyMethodDef.ml_doc(def, forever.allocateFrom("Java function " + fn.getClass().getName()));
        MemorySegment self = PyLong_FromLongLong(id);
        try {
            return Errors.check(interp.c, PyCFunction_NewEx(def, self, MemorySegment.NULL));
        } finally {
            Py_DecRef(self);
        }
    }

    /** The body of every Java callable; runs under the GIL. Returns a new reference. */
    static long call(Constants c, long self, long args) throws Exception {
        long id = PyLong_AsLongLong(Mem.ptr(self));
        JavaFunction fn = TABLE.get(id);
        if (fn == null) throw new IllegalStateException("Java function #" + id + " is gone");
        Interpreter interp = Interpreter.running();
        if (interp == null) throw new IllegalStateException("CPython is closed");
        int n = (int) PyTuple_Size(Mem.ptr(args));
        Object[] jargs = new Object[n];
        AutoCloseable[] owned = new AutoCloseable[n];
        Object notPlain = new Object();
        try {
            for (int i = 0; i < n; i++) {
                long item = PyTuple_GetItem(Mem.ptr(args), i).address();   // borrowed
                Object v = Convert.toJavaOrNull(c, item, notPlain);
                if (v == notPlain) {
                    Py_IncRef(Mem.ptr(item));
                    owned[i] = wrapper.wrap(interp, item);
                    v = owned[i];
                }
                jargs[i] = v;
            }
            Object result = fn.apply(jargs);
            return Convert.toPython(c, result);
        } finally {
            for (AutoCloseable o : owned) if (o != null) o.close();
        }
    }
}
