package dev.panamapy.internal;

import dev.panamapy.bindings.PyMethodDef;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.util.concurrent.atomic.LongAdder;

import static dev.panamapy.bindings.Python_h.*;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * {@code panamapy.JavaBuffer.__dlpack__} and {@code __dlpack_device__} (the Python array API's
 * DLPack protocol, DLPack 1.x): a JavaBuffer handed to {@code numpy.from_dlpack} or
 * {@code torch.from_dlpack} is shared, not copied.
 *
 * <p><b>What a tensor holds.</b> Each exported tensor is one malloc'd block: the managed tensor
 * struct ({@code DLManagedTensorVersioned} when the consumer passes {@code max_version >= (1, 0)},
 * capsule {@code "dltensor_versioned"}, else the legacy {@code DLManagedTensor}, capsule
 * {@code "dltensor"}), then a {@code Py_buffer} this class took from the JavaBuffer with
 * {@code PyObject_GetBuffer}, then the shape and strides (in elements). The view keeps the
 * JavaBuffer, and with it the Java memory, alive until the deleter runs (a tracked export counts
 * it among its views, so {@code JavaBuffer.close()} over caller-freed memory refuses meanwhile).
 * Read-only memory is refused to every consumer (BufferError): a legacy tensor cannot say it is
 * read-only and consumers may ignore {@code DLPACK_FLAG_BITMASK_READ_ONLY} (torch 2.x gives a
 * writable tensor), so flagging it would not keep "a read-only segment is never writable from
 * Python"; the buffer protocol (memoryview, {@code numpy.asarray}) shares it read-only.
 *
 * <p><b>Deleter.</b> The consumer renames the capsule ({@code used_dltensor[_versioned]}) and
 * calls the deleter when done, on any thread, with or without the GIL; a capsule never consumed
 * calls it from its destructor ({@link Capsules}). The deleter takes the GIL itself to release the view, then frees
 * the block, counted as a call in flight so that {@code close()} waits for it; once CPython
 * finalizes it only frees the block (no Python).
 */
final class DLPackExport {
    private DLPackExport() { }

    /** Bytes before the Py_buffer: room for either managed tensor struct. */
    private static final long VIEW = DLPack.V_SIZE;
    private static final long BLOCK = VIEW + PyBufferLayout.SIZE;

    /** Py_TPFLAGS_TUPLE_SUBCLASS (not in the bindings' constants). */
    private static final long TPFLAGS_TUPLE_SUBCLASS = 1L << 26;

    private static final LongAdder LIVE = new LongAdder();

    /** Tensors exported and not yet deleted (for leak checks). */
    static long liveTensors() { return LIVE.sum(); }

    // ---- entry points (the upcall barrier pattern of Upcalls: nothing escapes) -------------------

    // PyObject *__dlpack__(PyObject *self, PyObject *args, PyObject *kwargs)
    static long dlpack(long self, long args, long kwargs) {
        CallState d = null;
        try {
            d = Interpreter.upcallEnter();
            return export(Upcalls.c, self, args, kwargs);
        } catch (Throwable t) {
            try {
                return UpcallBarrier.objectFailure(Upcalls.c, Upcalls.c.excBufferError, t);
            } catch (Throwable again) {
                return 0;
            }
        } finally {
            if (d != null) d.depth--;
        }
    }

    // PyObject *__dlpack_device__(PyObject *self, PyObject *unused)
    static long dlpackDevice(long self, long unused) {
        try {
            MemorySegment t = PyTuple_New(2);
            if (t.address() == 0) return 0;
            PyTuple_SetItem(t, 0, PyLong_FromLong(DLPack.CPU));
            PyTuple_SetItem(t, 1, PyLong_FromLong(0));
            return t.address();
        } catch (Throwable t) {
            try {
                return UpcallBarrier.objectFailure(Upcalls.c, Upcalls.c.excRuntimeError, t);
            } catch (Throwable again) {
                return 0;
            }
        }
    }

    // void deleter(DLManagedTensor *self): any thread, GIL or not
    static void deleterLegacy(long managed) { deleter(managed, false); }

    // void deleter(DLManagedTensorVersioned *self): any thread, GIL or not
    static void deleterVersioned(long managed) { deleter(managed, true); }

    private static void deleter(long managed, boolean versioned) {
        try {
            delete(managed, versioned);
        } catch (Throwable t) {
            try {
                UpcallBarrier.voidFailure("DLPack deleter", t);
            } catch (Throwable ignored) {
                // never let it escape
            }
        }
    }

    // ---- the work -------------------------------------------------------------------------------

    /** The body of {@code __dlpack__}: a new capsule, or 0 with a Python exception set. Requires the GIL. */
    private static long export(Constants c, long self, long args, long kwargs) {
        if (args != 0 && PyTuple_Size(Mem.ptr(args)) != 0) {
            return raise(c.excTypeError, "__dlpack__() takes keyword arguments only (stream, max_version, dl_device, copy)");
        }
        long stream = kwarg(kwargs, "stream"), maxVersion = kwarg(kwargs, "max_version"),
                device = kwarg(kwargs, "dl_device"), copy = kwarg(kwargs, "copy");
        int given = (stream != 0 ? 1 : 0) + (maxVersion != 0 ? 1 : 0) + (device != 0 ? 1 : 0) + (copy != 0 ? 1 : 0);
        if (kwargs != 0 && PyObject_Size(Mem.ptr(kwargs)) != given) {
            return raise(c.excTypeError, "__dlpack__() got an unexpected keyword argument: it takes stream, max_version, "
                    + "dl_device and copy");
        }
        if (stream != 0 && stream != c.none) {
            return raise(c.excBufferError, "a panamapy.JavaBuffer is CPU memory: __dlpack__ takes stream=None only");
        }
        boolean versioned = false;
        if (maxVersion != 0 && maxVersion != c.none) {
            long major = tupleInt(maxVersion, 0);
            if (major == Long.MIN_VALUE) {
                return raise(c.excTypeError, "__dlpack__(max_version=...) must be a (major, minor) tuple of ints");
            }
            versioned = major >= DLPack.MAJOR;
        }
        if (device != 0 && device != c.none) {
            long type = tupleInt(device, 0), id = tupleInt(device, 1);
            if (type == Long.MIN_VALUE || id == Long.MIN_VALUE) {
                return raise(c.excTypeError, "__dlpack__(dl_device=...) must be a (device_type, device_id) tuple of ints");
            }
            if (type != DLPack.CPU || id != 0) {
                return raise(c.excBufferError, "a panamapy.JavaBuffer lives on the CPU, device (1, 0); it cannot be "
                        + "exported to device (" + type + ", " + id + ")");
            }
        }
        if (copy != 0 && copy == c.trueObj) {
            return raise(c.excBufferError, "__dlpack__(copy=True): a panamapy.JavaBuffer shares Java memory and never "
                    + "copies; take it without copy=True and copy the result (numpy.from_dlpack(buf).copy())");
        }
        return newCapsule(c, self, versioned);
    }

    private static long newCapsule(Constants c, long self, boolean versioned) {
        long block = DLPack.malloc(BLOCK);
        long view = block + VIEW;
        if (PyObject_GetBuffer(Mem.ptr(self), Mem.ptr(view), PyBUF_RECORDS_RO()) != 0) {
            DLPack.free(block);
            return 0;                                           // BufferError set (closed, freed ...)
        }
        // from here until the capsule owns them, every way out frees the view, the shape/strides and the block
        String refusal;
        int ndim = 0, dtype = 0;
        long arrays = 0;
        try {
            refusal = refusal(view);
            if (refusal == null) {
                ndim = Mem.getInt(view + PyBufferLayout.NDIM);
                long itemsize = Mem.getLong(view + PyBufferLayout.ITEMSIZE);
                dtype = DLPack.dtypeOf(Mem.cString(Mem.getLong(view + PyBufferLayout.FORMAT)));
                arrays = DLPack.malloc(16L * Math.max(ndim, 1));  // shape, then strides (elements)
                long shape = Mem.getLong(view + PyBufferLayout.SHAPE), strides = Mem.getLong(view + PyBufferLayout.STRIDES);
                for (int i = 0; i < ndim; i++) {
                    Mem.putLong(arrays + 8L * i, Mem.getLong(shape + 8L * i));
                    Mem.putLong(arrays + 8L * (ndim + i), Mem.getLong(strides + 8L * i) / itemsize);
                }
            }
        } catch (RuntimeException | Error e) {
            discard(block, arrays);                            // a failed malloc leaked the view and block before
            throw e;
        }
        if (refusal != null) {
            discard(block, 0);
            return raise(c.excBufferError, refusal);
        }
        long tensor;
        if (versioned) {
            Mem.putInt(block + DLPack.V_MAJOR, DLPack.MAJOR);
            Mem.putInt(block + DLPack.V_MINOR, DLPack.MINOR);
            Mem.putLong(block + DLPack.V_CTX, block);
            Mem.putLong(block + DLPack.V_DELETER, DELETER_VERSIONED.address());
            Mem.putLong(block + DLPack.V_FLAGS, 0);             // writable: read-only memory was refused
            tensor = block + DLPack.V_TENSOR;
        } else {
            Mem.putLong(block + DLPack.LEGACY_CTX, block);
            Mem.putLong(block + DLPack.LEGACY_DELETER, DELETER_LEGACY.address());
            tensor = block + DLPack.LEGACY_TENSOR;
        }
        Mem.putLong(tensor + DLPack.DATA, Mem.getLong(view + PyBufferLayout.BUF));
        Mem.putInt(tensor + DLPack.DEVICE_TYPE, DLPack.CPU);
        Mem.putInt(tensor + DLPack.DEVICE_ID, 0);
        Mem.putInt(tensor + DLPack.NDIM, ndim);
        // dtype {uint8 code, uint8 bits, uint16 lanes = 1}: one little-endian int
        Mem.putInt(tensor + DLPack.DTYPE_CODE, (dtype & 0xffff) | 1 << 16);
        Mem.putLong(tensor + DLPack.SHAPE, arrays);
        Mem.putLong(tensor + DLPack.STRIDES, arrays + 8L * ndim);
        Mem.putLong(tensor + DLPack.BYTE_OFFSET, 0);
        LIVE.increment();
        String name = versioned ? DLPack.VERSIONED_NAME : DLPack.LEGACY_NAME;
        try {
            // a capsule dying unconsumed (still under its first name) deletes the tensor; a
            // consumer renames it and calls the deleter itself
            return Capsules.create(block, name, (capsule, now, pointer) -> {
                if (name.equals(now)) delete(block, versioned);
            });
        } catch (RuntimeException | Error e) {
            delete(block, versioned);
            throw e;
        }
    }

    /** Undoes a tensor not yet made: releases the view (the GIL is held), frees the shape/strides (if not 0) and the block. */
    private static void discard(long block, long arrays) {
        PyBuffer_Release(Mem.ptr(block + VIEW));
        if (arrays != 0) DLPack.free(arrays);
        DLPack.free(block);
    }

    /** Why the view cannot be a DLPack tensor, or null. */
    private static String refusal(long view) {
        String format = Mem.cString(Mem.getLong(view + PyBufferLayout.FORMAT));
        int dtype = DLPack.dtypeOf(format);
        long itemsize = Mem.getLong(view + PyBufferLayout.ITEMSIZE);
        if (dtype < 0) {
            return "format '" + format + "' has no DLPack data type: __dlpack__ exports numeric formats only (signed and "
                    + "unsigned integers b h i l q n B H I L Q N, floats e f d, bool ?, complex Zf Zd, in native byte "
                    + "order); read other formats through memoryview(buf)";
        }
        if ((dtype >>> 8) != itemsize * 8) {
            return "item size " + itemsize + " does not match format '" + format + "' (" + (dtype >>> 8) / 8
                    + " bytes): DLPack cannot describe it";
        }
        if (Mem.getLong(view + PyBufferLayout.SUBOFFSETS) != 0) {
            return "a buffer with suboffsets (pointers to follow) cannot be a DLPack tensor";
        }
        if (Mem.getInt(view + PyBufferLayout.READONLY) != 0) {
            return "read-only Java memory cannot be shared through DLPack: consumers may ignore the tensor's read-only "
                    + "flag (torch does) and write to it; read it through the buffer protocol instead "
                    + "(memoryview(buf), numpy.asarray(buf)), which keeps it read-only";
        }
        int ndim = Mem.getInt(view + PyBufferLayout.NDIM);
        long strides = Mem.getLong(view + PyBufferLayout.STRIDES);
        for (int i = 0; i < ndim; i++) {
            long s = Mem.getLong(strides + 8L * i);
            if (s % itemsize != 0) {
                return "stride " + s + " (bytes) of dimension " + i + " is not a multiple of the item size " + itemsize
                        + ": DLPack counts strides in elements, so this layout cannot be exported; copy it first";
            }
        }
        return null;
    }

    /**
     * The deleter: releases the view (with the GIL, taken here on any thread) and frees the
     * block; exactly once per tensor, which the consumer (or the capsule destructor) guarantees.
     */
    private static void delete(long block, boolean versioned) {
        long tensor = block + (versioned ? DLPack.V_TENSOR : DLPack.LEGACY_TENSOR);
        long arrays = Mem.getLong(tensor + DLPack.SHAPE);
        Interpreter interp = Interpreter.running();
        // Counted in flight (close() waits for it), or refused once CPython finalizes: then only
        // the block is freed, the view is gone with CPython. A check without the count let a
        // deleter on a consumer's thread take the GIL during or after finalization (abort).
        if (interp != null && interp.enterBare()) {
            try {
                // The bare GIL API, not the bridge's enter(): a consumer may call this on a thread that
                // is inside a bridge call but let the GIL go meanwhile (torch frees tensors so), where
                // the bridge would take it for nested; PyGILState_Ensure is right in every case.
                Handoff.run(() -> {                             // a virtual thread cannot take the GIL
                    int g = PyGILState_Ensure();
                    try {
                        PyBuffer_Release(Mem.ptr(block + VIEW));
                    } finally {
                        PyGILState_Release(g);
                    }
                });
            } finally {
                interp.leaveBare();
            }
        }
        DLPack.free(arrays);
        DLPack.free(block);
        LIVE.decrement();
    }

    private static long kwarg(long kwargs, String name) {
        if (kwargs == 0) return 0;
        try (Arena a = Arena.ofConfined()) {
            return PyDict_GetItemString(Mem.ptr(kwargs), a.allocateFrom(name)).address();   // borrowed
        }
    }

    /** Item i of a tuple as a long, or Long.MIN_VALUE (no error left) if it is not a tuple of ints that long. */
    private static long tupleInt(long tuple, int i) {
        long type = Convert.typeOf(tuple);
        if ((PyType_GetFlags(Mem.ptr(type)) & TPFLAGS_TUPLE_SUBCLASS) == 0) return Long.MIN_VALUE;
        if (PyTuple_Size(Mem.ptr(tuple)) <= i) return Long.MIN_VALUE;
        long item = PyTuple_GetItem(Mem.ptr(tuple), i).address();
        long v = PyLong_AsLongLong(Mem.ptr(item));
        if (v == -1 && PyErr_Occurred().address() != 0) {
            PyErr_Clear();
            return Long.MIN_VALUE;
        }
        return v;
    }

    private static long raise(long type, String message) {
        try (Arena a = Arena.ofConfined()) {
            PyErr_SetString(Mem.ptr(type), a.allocateFrom(message));
        }
        return 0;
    }

    // ---- stubs and the method table ---------------------------------------------------------------

    static final MemorySegment DLPACK = stub("dlpack", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG));
    static final MemorySegment DLPACK_DEVICE = stub("dlpackDevice", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG));
    static final MemorySegment DELETER_LEGACY = stub("deleterLegacy", FunctionDescriptor.ofVoid(JAVA_LONG));
    static final MemorySegment DELETER_VERSIONED = stub("deleterVersioned", FunctionDescriptor.ofVoid(JAVA_LONG));

    /** The {@code PyMethodDef} table of panamapy.JavaBuffer: {@code __dlpack__}, {@code __dlpack_device__}; never freed. */
    static MemorySegment methods() {
        Arena forever = Arena.global();
        MemorySegment defs = PyMethodDef.allocateArray(3, forever);
        def(forever, PyMethodDef.asSlice(defs, 0), "__dlpack__", DLPACK, METH_VARARGS() | METH_KEYWORDS(),
                "__dlpack__(*, stream=None, max_version=None, dl_device=None, copy=None)\n--\n\n"
                        + "A DLPack capsule sharing this Java memory (the Python array API's DLPack protocol).");
        def(forever, PyMethodDef.asSlice(defs, 1), "__dlpack_device__", DLPACK_DEVICE, METH_NOARGS(),
                "__dlpack_device__()\n--\n\n(1, 0): Java memory is CPU memory.");
        PyMethodDef.asSlice(defs, 2).fill((byte) 0);
        return defs;
    }

    private static void def(Arena forever, MemorySegment d, String name, MemorySegment fn, int flags, String doc) {
        PyMethodDef.ml_name(d, forever.allocateFrom(name));
        PyMethodDef.ml_meth(d, fn);
        PyMethodDef.ml_flags(d, flags);
        PyMethodDef.ml_doc(d, forever.allocateFrom(doc));
    }

    private static MemorySegment stub(String method, FunctionDescriptor fd) {
        return Capsules.upcallStub(MethodHandles.lookup(), method, fd);
    }
}
