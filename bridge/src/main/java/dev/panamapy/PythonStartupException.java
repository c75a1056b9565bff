package dev.panamapy;

/** Python could not be found, probed, loaded or initialized; the message says why and what to do. */
public final class PythonStartupException extends RuntimeException {
    @java.io.Serial
    private static final long serialVersionUID = 1L;

    public PythonStartupException(String message) { super(message); }
    public PythonStartupException(String message, Throwable cause) { super(message, cause); }
}
