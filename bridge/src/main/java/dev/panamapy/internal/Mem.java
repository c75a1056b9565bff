package dev.panamapy.internal;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Raw access to native memory by address, for the few hot places that read or write
 * CPython's structs (a {@code Py_buffer}, the handle slot of our objects). Everything here is
 * unchecked by nature: callers pass addresses CPython gave them.
 */
public final class Mem {
    private Mem() { }

    /** All of the address space, for reads and writes by absolute address. */
    public static final MemorySegment ALL = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);

    public static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;
    public static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    public static final AddressLayout PTR = ValueLayout.ADDRESS;

    public static long getLong(long address) { return ALL.get(LONG, address); }
    public static void putLong(long address, long value) { ALL.set(LONG, address, value); }
    public static int getInt(long address) { return ALL.get(INT, address); }
    public static void putInt(long address, int value) { ALL.set(INT, address, value); }

    /** A zero-length segment at an address, to pass a pointer to a generated binding. */
    public static MemorySegment ptr(long address) { return MemorySegment.ofAddress(address); }

    /** Reads a NUL-terminated UTF-8 string at an address (null for NULL). */
    public static String cString(long address) {
        return address == 0 ? null : MemorySegment.ofAddress(address).reinterpret(Long.MAX_VALUE).getString(0);
    }
}
