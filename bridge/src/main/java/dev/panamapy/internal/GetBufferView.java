package dev.panamapy.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.panamapy.bindings.Python_h.*;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The wrapper {@code _get_buffer(view, flags)} fills: the hot path of every BufferMixin export.
 * A subclass of {@code Py_buffer} (same name, {@code isinstance} holds) whose eleven fields are
 * {@code PyMemberDef} slots of its own, so that {@code view.len = n} is CPython's generic member
 * setter (C, no upcall) rather than a Java getset. Java then reads the slots once, after the
 * call ({@link #collect}): converts each to its C type, moves the {@code obj} reference, and
 * writes the consumer's struct.
 *
 * <p><b>Slots.</b> {@code len}, {@code ndim}, {@code itemsize} are {@code Py_ssize_t} members
 * (a non-int is a TypeError at once, CPython's own wording); {@code obj}, {@code readonly} and
 * the six pointers are object members holding what Python set, None for NULL, pre-set to None
 * (readonly True) before the call; a pointer that is neither an int nor None, or a field that
 * was deleted, fails the request after the call with the message of the original module.
 *
 * <p><b>After the call</b> the slots are emptied; a wrapper Python kept becomes a plain,
 * unallocated {@code Py_buffer} (its type is switched to the base, which shares the base's
 * layout prefix), so it reads "undefined for an unallocated view" like the original's.
 *
 * <p>None and True are immortal from 3.12 on; before, their counts are adjusted by direct
 * arithmetic (they never reach 0). Everything here runs under the GIL.
 */
final class GetBufferView {
    private GetBufferView() { }

    // slot offsets, after the base Py_buffer's own layout
    private static final long BASE = PyBufferObject.SIZE;
    static final long OBJ = BASE, BUF = BASE + 8, LEN = BASE + 16, READONLY = BASE + 24, FORMAT = BASE + 32,
            NDIM = BASE + 40, SHAPE = BASE + 48, STRIDES = BASE + 56, SUBOFFSETS = BASE + 64, ITEMSIZE = BASE + 72,
            INTERNAL = BASE + 80;
    static final long SIZE = BASE + 88;
    /** The object slots holding None before the call (readonly holds True). */
    private static final long[] NONE_SLOTS = {OBJ, BUF, FORMAT, SHAPE, STRIDES, SUBOFFSETS, INTERNAL};
    /** The pointer slots, with their field names and their offsets in Py_buffer. */
    private static final long[] POINTER_SLOTS = {BUF, FORMAT, SHAPE, STRIDES, SUBOFFSETS, INTERNAL};
    private static final String[] POINTER_NAMES = {"buf", "format", "shape", "strides", "suboffsets", "internal"};
    private static final long[] POINTER_FIELDS = {PyBufferLayout.BUF, PyBufferLayout.FORMAT, PyBufferLayout.SHAPE,
        PyBufferLayout.STRIDES, PyBufferLayout.SUBOFFSETS, PyBufferLayout.INTERNAL};

    private static final int T_OBJECT_EX = 16, T_PYSSIZET = 19;
    private static final long MEMBER_SIZE = 40;     // name, type (int), offset, flags (int), doc
    private static final int SLOT_TP_MEMBERS = 72;

    private static long type, baseType;
    /** Whether None and True are counted (CPython < 3.12). */
    private static boolean counted;

    /** Makes the type, a subclass of Py_buffer. Requires the GIL, at start. */
    static void create(long pyBufferType, int minor) {
        baseType = pyBufferType;
        counted = minor < 12;
        Arena forever = Arena.global();
        String[] names = {"obj", "buf", "len", "readonly", "format", "ndim", "shape", "strides", "suboffsets",
            "itemsize", "internal"};
        long[] offsets = {OBJ, BUF, LEN, READONLY, FORMAT, NDIM, SHAPE, STRIDES, SUBOFFSETS, ITEMSIZE, INTERNAL};
        MemorySegment members = forever.allocate(MEMBER_SIZE * (names.length + 1));
        for (int i = 0; i < names.length; i++) {
            long at = i * MEMBER_SIZE;
            boolean number = offsets[i] == LEN || offsets[i] == NDIM || offsets[i] == ITEMSIZE;
            members.set(JAVA_LONG, at, forever.allocateFrom(names[i]).address());
            members.set(JAVA_INT, at + 8, number ? T_PYSSIZET : T_OBJECT_EX);
            members.set(JAVA_LONG, at + 16, offsets[i]);
            members.set(JAVA_INT, at + 24, 0);
            members.set(JAVA_LONG, at + 32, forever.allocateFrom("Py_buffer." + names[i]).address());
        }
        type = Types.makeType(forever, "panamapy.newbuffer.Py_buffer", SIZE,
                "The Py_buffer wrapper _get_buffer fills: its fields are set in C and read by the bridge after the call.",
                new int[]{SLOT_TP_MEMBERS}, new MemorySegment[]{members}, pyBufferType, 0);
    }

    static boolean isInstance(long obj) { return Convert.typeOf(obj) == type; }

    /** A new wrapper (a new reference); its slots empty. */
    static long allocate(Constants c) {
        return Errors.check(c, PyType_GenericAlloc(Mem.ptr(type), 0));
    }

    /** Pre-sets the slots of an empty wrapper (the C defaults: NULL pointers, readonly 1, zeros) and binds it. */
    static void prepare(Constants c, long w, long view) {
        long none = c.none;
        for (long s : NONE_SLOTS) Mem.putLong(w + s, none);
        Mem.putLong(w + READONLY, c.trueObj);
        Mem.putLong(w + LEN, 0);
        Mem.putLong(w + NDIM, 0);
        Mem.putLong(w + ITEMSIZE, 0);
        if (counted) {
            Mem.putLong(none, Mem.getLong(none) + NONE_SLOTS.length);
            Mem.putLong(c.trueObj, Mem.getLong(c.trueObj) + 1);
        }
        // the base's state: a struct is there (bool True), filled as far as get_buffer is concerned
        PyBufferObject.bind(w, view, PyBufferObject.FILLED | PyBufferObject.PRESERVE);
    }

    /**
     * After a successful call: converts the slots into the consumer's struct (obj's reference
     * moved there) and empties them. 0, or -1 with an exception set and every reference the
     * slots held dropped (the struct's obj stays NULL).
     */
    static int collect(Constants c, long w, long view) {
        long[] pointers = new long[POINTER_SLOTS.length];
        for (int i = 0; i < POINTER_SLOTS.length; i++) {
            long v = Mem.getLong(w + POINTER_SLOTS[i]);
            if (v == c.none) continue;
            if (v == 0) return fail(c, w, attributeError(POINTER_NAMES[i] + " cannot be deleted"));
            if (!PyBufferObject.isInt(c, v)) {
                String message = "property " + POINTER_NAMES[i] + " must be a Python integer, not '"
                        + ObjectProtocol.typeName(v) + "'";
                return fail(c, w, () -> NewBuffer.setError(c.excTypeError, message));
            }
            long p = smallInt(c, v);
            if (p < 0) {
                p = PyLong_AsVoidPtr(Mem.ptr(v)).address();
                if (p == -1 && PyErr_Occurred().address() != 0) return fail(c, w, null);
            }
            pointers[i] = p;
        }
        long ro = Mem.getLong(w + READONLY);
        int readonly;
        if (ro == c.trueObj) readonly = 1;
        else if (ro == c.falseObj) readonly = 0;
        else if (ro == 0) return fail(c, w, attributeError("readonly cannot be deleted"));
        else if (smallInt(c, ro) >= 0) readonly = smallInt(c, ro) != 0 ? 1 : 0;     // 0 or 1, as C code writes it
        else if ((readonly = PyObject_IsTrue(Mem.ptr(ro))) < 0) return fail(c, w, null);
        long obj = Mem.getLong(w + OBJ);
        if (obj == 0) return fail(c, w, attributeError("obj cannot be deleted"));
        long ndim = Mem.getLong(w + NDIM);
        if (ndim != (int) ndim) {
            return fail(c, w, () -> NewBuffer.setError(c.excBufferError, "_get_buffer set ndim to " + ndim
                    + ": a buffer has 0 to " + NewBuffer.MAX_NDIM + " (PyBUF_MAX_NDIM) dimensions"));
        }
        Mem.putLong(view + PyBufferLayout.OBJ, obj == c.none ? 0 : obj);   // the reference moves
        if (obj == c.none) dropCounted(c, obj);
        Mem.putLong(w + OBJ, 0);
        Mem.putLong(view + PyBufferLayout.LEN, Mem.getLong(w + LEN));
        Mem.putLong(view + PyBufferLayout.ITEMSIZE, Mem.getLong(w + ITEMSIZE));
        Mem.putInt(view + PyBufferLayout.READONLY, readonly);
        Mem.putInt(view + PyBufferLayout.NDIM, (int) ndim);
        for (int i = 0; i < POINTER_SLOTS.length; i++) Mem.putLong(view + POINTER_FIELDS[i], pointers[i]);
        empty(c, w, false);
        return 0;
    }

    /**
     * The value of an exact int from 0 to 2**60 read from the object (what an address is), or
     * -1 for anything else (then PyLong_AsVoidPtr decides). CPython's int layout: 30-bit digits
     * after the header and a size word: 3.9-3.11 a signed digit count ({@code ob_size}), 3.12
     * and 3.13 {@code lv_tag} (digit count << 3 | sign: 0 positive, 1 zero, 2 negative).
     */
    private static long smallInt(Constants c, long v) {
        if (Convert.typeOf(v) != c.intType) return -1;
        long size = Mem.getLong(v + INT_SIZE);
        long digits;
        if (counted) {                                  // before 3.12
            if (size < 0) return -1;
            digits = size;
        } else {
            if ((size & 3) == 2) return -1;
            digits = (size & 3) == 1 ? 0 : size >>> 3;
        }
        if (digits == 0) return 0;
        long low = Mem.getInt(v + INT_DIGITS) & 0xffffffffL;
        if (digits == 1) return low;
        if (digits == 2) return low | (Mem.getInt(v + INT_DIGITS + 4) & 0xffffffffL) << 30;
        return -1;
    }

    private static final long INT_SIZE = 16, INT_DIGITS = 24;

    private static Runnable attributeError(String what) {
        return () -> NewBuffer.setError(NewBuffer.attributeError, "property " + what);
    }

    /** Sets the error (unless one is set already), empties the slots; -1. */
    private static int fail(Constants c, long w, Runnable raise) {
        if (raise != null) raise.run();
        empty(c, w);
        return -1;
    }

    /**
     * Drops what the slots hold and zeroes them. Objects other than None and True are dropped
     * with a pending exception set aside (a drop may run Python code).
     */
    static void empty(Constants c, long w) {
        empty(c, w, true);
    }

    private static void empty(Constants c, long w, boolean mayHaveError) {
        long[] held = null;
        int n = 0;
        long[] slots = {OBJ, BUF, READONLY, FORMAT, SHAPE, STRIDES, SUBOFFSETS, INTERNAL};
        for (long s : slots) {
            long v = Mem.getLong(w + s);
            Mem.putLong(w + s, 0);
            if (v == 0) continue;
            if (v == c.none || v == c.trueObj) {
                dropCounted(c, v);
            } else {
                if (held == null) held = new long[slots.length];
                held[n++] = v;
            }
        }
        if (n == 0) return;
        if (!mayHaveError || PyErr_Occurred().address() == 0) {
            for (int i = 0; i < n; i++) Refcount.decref(held[i], !counted);
            return;
        }
        try (Arena a = Arena.ofConfined()) {
            MemorySegment t = a.allocate(8), v = a.allocate(8), tb = a.allocate(8);
            PyErr_Fetch(t, v, tb);
            for (int i = 0; i < n; i++) Py_DecRef(Mem.ptr(held[i]));
            PyErr_Restore(t.get(Mem.PTR, 0), v.get(Mem.PTR, 0), tb.get(Mem.PTR, 0));
        }
    }

    /** One reference to None or True given back (counted only before 3.12; never the last one). */
    private static void dropCounted(Constants c, long singleton) {
        if (counted) Mem.putLong(singleton, Mem.getLong(singleton) - 1);
    }

    /**
     * Detaches a wrapper after the call (it was prepared for {@code view}); what Python re-bound
     * it to meanwhile is given back. Python kept it: it becomes a plain unallocated Py_buffer
     * and our reference is dropped (false). Otherwise it can serve the next call (true).
     */
    static boolean detach(long w, long view) {
        PyBufferObject.unbind(w, view, PyBufferObject.FILLED | PyBufferObject.PRESERVE);   // prepare's binding
        if (Mem.getLong(w) == 1) return true;
        Mem.putLong(w + Convert.OB_TYPE, baseType);     // same prefix; the base frees it the same way
        Py_IncRef(Mem.ptr(baseType));
        Py_DecRef(Mem.ptr(type));
        Py_DecRef(Mem.ptr(w));
        return false;
    }
}
