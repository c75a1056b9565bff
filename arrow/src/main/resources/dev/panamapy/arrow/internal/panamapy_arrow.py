"""Java Arrow data as Python objects with the Arrow PyCapsule interface (panamapy.arrow).

Made by Java (dev.panamapy.arrow.ArrowExport); the functions _schema, _array, _stream, _drop
and _describe are Java functions the bridge puts into this module before running it. Each
object holds a token naming its Java export; the export's memory lives until the object and
every struct a consumer took from it are gone.
"""


class _JavaArrowObject:
    __slots__ = ("_token", "__weakref__")

    def __init__(self, token):
        self._token = token

    def __del__(self):
        try:
            _drop(self._token)
        except Exception:       # interpreter shutting down: Java frees the export with the process
            pass

    def __arrow_c_schema__(self):
        """A PyCapsule 'arrow_schema' of this data's type."""
        return _schema(self._token)

    def __repr__(self):
        return "<panamapy.arrow.%s %s>" % (type(self).__name__, _describe(self._token))


class JavaArrowArray(_JavaArrowObject):
    """An Arrow array (a record batch is a struct array) over Java memory."""
    __slots__ = ()

    def __arrow_c_array__(self, requested_schema=None):
        """(schema, array) PyCapsules; the array reads the Java buffers in place."""
        return _array(self._token, requested_schema)

    def __arrow_c_stream__(self, requested_schema=None):
        """A PyCapsule 'arrow_array_stream' of this one array (for consumers that read streams)."""
        return _stream(self._token, requested_schema)


class JavaArrowStream(_JavaArrowObject):
    """A stream of Arrow record batches read from a Java ArrowReader; consumable once."""
    __slots__ = ()

    def __arrow_c_stream__(self, requested_schema=None):
        """A PyCapsule 'arrow_array_stream'; the second call raises."""
        return _stream(self._token, requested_schema)
