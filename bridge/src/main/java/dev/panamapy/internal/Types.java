package dev.panamapy.internal;

import dev.panamapy.bindings.PyType_Slot;
import dev.panamapy.bindings.PyType_Spec;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.panamapy.bindings.Python_h.*;

/**
 * Creates the {@code panamapy} module and its heap types with {@code PyType_FromSpec}, their
 * slots pointing at the {@link Upcalls} stubs. {@code panamapy.JavaBuffer} instances are
 * {@code PyObject} header + one 8-byte handle into {@link Exports}; Python cannot create them
 * ({@code tp_new} raises TypeError), Java makes them with {@code PyType_GenericAlloc}.
 */
public final class Types {
    /** panamapy.JavaBuffer: bf_getbuffer only, no release upcall (owned; lives until finalization). */
    public final long javaBuffer;
    /** Its subclass, also named panamapy.JavaBuffer, adding bf_releasebuffer to count views. */
    public final long trackedJavaBuffer;
    /** the panamapy module (owned). */
    public final long module;

    private Types(long javaBuffer, long trackedJavaBuffer, long module) {
        this.javaBuffer = javaBuffer;
        this.trackedJavaBuffer = trackedJavaBuffer;
        this.module = module;
    }

    static Types create(Constants c) {
        Upcalls.c = c;
        Arena forever = Arena.global();       // CPython < 3.12 keeps pointing at the spec's name
        // The base type has no release slot: a view's obj reference alone keeps the memory alive,
        // which saves one upcall per view. The subclass adds bf_releasebuffer for exports that
        // count their views (the default).
        long type = makeType(forever, "panamapy.JavaBuffer", Upcalls.HANDLE_OFFSET + 8,
                "Java memory exported to Python (PEP 3118). Made by Java: CPython.export(...).",
                new int[]{Py_bf_getbuffer(), Py_tp_dealloc(), Py_tp_new(), Py_tp_repr()},
                new MemorySegment[]{Upcalls.GETBUFFER, Upcalls.DEALLOC, Upcalls.TP_NEW, Upcalls.REPR},
                0, Py_TPFLAGS_BASETYPE());
        long tracked = makeType(forever, "panamapy.JavaBuffer", Upcalls.HANDLE_OFFSET + 8,
                "Java memory exported to Python (PEP 3118), with each release reported to Java.",
                new int[]{Py_bf_releasebuffer()}, new MemorySegment[]{Upcalls.RELEASEBUFFER}, type, 0);
        long module;
        try (Arena a = Arena.ofConfined()) {
            module = Errors.check(c, PyModule_New(a.allocateFrom("panamapy")));
            Errors.checkInt(c, PyObject_SetAttrString(Mem.ptr(module), a.allocateFrom("JavaBuffer"), Mem.ptr(type)));
            Errors.checkInt(c, PyObject_SetAttrString(Mem.ptr(module), a.allocateFrom("JavaException"),
                    Mem.ptr(c.javaException)));
            MemorySegment doc = PyUnicode_FromString(a.allocateFrom(
                    "panamapy: Java memory as Python buffers, and Java functions callable from Python."));
            PyObject_SetAttrString(Mem.ptr(module), a.allocateFrom("__doc__"), doc);
            Py_DecRef(doc);
            MemorySegment modules = PyImport_GetModuleDict();     // borrowed
            Errors.checkInt(c, PyDict_SetItemString(modules, a.allocateFrom("panamapy"), Mem.ptr(module)));
        }
        return new Types(type, tracked, module);
    }

    private static long makeType(Arena forever, String name, long basicsize, String doc, int[] slotIds,
                                 MemorySegment[] fns, long base, long extraFlags) {
        MemorySegment slots = PyType_Slot.allocateArray(slotIds.length + 2, forever);
        int i = 0;
        for (; i < slotIds.length; i++) {
            MemorySegment s = PyType_Slot.asSlice(slots, i);
            PyType_Slot.slot(s, slotIds[i]);
            PyType_Slot.pfunc(s, fns[i]);
        }
        MemorySegment d = PyType_Slot.asSlice(slots, i++);
        PyType_Slot.slot(d, Py_tp_doc());
        PyType_Slot.pfunc(d, forever.allocateFrom(doc));
        MemorySegment end = PyType_Slot.asSlice(slots, i);
        PyType_Slot.slot(end, 0);
        PyType_Slot.pfunc(end, MemorySegment.NULL);

        MemorySegment spec = PyType_Spec.allocate(forever);
        PyType_Spec.name(spec, forever.allocateFrom(name));
        PyType_Spec.basicsize(spec, (int) basicsize);
        PyType_Spec.itemsize(spec, 0);
        PyType_Spec.flags(spec, (int) (Py_TPFLAGS_DEFAULT() | Py_TPFLAGS_HAVE_VERSION_TAG() | extraFlags));
        PyType_Spec.slots(spec, slots);
        MemorySegment type;
        if (base == 0) {
            type = PyType_FromSpec(spec);
        } else {
            MemorySegment bases = PyTuple_New(1);
            Py_IncRef(Mem.ptr(base));
            PyTuple_SetItem(bases, 0, Mem.ptr(base));
            type = PyType_FromSpecWithBases(spec, bases);
            Py_DecRef(bases);
        }
        if (type.address() == 0) throw Errors.fetch(null);
        return type.address();
    }

    /** A new instance of panamapy.JavaBuffer bound to an export handle; a new reference. */
    public long newJavaBuffer(Constants c, long handle, boolean tracked) {
        long obj = Errors.check(c, PyType_GenericAlloc(Mem.ptr(tracked ? trackedJavaBuffer : javaBuffer), 0));
        Mem.putLong(obj + Upcalls.HANDLE_OFFSET, handle);
        return obj;
    }
}
