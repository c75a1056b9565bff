package dev.panamapy.internal;

import dev.panamapy.PyObject;

import java.lang.invoke.MethodHandles;

/**
 * The two things internal code needs from the public package's Python objects, without public
 * methods or internal interfaces on them: the address a {@code PyObject} or {@code JavaBuffer}
 * holds, and a {@code PyObject} made from a new reference. The public package installs its
 * {@link Access} once, when {@code PyObject} is initialized (the pattern of the JDK's
 * {@code SharedSecrets}). Used by {@link Convert} (Java values to Python) and {@link Functions}
 * (arguments of Java functions).
 */
public final class Handles {
    private Handles() { }

    /** Implemented once, package-privately, by {@code dev.panamapy}. */
    public interface Access {
        /**
         * The borrowed address of a {@code PyObject} or {@code JavaBuffer}, valid while the caller
         * holds that object; 0 for any other value.
         *
         * @throws IllegalStateException if it is a closed {@code PyObject}
         */
        long address(Object value);

        /** A {@code PyObject} that owns {@code newReference} from now on. */
        PyObject wrap(Interpreter interp, long newReference);
    }

    private static volatile Access access;

    /** Installs the public package's access, once. */
    public static void install(Access a) {
        if (access != null) throw new IllegalStateException("Handles are installed once, by PyObject");
        access = a;
    }

    /**
     * The borrowed address of a Python object held by Java, or 0 if the value is no such object.
     * Nothing installed yet means no {@code PyObject} exists, so the value cannot be one.
     */
    public static long address(Object value) {
        Access a = access;
        return a == null ? 0 : a.address(value);
    }

    /** A {@code PyObject} owning {@code newReference}. Requires the GIL. */
    public static PyObject wrap(Interpreter interp, long newReference) {
        Access a = access;
        if (a == null) {
            try {
                MethodHandles.lookup().ensureInitialized(PyObject.class);    // installs the access
            } catch (IllegalAccessException e) {
                throw new AssertionError("PyObject is public in this module", e);
            }
            a = access;
        }
        return a.wrap(interp, newReference);
    }
}
