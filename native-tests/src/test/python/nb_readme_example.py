"""The README's pure-Python exporter, verbatim (PurePythonExportersTest runs it)."""
from array import array
import panamapy.newbuffer as nb

class Backwards(nb.BufferMixin):
    """int32 values exported last to first: a negative stride, with buf at the last item."""
    def __init__(self, values):
        self.data = array('i', values)
        self.fmt = array('b', b'i\0')                        # struct format, NUL-terminated
        self.meta = array('q', [len(values), -4])            # shape, strides (Py_ssize_t)
    def _get_buffer(self, view, flags):
        if (flags & nb.PyBUF_STRIDES) != nb.PyBUF_STRIDES:
            raise BufferError("only a strided view can be given")
        n, meta = len(self.data), self.meta.buffer_info()[0]
        view.obj = self                                       # the view keeps self (and its memory) alive
        view.buf = self.data.buffer_info()[0] + 4 * (n - 1)
        view.len, view.itemsize, view.ndim, view.readonly = 4 * n, 4, 1, 0
        view.format = self.fmt.buffer_info()[0] if flags & nb.PyBUF_FORMAT else None
        view.shape, view.strides = meta, meta + 8

