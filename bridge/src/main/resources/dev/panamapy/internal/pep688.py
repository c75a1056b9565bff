# panamapy.Buffer and panamapy.BufferFlags (PEP 688 on every CPython from 3.9 on).
# Run once by the bridge at start (BufferBackport.install), with `_panamapy` bound to the module.
# Before 3.12 the module also holds, while this runs, the natives BufferBackport made:
# _BufferBase (buffer slots that call __buffer__/__release_buffer__), _buffer_wrapper (what a
# view's obj is, like CPython 3.12's) and _buffer_slot(type) (which getbuffer a type has).
import sys


def _install(module):
    if sys.version_info >= (3, 12):
        class Buffer:
            __slots__ = ()
    else:
        native_base = module._BufferBase
        buffer_slot = module._buffer_slot
        wrapper = module._buffer_wrapper
        # a tuple underneath (so that it costs no upcall to free); it looks like 3.12's
        wrapper.__repr__ = object.__repr__
        wrapper.__eq__ = object.__eq__
        wrapper.__ne__ = object.__ne__
        wrapper.__hash__ = object.__hash__
        wrapper.__module__ = 'builtins'

        def _refuse_native(cls):
            # A base that exports a buffer of its own (bytearray, array.array, numpy.ndarray, a
            # Python subclass of one): before 3.12 CPython cannot tell which of the two buffers
            # a class means (3.12 follows the MRO through __buffer__), so the class is refused.
            for b in cls.__mro__[1:]:
                if b is not native_base and b is not object and buffer_slot(b) == 'native':
                    raise TypeError(
                        f"panamapy.Buffer cannot be combined with {b.__module__}.{b.__qualname__}, which "
                        f"exports a buffer of its own, on Python {sys.version_info[0]}.{sys.version_info[1]} "
                        f"(PEP 688 mixes them only from 3.12 on): delegate to it instead, e.g. "
                        f"'def __buffer__(self, flags): return memoryview(self.data)'")
            if buffer_slot(cls) not in ('panamapy', 'unknown'):
                raise TypeError(f"{cls.__qualname__} does not export through panamapy.Buffer: put "
                                f"panamapy.Buffer before the other bases")

        class Buffer(native_base):
            __slots__ = ()

            def __init_subclass__(cls, **kwargs):
                super().__init_subclass__(**kwargs)
                _refuse_native(cls)

    Buffer.__module__ = 'panamapy'
    Buffer.__qualname__ = 'Buffer'
    Buffer.__doc__ = (
        "Base class of pure-Python buffer exporters (PEP 688), on every CPython from 3.9 on.\n\n"
        "A subclass defines __buffer__(self, flags), returning a memoryview, and optionally\n"
        "__release_buffer__(self, view), called with that memoryview when the consumer releases\n"
        "its view. On 3.12+ this is CPython's own PEP 688 (this class adds nothing); before\n"
        "3.12 the bridge's buffer slots do the same, and a view's obj is a _buffer_wrapper as\n"
        "on 3.12. Before 3.12 a subclass cannot also derive from a type that exports a buffer\n"
        "of its own (bytearray, array.array, ...): TypeError; delegate to one instead.")
    module.Buffer = Buffer

    def exporter_class(name, java_buffer):
        # CPython.exporterClass: a Buffer subclass whose __buffer__ is a view of a JavaBuffer
        def __buffer__(self, flags):
            return memoryview(java_buffer)
        __buffer__.__qualname__ = name + '.__buffer__'
        return type(name, (Buffer,), {
            '__buffer__': __buffer__,
            '__module__': 'panamapy',
            '__doc__': 'A Python class over a Java BufferExporter (CPython.exporterClass): __buffer__ returns '
                       'a memoryview of the Java export; subclass it and call super().__buffer__(flags).',
        })
    module._exporter_class = exporter_class

    previous = module.__dict__.get('__getattr__')

    def __getattr__(name):
        # BufferFlags is made on first use: on 3.12+ it is inspect's, and inspect is slow to import
        if name == 'BufferFlags':
            flags = _buffer_flags()
            module.BufferFlags = flags
            return flags
        if previous is not None:
            return previous(name)
        raise AttributeError(f"module 'panamapy' has no attribute '{name}'")
    module.__getattr__ = __getattr__


def _buffer_flags():
    if sys.version_info >= (3, 12):
        import inspect
        return inspect.BufferFlags
    import enum

    class BufferFlags(enum.IntFlag):
        """inspect.BufferFlags of CPython 3.12, for older versions (PEP 688)."""
        SIMPLE = 0x0
        WRITABLE = 0x1
        FORMAT = 0x4
        ND = 0x8
        STRIDES = 0x10 | ND
        C_CONTIGUOUS = 0x20 | STRIDES
        F_CONTIGUOUS = 0x40 | STRIDES
        ANY_CONTIGUOUS = 0x80 | STRIDES
        INDIRECT = 0x100 | STRIDES
        CONTIG = ND | WRITABLE
        CONTIG_RO = ND
        STRIDED = STRIDES | WRITABLE
        STRIDED_RO = STRIDES
        RECORDS = STRIDES | WRITABLE | FORMAT
        RECORDS_RO = STRIDES | FORMAT
        FULL = INDIRECT | WRITABLE | FORMAT
        FULL_RO = INDIRECT | FORMAT
        READ = 0x100
        WRITE = 0x200
    BufferFlags.__module__ = 'panamapy'
    return BufferFlags


_install(_panamapy)  # noqa: F821 (bound by the bridge)
