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
