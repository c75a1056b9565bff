package dev.panamapy.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.panamapy.bindings.Python_h.*;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT_UNALIGNED;

/**
 * Java taking any DLPack producer ({@code numpy.ndarray}, {@code torch.Tensor}, a
 * {@code panamapy.JavaBuffer}, anything with {@code __dlpack__}) as a {@code PyBufferView}:
 * asks for a tensor ({@code __dlpack__(max_version=(1, 0))}, or {@code __dlpack__()} for a
 * producer older than the 2023 array API), checks it, describes it as a {@code Py_buffer} (strides
 * in bytes, the data type as a struct format; writable only for a versioned tensor without
 * {@code DLPACK_FLAG_BITMASK_READ_ONLY}, a legacy tensor is read-only), consumes the
 * capsule (renames it {@code used_dltensor[_versioned]}) and hands the {@link ForeignBuffer}
 * the producer's deleter, which its release calls exactly once, with the GIL held.
 */
final class DLPackImport {
    private DLPackImport() { }

    /**
     * Takes obj's tensor. Requires the GIL.
     *
     * @throws IllegalArgumentException if obj has no {@code __dlpack__}, lives on a device other than
     *         the CPU, or has a data type without a struct format (bfloat16, vectors of lanes)
     * @throws IllegalStateException if the producer's tensor is malformed (a DLPack major version
     *         other than 1, negative shape, a length that overflows)
     * @throws dev.panamapy.PythonException if {@code __dlpack__} raises
     */
    static ForeignBuffer acquire(Interpreter interp, long obj) {
        Constants c = interp.c;
        long capsule;
        if (!ObjectProtocol.hasAttr(c, obj, "__dlpack__")) {
            throw new IllegalArgumentException("an object of type '" + ObjectProtocol.typeName(obj) + "' has no __dlpack__ "
                    + "method: only DLPack producers (numpy arrays, torch tensors, panamapy.JavaBuffer ...) can be "
                    + "read with dlpack(); use getBuffer for PEP 3118 buffers");
        }
        requireCpu(c, obj);
        try (Arena a = Arena.ofConfined()) {
            capsule = callDlpack(c, obj, a);
        }
        try {
            return consume(interp, capsule);
        } finally {
            Py_DecRef(Mem.ptr(capsule));              // unconsumed (refused): its destructor calls the deleter
        }
    }

    private static void requireCpu(Constants c, long obj) {
        if (!ObjectProtocol.hasAttr(c, obj, "__dlpack_device__")) return;
        long m = ObjectProtocol.getAttr(c, obj, "__dlpack_device__");
        long dev;
        try {
            dev = Errors.check(c, PyObject_CallObject(Mem.ptr(m), MemorySegment.NULL));
        } finally {
            Py_DecRef(Mem.ptr(m));
        }
        try {
            long type = PyTuple_Size(Mem.ptr(dev)) == 2 ? PyLong_AsLong(PyTuple_GetItem(Mem.ptr(dev), 0)) : -1;
            if (PyErr_Occurred().address() != 0) PyErr_Clear();
            if (type != DLPack.CPU) {
                throw new IllegalArgumentException("the tensor is not in CPU memory (__dlpack_device__() is "
                        + ObjectProtocol.repr(c, dev) + "): Java reads CPU memory only; move it first (tensor.cpu())");
            }
        } finally {
            Py_DecRef(Mem.ptr(dev));
        }
    }

    /** {@code obj.__dlpack__(max_version=(1, 0))}, or {@code obj.__dlpack__()} if that is a TypeError: a new reference. */
    private static long callDlpack(Constants c, long obj, Arena a) {
        long m = Errors.check(c, PyObject_GetAttrString(Mem.ptr(obj), a.allocateFrom("__dlpack__")));
        try {
            MemorySegment kwargs = PyDict_New();
            MemorySegment version = PyTuple_New(2);
            PyTuple_SetItem(version, 0, PyLong_FromLong(DLPack.MAJOR));
            PyTuple_SetItem(version, 1, PyLong_FromLong(DLPack.MINOR));
            PyDict_SetItemString(kwargs, a.allocateFrom("max_version"), version);
            Py_DecRef(version);
            MemorySegment noArgs = PyTuple_New(0);
            long capsule = PyObject_Call(Mem.ptr(m), noArgs, kwargs).address();
            Py_DecRef(noArgs);
            Py_DecRef(kwargs);
            if (capsule == 0 && PyErr_ExceptionMatches(Mem.ptr(c.excTypeError)) != 0) {
                PyErr_Clear();                          // a producer that predates max_version
                capsule = PyObject_CallObject(Mem.ptr(m), MemorySegment.NULL).address();
            }
            return Errors.check(c, Mem.ptr(capsule));
        } finally {
            Py_DecRef(Mem.ptr(m));
        }
    }

    private static ForeignBuffer consume(Interpreter interp, long capsule) {
        boolean versioned = Capsules.isCapsule(capsule, DLPack.VERSIONED_NAME);
        if (!versioned && !Capsules.isCapsule(capsule, DLPack.LEGACY_NAME)) {
            throw new IllegalStateException("__dlpack__ returned " + ObjectProtocol.repr(interp.c, capsule) + ", not an unconsumed "
                    + "DLPack capsule (named 'dltensor' or 'dltensor_versioned')");
        }
        long managed = Capsules.pointer(capsule, versioned ? DLPack.VERSIONED_NAME : DLPack.LEGACY_NAME);
        long tensor, deleter;
        // a legacy tensor cannot say whether it may be written (pyarrow exports immutable Arrow memory,
        // maybe a read-only mapping, as one): read-only; only a versioned tensor without the flag is writable
        boolean readOnly = true;
        if (versioned) {
            int major = Mem.getInt(managed + DLPack.V_MAJOR);
            if (major != DLPack.MAJOR) {
                throw new IllegalStateException("the producer made a DLPack " + major + "." + Mem.getInt(managed + DLPack.V_MINOR)
                        + " tensor, though asked for at most 1.0; this bridge reads 1.x");
            }
            readOnly = (Mem.getLong(managed + DLPack.V_FLAGS) & DLPack.FLAG_READ_ONLY) != 0;
            tensor = managed + DLPack.V_TENSOR;
            deleter = Mem.getLong(managed + DLPack.V_DELETER);
        } else {
            tensor = managed + DLPack.LEGACY_TENSOR;
            deleter = Mem.getLong(managed + DLPack.LEGACY_DELETER);
        }
        int deviceType = Mem.getInt(tensor + DLPack.DEVICE_TYPE);
        if (deviceType != DLPack.CPU) {
            throw new IllegalArgumentException("the tensor is on DLPack device type " + deviceType
                    + ", not the CPU (1): Java reads CPU memory only; move it first (tensor.cpu())");
        }
        int code = Byte.toUnsignedInt(Mem.ALL.get(JAVA_BYTE, tensor + DLPack.DTYPE_CODE));
        int bits = Byte.toUnsignedInt(Mem.ALL.get(JAVA_BYTE, tensor + DLPack.DTYPE_BITS));
        int lanes = Short.toUnsignedInt(Mem.ALL.get(JAVA_SHORT_UNALIGNED, tensor + DLPack.DTYPE_LANES));
        String format = DLPack.formatOf(code, bits, lanes);
        if (format == null) {
            throw new IllegalArgumentException("DLPack data type " + DLPack.dtypeName(code, bits, lanes) + " has no Java "
                    + "reading: dlpack() reads (u)int8-64, float16/32/64, bool and complex64/128");
        }
        int ndim = Mem.getInt(tensor + DLPack.NDIM);
        if (ndim < 0 || ndim > dev.panamapy.BufferSpec.MAX_NDIM) {
            throw new IllegalStateException("malformed DLPack tensor: ndim = " + ndim);
        }
        long itemsize = bits / 8;
        long shapeAt = Mem.getLong(tensor + DLPack.SHAPE), stridesAt = Mem.getLong(tensor + DLPack.STRIDES);
        if (ndim > 0 && shapeAt == 0) throw new IllegalStateException("malformed DLPack tensor: ndim = " + ndim + " but no shape");
        // the Py_buffer's format, shape and strides (bytes): read by the view when it is made, kept with the buffer
        MemorySegment arrays = Arena.ofAuto().allocate(16L * Math.max(ndim, 1) + 8, 8);
        long len = itemsize;
        try {
            for (int i = ndim - 1; i >= 0; i--) {
                long n = Mem.getLong(shapeAt + 8L * i);
                if (n < 0) throw new IllegalStateException("malformed DLPack tensor: shape[" + i + "] = " + n);
                long stride = stridesAt != 0 ? Math.multiplyExact(Mem.getLong(stridesAt + 8L * i), itemsize)
                        : len;                                  // C order when the producer gives none
                arrays.setAtIndex(JAVA_LONG, i, n);
                arrays.setAtIndex(JAVA_LONG, ndim + i, stride);
                len = Math.multiplyExact(len, n);
            }
        } catch (ArithmeticException e) {
            throw new IllegalStateException("malformed DLPack tensor: its length overflows a long", e);
        }
        MemorySegment cFormat = arrays.asSlice(16L * Math.max(ndim, 1));
        cFormat.setString(0, format);
        ForeignBuffer b = ForeignBuffer.forTensor(interp);
        long v = b.pyBuffer.address();
        Mem.putLong(v + PyBufferLayout.BUF, Mem.getLong(tensor + DLPack.DATA) + Mem.getLong(tensor + DLPack.BYTE_OFFSET));
        Mem.putLong(v + PyBufferLayout.OBJ, 0);
        Mem.putLong(v + PyBufferLayout.LEN, len);
        Mem.putLong(v + PyBufferLayout.ITEMSIZE, itemsize);
        Mem.putInt(v + PyBufferLayout.READONLY, readOnly ? 1 : 0);
        Mem.putInt(v + PyBufferLayout.NDIM, ndim);
        Mem.putLong(v + PyBufferLayout.FORMAT, cFormat.address());
        Mem.putLong(v + PyBufferLayout.SHAPE, arrays.address());
        Mem.putLong(v + PyBufferLayout.STRIDES, arrays.address() + 8L * ndim);
        Mem.putLong(v + PyBufferLayout.SUBOFFSETS, 0);
        Mem.putLong(v + PyBufferLayout.INTERNAL, 0);
        // consumed from here on: renamed, so its destructor leaves the deleter to us
        Capsules.rename(capsule, versioned ? DLPack.USED_VERSIONED_NAME : DLPack.USED_LEGACY_NAME);
        b.adoptTensor(deleter, managed, arrays);
        return b;
    }
}
