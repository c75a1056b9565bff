package dev.panamapy.internal;

import dev.panamapy.bindings.PyType_Slot;
import dev.panamapy.bindings.PyType_Spec;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import static dev.panamapy.bindings.Python_h.*;

/**
 * Creates the {@code panamapy} module and its types: {@code panamapy.JavaException}, and the
 * heap types made with {@code PyType_FromSpec}, their slots pointing at the {@link Upcalls}
 * stubs. Made by {@link Interpreter} at start, before {@link Constants}, which holds them.
 * {@code panamapy.JavaBuffer} instances are {@code PyObject} header + one 8-byte handle into {@link ExportTable} (+ 8 bytes of padding, below);
 * Python cannot create them ({@code tp_new} raises TypeError), Java makes them with
 * {@code PyType_GenericAlloc}.
 *
 * <p><b>Three types, all named {@code panamapy.JavaBuffer}.</b> The base (the module's
 * {@code JavaBuffer}, what {@code isinstance} checks) holds the slots every export shares and is
 * never instantiated. Instances are of one of its two subclasses: untracked (no release upcall:
 * a view's {@code obj} reference alone keeps the memory alive, one upcall per view saved) or
 * tracked (adds {@code bf_releasebuffer} to count views; the default).
 *
 * <p><b>Python cannot change an instance's type or the types.</b> Which type an object has
 * decides whether its releases reach Java; were {@code obj.__class__} reassigned, views would
 * be counted wrongly forever. So all three types are immutable from 3.10 on
 * ({@code Py_TPFLAGS_IMMUTABLETYPE}: no attribute assignment, no {@code __class__} or
 * {@code __bases__} assignment, TypeError). On 3.9, which lacks that flag, the layouts refuse
 * {@code __class__} assignment instead: CPython allows it only between types whose instance
 * layouts it can prove equal, and the two instance types are each 8 bytes larger than their
 * base (so neither is layout-compatible with the base, with each other, or with a Python
 * subclass of the base, which is all Python can subclass). That costs nothing per view.
 */
public final class Types {
    /** Py_TPFLAGS_IMMUTABLETYPE (CPython 3.10+; not in the 3.9-era bindings' constants). */
    static final long TPFLAGS_IMMUTABLETYPE = 1L << 8;
    /** The base panamapy.JavaBuffer: the shared slots; never instantiated (owned; lives until finalization). */
    public final long baseJavaBuffer;
    /** panamapy.JavaBuffer for untracked exports: bf_getbuffer only, no release upcall (owned). */
    public final long javaBuffer;
    /** panamapy.JavaBuffer for tracked exports, adding bf_releasebuffer to count views (owned). */
    public final long trackedJavaBuffer;
    /** panamapy.JavaException, a RuntimeError carrying a Java throwable (owned). */
    public final long javaException;
    /** the panamapy module (owned). */
    public final long module;

    private Types(long baseJavaBuffer, long javaBuffer, long trackedJavaBuffer, long javaException, long module) {
        this.baseJavaBuffer = baseJavaBuffer;
        this.javaBuffer = javaBuffer;
        this.trackedJavaBuffer = trackedJavaBuffer;
        this.javaException = javaException;
        this.module = module;
    }

    /**
     * Makes the module and its types and registers the module in {@code sys.modules}. Requires
     * the GIL, at start (errors carry no traceback yet: {@link Constants} do not exist).
     *
     * @param minor the running CPython's minor version (3.minor)
     */
    static Types create(int minor) {
        Arena forever = Arena.global();       // CPython < 3.12 keeps pointing at the spec's name
        long immutable = minor >= 10 ? TPFLAGS_IMMUTABLETYPE : 0;
        long base = makeType(forever, "panamapy.JavaBuffer", Upcalls.HANDLE_OFFSET + 8,
                "Java memory exported to Python (PEP 3118). Made by Java: CPython.export(...).",
                new int[]{Py_bf_getbuffer(), Py_tp_dealloc(), Py_tp_new(), Py_tp_repr()},
                new MemorySegment[]{Upcalls.GETBUFFER, Upcalls.DEALLOC, Upcalls.TP_NEW, Upcalls.REPR},
                0, Py_TPFLAGS_BASETYPE() | immutable);
        // + 8: a layout of their own (see the class comment); the handle stays at HANDLE_OFFSET
        long type = makeType(forever, "panamapy.JavaBuffer", Upcalls.HANDLE_OFFSET + 16,
                "Java memory exported to Python (PEP 3118). Made by Java: CPython.export(...).",
                new int[]{Py_tp_new()}, new MemorySegment[]{Upcalls.TP_NEW}, base, immutable);
        long tracked = makeType(forever, "panamapy.JavaBuffer", Upcalls.HANDLE_OFFSET + 16,
                "Java memory exported to Python (PEP 3118), with each release reported to Java.",
                new int[]{Py_bf_releasebuffer(), Py_tp_new()}, new MemorySegment[]{Upcalls.RELEASEBUFFER, Upcalls.TP_NEW},
                base, immutable);
        long module, javaException;
        try (Arena a = Arena.ofConfined()) {
            javaException = Errors.check(null, PyErr_NewException(a.allocateFrom("panamapy.JavaException"),
                    PyExc_RuntimeError(), MemorySegment.NULL));
            module = Errors.check(null, PyModule_New(a.allocateFrom("panamapy")));
            Errors.checkInt(null, PyObject_SetAttrString(Mem.ptr(module), a.allocateFrom("JavaBuffer"), Mem.ptr(base)));
            Errors.checkInt(null, PyObject_SetAttrString(Mem.ptr(module), a.allocateFrom("JavaException"),
                    Mem.ptr(javaException)));
            MemorySegment doc = PyUnicode_FromString(a.allocateFrom(
                    "panamapy: Java memory as Python buffers, and Java functions callable from Python."));
            PyObject_SetAttrString(Mem.ptr(module), a.allocateFrom("__doc__"), doc);
            Py_DecRef(doc);
            MemorySegment modules = PyImport_GetModuleDict();     // borrowed
            Errors.checkInt(null, PyDict_SetItemString(modules, a.allocateFrom("panamapy"), Mem.ptr(module)));
            NewBuffer.install(module, minor);
        }
        BufferBackport.install(module, minor);     // panamapy.Buffer, panamapy.BufferFlags (PEP 688)
        return new Types(base, type, tracked, javaException, module);
    }

    static long makeType(Arena forever, String name, long basicsize, String doc, int[] slotIds,
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
