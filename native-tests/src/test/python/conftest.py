"""Fixtures for the Python-side suite. Run by harness/PythonSuiteTest inside the JVM that embeds
CPython; the JUnit test puts a module ``panamapy_fixtures`` into ``sys.modules`` whose functions
are Java functions that export Java memory. Outside that JVM every test here is skipped."""
import sys

import pytest


@pytest.fixture
def fx():
    mod = sys.modules.get("panamapy_fixtures")
    if mod is None:
        pytest.skip("panamapy_fixtures is bound only when run from the JVM (harness/PythonSuiteTest)")
    return mod
