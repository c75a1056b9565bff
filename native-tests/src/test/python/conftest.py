"""Fixtures for the Python-side suite. Run by harness/PythonSuiteTest inside the JVM that embeds
CPython; the JUnit test puts a module ``panamapy_fixtures`` into ``sys.modules`` whose functions
are Java functions that export Java memory. Outside that JVM every test here is skipped."""
import importlib
import sys

import pytest


@pytest.fixture
def fx():
    mod = sys.modules.get("panamapy_fixtures")
    if mod is None:
        pytest.skip("panamapy_fixtures is bound only when run from the JVM (harness/PythonSuiteTest)")
    return mod


@pytest.fixture
def need(fx):
    """``need("numpy")``: the module, for a test that needs a package. The same rule as the JUnit
    side (dev.panamapy.testing.PythonPackages): a package the test command installed for this
    Python fails the test when it does not import; any other missing package skips, with why."""
    def need(module, distribution=None):
        why = fx.why_missing(distribution or module)
        if why is not None:
            return pytest.importorskip(module, reason=why)
        try:
            return importlib.import_module(module)
        except ImportError as e:
            pytest.fail("%s is required on this Python (the test command installed it) but 'import %s' fails: %r"
                        % (distribution or module, module, e))
    return need
