package dev.panamapy;

/**
 * A Java function callable from Python (see {@link CPython#defineFunction}). Called with the
 * GIL held, on the Python thread that called it; it may call back into Python.
 */
@FunctionalInterface
public interface JavaFunction {
    /**
     * @param args the positional arguments, converted to Java values where they are plain
     *             (null, Boolean, Long, Double, String, byte[]) and {@link PyObject}s otherwise;
     *             those PyObjects are owned by the bridge and valid only during the call
     * @return the result, converted as {@link PyObject#call} converts arguments
     * @throws Exception any exception; it becomes a Python {@code panamapy.JavaException}
     */
    Object apply(Object[] args) throws Exception;
}
