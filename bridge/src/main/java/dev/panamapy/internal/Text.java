package dev.panamapy.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

import static dev.panamapy.bindings.Python_h.*;

/**
 * Strings across the boundary: one rule each way, used by every call that passes text.
 *
 * <p><b>Python to Java</b> ({@link #toJava}): the Java string holds exactly the UTF-16 code
 * units of the Python str, lone surrogates included ({@code '\ud800'}, the {@code surrogateescape}
 * bytes of a Latin-1 file name): never null, never a replacement character, never an error
 * left pending. Only a surrogate pair spelled as two code points in Python (a high surrogate
 * followed by a low one) reads in Java as the one character it encodes, since UTF-16 has no
 * other spelling for it.
 *
 * <p><b>Java to Python</b> ({@link #toPython}): the Python str holds the Java string's code
 * points, a lone surrogate staying a lone surrogate (as {@code 'surrogatepass'} decodes
 * UTF-16), so Java to Python to Java is exact; NUL is an ordinary character of a value.
 *
 * <p><b>Code and names</b> (source for {@code exec}/{@code eval}, attribute, global, module and
 * function names) must not contain NUL ({@link #requireName}, {@link #requireCode}): C would cut
 * them short there, so they are refused with an {@link IllegalArgumentException} naming the
 * argument and the index before anything reaches Python. Source is compiled as UTF-8, so a lone
 * surrogate in it is refused too; names given to Python as str objects keep them.
 *
 * <p>{@code toJava} and {@code toPython} require the GIL; the checks do not.
 */
public final class Text {
    private Text() { }

    private static final Linker LINKER = Linker.nativeLinker();
    private static final ValueLayout.OfChar UTF16LE = ValueLayout.JAVA_CHAR_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final MemorySegment UTF_16_LE = Arena.global().allocateFrom("utf-16-le");
    private static final MemorySegment SURROGATEPASS = Arena.global().allocateFrom("surrogatepass");

    /** Stable ABI functions the bindings do not bind; libpython is loaded before first use. */
    private static final class Native {
        static final MethodHandle AS_ENCODED_STRING = find("PyUnicode_AsEncodedString",
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
        static final MethodHandle DECODE_UTF16 = find("PyUnicode_DecodeUTF16",
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS));

        private static MethodHandle find(String name, FunctionDescriptor fd) {
            return LINKER.downcallHandle(SymbolLookup.loaderLookup().findOrThrow(name), fd);
        }
    }

    /**
     * Per-thread native scratch memory for the common conversions, so that they allocate no
     * arena: used only between two C calls that run no Python code, so never by two
     * conversions at once on one thread (virtual threads never convert: they may not hold the GIL).
     */
    private static final int SCRATCH_BYTES = 1024;
    private static final ThreadLocal<MemorySegment> SCRATCH =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(SCRATCH_BYTES, 8));

    private static MemorySegment scratch() { return SCRATCH.get(); }

    // ---- Python to Java -------------------------------------------------------------------------

    /**
     * The text of a Python str (or str subclass), exactly (see the class comment). Requires the GIL
     * and no pending error.
     *
     * @throws dev.panamapy.PythonException only if Python cannot even allocate the copy (MemoryError);
     *         no error is left pending either way
     */
    public static String toJava(Constants c, MemorySegment str) {
        MemorySegment size = scratch();
        MemorySegment p = PyUnicode_AsUTF8AndSize(str, size);
        if (p.address() != 0) {
            long n = size.get(ValueLayout.JAVA_LONG, 0);
            return new String(p.reinterpret(n).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
        }
        PyErr_Clear();          // UTF-8 cannot hold a lone surrogate: UTF-16 with surrogatepass can
        return utf16(c, str);
    }

    private static String utf16(Constants c, MemorySegment str) {
        MemorySegment bytes;
        try {
            bytes = (MemorySegment) Native.AS_ENCODED_STRING.invokeExact(str, UTF_16_LE, SURROGATEPASS);
        } catch (Throwable t) {
            throw new IllegalStateException("PyUnicode_AsEncodedString failed", t);
        }
        Errors.check(c, bytes);
        try {
            long n = PyBytes_Size(bytes);
            if (n < 0) throw Errors.fetch(c);
            MemorySegment p = PyBytes_AsString(bytes);
            if (p.address() == 0) throw Errors.fetch(c);
            return new String(p.reinterpret(n).toArray(UTF16LE));
        } finally {
            Py_DecRef(bytes);
        }
    }

    // ---- Java to Python ---------------------------------------------------------------------------

    /**
     * A new reference to the Python str of a Java string (see the class comment). Requires the GIL.
     *
     * @throws dev.panamapy.PythonException only if Python cannot allocate it (MemoryError)
     */
    public static long toPython(Constants c, String s) {
        long r = newStr(s);
        if (r == 0) throw Errors.fetch(c);
        return r;
    }

    /** Like {@link #toPython} but C-style: 0 with the Python error (MemoryError) pending on failure. */
    static long newStr(String s) {
        if (firstLoneSurrogate(s) < 0) {
            byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);         // exact: no lone surrogates
            if (utf8.length <= SCRATCH_BYTES) {
                MemorySegment buf = scratch();
                MemorySegment.copy(utf8, 0, buf, ValueLayout.JAVA_BYTE, 0, utf8.length);
                return PyUnicode_FromStringAndSize(buf, utf8.length).address();
            }
            try (Arena a = Arena.ofConfined()) {
                MemorySegment buf = a.allocate(utf8.length);
                MemorySegment.copy(utf8, 0, buf, ValueLayout.JAVA_BYTE, 0, utf8.length);
                return PyUnicode_FromStringAndSize(buf, utf8.length).address();
            }
        }
        try (Arena a = Arena.ofConfined()) {
            int n = s.length();
            MemorySegment buf = a.allocate(2L * n + 2, 2);
            MemorySegment.copy(s.toCharArray(), 0, buf, UTF16LE, 0, n);
            MemorySegment byteorder = a.allocate(ValueLayout.JAVA_INT);
            byteorder.set(ValueLayout.JAVA_INT, 0, -1);                  // little-endian, no BOM expected
            try {
                return ((MemorySegment) Native.DECODE_UTF16.invokeExact(buf, 2L * n, SURROGATEPASS, byteorder)).address();
            } catch (Throwable t) {
                throw new IllegalStateException("PyUnicode_DecodeUTF16 failed", t);
            }
        }
    }

    // ---- checks (no GIL needed) -----------------------------------------------------------------

    /**
     * Refuses a name Python would see cut short at a NUL (an attribute, global, module or function
     * name).
     *
     * @param what the argument, as the message names it ("attribute name")
     * @throws NullPointerException     if the name is null
     * @throws IllegalArgumentException if it contains NUL, naming the index
     */
    public static String requireName(String what, String name) {
        Objects.requireNonNull(name, what);
        int i = name.indexOf('\0');
        if (i >= 0) {
            throw new IllegalArgumentException(what + " contains a NUL character (U+0000) at index " + i + " of "
                    + name.length() + ": Python names cannot contain NUL (C would cut the name short there); "
                    + "nothing was passed to Python");
        }
        return name;
    }

    /**
     * Refuses a name that becomes a C string in Python (a function's {@code __name__}): no NUL, and
     * no lone surrogate, which UTF-8 cannot carry.
     */
    public static String requireCName(String what, String name) {
        requireName(what, name);
        int i = firstLoneSurrogate(name);
        if (i >= 0) {
            throw new IllegalArgumentException(what + " contains a lone surrogate U+" + hex(name.charAt(i)) + " at index "
                    + i + ": Python keeps this name as UTF-8, which cannot hold it; nothing was passed to Python");
        }
        return name;
    }

    /**
     * Refuses source code that C would cut short (NUL) or that Python cannot compile (a lone
     * surrogate: source is compiled as UTF-8). Text like that belongs in a value: bind it with
     * {@code setGlobal} and use the name in the code.
     */
    public static String requireCode(String what, String code) {
        Objects.requireNonNull(code, what);
        int i = code.indexOf('\0');
        if (i >= 0) {
            throw new IllegalArgumentException(what + " contains a NUL character (U+0000) at index " + i + " of "
                    + code.length() + ": C would cut the source short there (write \"\\0\" inside a Python string "
                    + "literal, or pass the text as a value with setGlobal); nothing was run");
        }
        i = firstLoneSurrogate(code);
        if (i >= 0) {
            throw new IllegalArgumentException(what + " contains a lone surrogate U+" + hex(code.charAt(i)) + " at index "
                    + i + ": Python compiles source as UTF-8, which cannot hold it (write \"\\u" + hex(code.charAt(i))
                    + "\" inside a Python string literal, or pass the text as a value with setGlobal); nothing was run");
        }
        return code;
    }

    /** The index of the first surrogate that is not half of a high-low pair, or -1. */
    static int firstLoneSurrogate(String s) {
        for (int i = 0, n = s.length(); i < n; i++) {
            char ch = s.charAt(i);
            if (Character.isSurrogate(ch)) {
                if (Character.isHighSurrogate(ch) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                    i++;
                    continue;
                }
                return i;
            }
        }
        return -1;
    }

    private static String hex(char ch) {
        return String.format("%04X", (int) ch);
    }
}
