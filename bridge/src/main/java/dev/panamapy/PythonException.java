package dev.panamapy;

/**
 * A Python exception that reached Java. Carries the Python type name (qualified by its module
 * unless it is a builtin: {@code ZeroDivisionError}, {@code json.decoder.JSONDecodeError}),
 * the message ({@code str(exception)}) and the traceback formatted as Python prints it.
 *
 * <p>When the Python exception was itself caused by a Java exception thrown in a Java function
 * called from Python, that Java exception is this exception's {@link #getCause() cause}.
 */
public class PythonException extends RuntimeException {
    @java.io.Serial
    private static final long serialVersionUID = 1L;

    private final String pythonType;
    private final String pythonMessage;
    private final String pythonTraceback;

    public PythonException(String pythonType, String pythonMessage, String pythonTraceback, Throwable cause) {
        super(pythonType + (pythonMessage == null || pythonMessage.isEmpty() ? "" : ": " + pythonMessage)
                + (pythonTraceback == null || pythonTraceback.isEmpty() ? "" : "\n" + pythonTraceback.stripTrailing()),
                cause);
        this.pythonType = pythonType;
        this.pythonMessage = pythonMessage == null ? "" : pythonMessage;
        this.pythonTraceback = pythonTraceback == null ? "" : pythonTraceback;
    }

    /** The Python exception type, e.g. {@code ValueError} or {@code numpy.linalg.LinAlgError}. */
    public String pythonType() { return pythonType; }

    /** {@code str(exception)}. */
    public String pythonMessage() { return pythonMessage; }

    /** The traceback as {@code traceback.format_exception} formats it (empty if there was none). */
    public String pythonTraceback() { return pythonTraceback; }

    /** Whether the Python type's name (without module) is the given one, e.g. {@code is("BufferError")}. */
    public boolean is(String typeName) {
        return pythonType.equals(typeName) || pythonType.endsWith("." + typeName);
    }
}
