# Exporters and helpers the panamapy.Buffer tests share (BufferClassTest, Pep688SafetyTest):
# run in __main__ by the tests (py.exec of this text).
import gc
import sys
import threading
import weakref

import panamapy


class Delegating(panamapy.Buffer):
    """PEP 688's own example: a fresh memoryview of self.data per view, released with the view."""
    def __init__(self, data):
        self.data = data
        self.seen = []                  # each __buffer__'s flags, each release's (view is the one returned)
        self.released = 0

    def __buffer__(self, flags):
        self.seen.append(flags)
        view = memoryview(self.data)
        self.last = weakref.ref(view)   # weak: the view's lifetime stays PEP 688's
        return view

    def __release_buffer__(self, view):
        self.released += 1
        self.seen.append(('release', view is self.last()))
        view.release()


def unraisable_during(fn):
    """Runs fn(); answers what reached sys.unraisablehook meanwhile: [(type name, str(value))]."""
    seen = []
    old, sys.unraisablehook = sys.unraisablehook, lambda u: seen.append((u.exc_type.__name__, str(u.exc_value)))
    try:
        fn()
    finally:
        sys.unraisablehook = old
    return seen


class Fixed(panamapy.Buffer):
    """__buffer__ answers memoryview(result) for bytes, else result itself (wrong types too);
    __release_buffer__ raises release_error when one is given."""
    def __init__(self, result, release_error=None):
        self.result = result
        self.release_error = release_error

    def __buffer__(self, flags):
        return memoryview(self.result) if isinstance(self.result, bytes) else self.result

    def __release_buffer__(self, view):
        if self.release_error is not None:
            raise self.release_error


def forget(name):
    """Deletes the global `name` and collects; answers a weak reference to what it named."""
    ref = weakref.ref(globals()[name])
    del globals()[name]
    gc.collect()
    return ref
