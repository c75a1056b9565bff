package dev.panamapy.spark;

import dev.panamapy.PythonException;

import java.io.Serial;

/**
 * A Python UDF raised: thrown on the executor and so failing the Spark task (and, after Spark's
 * retries, the job). Its message names the function and carries Python's exception and formatted
 * traceback, so Spark's error (the driver's {@code SparkException}, the UI, the logs) shows
 * where in the Python code it failed.
 */
public final class PythonUdfException extends RuntimeException {

    @Serial
    private static final long serialVersionUID = 1L;

    private final String pythonType;

    /**
     * @param function what ran (e.g. {@code "mapInArrow function 'plus_one'"})
     * @param cause    the Python exception, with its type, message and traceback
     */
    public PythonUdfException(String function, PythonException cause) {
        super(function + " raised " + cause.pythonType() + ": " + cause.pythonMessage()
                + (cause.pythonTraceback() == null || cause.pythonTraceback().isEmpty() ? "" : "\nPython traceback:\n" + cause.pythonTraceback()),
                cause);
        this.pythonType = cause.pythonType();
    }

    /** The Python exception's type name (e.g. {@code "ValueError"}). */
    public String pythonType() { return pythonType; }
}
