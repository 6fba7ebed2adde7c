import os
import pathlib
import sys
import tempfile

import pytest

import build

pytest_plugins = ["refleak"]

_BUILD_DIR = pathlib.Path(
    os.environ.get("PYAWAITABLE_TEST_BUILD")
    or tempfile.mkdtemp(prefix="pyawaitable-tests-"))
for _name in build.EXTENSIONS:
    sys.path.insert(0, str(build.build(_name, _BUILD_DIR)))


def pytest_report_header(config):
    import sysconfig
    return [f"interpreter: {sys.executable} ({sys.version.split()[0]}, "
            f"Py_DEBUG={bool(sysconfig.get_config_var('Py_DEBUG'))}, "
            f"Py_GIL_DISABLED={bool(sysconfig.get_config_var('Py_GIL_DISABLED'))})",
            f"pyawaitable.h from: {build.pyawaitable_include()}"]


@pytest.fixture(autouse=True)
def no_protocol_violations():
    """Error callbacks must always be called with no exception set."""
    import _testawaitable
    before = _testawaitable.violations()
    yield
    assert _testawaitable.violations() == before, \
        "an error callback was called with an exception set"


@pytest.fixture(autouse=True)
def forget_handlers():
    """The harness maps awaitables to their Python handlers in a weak-keyed
    dict, where a handler that references its awaitable (directly or through
    a traceback) keeps the entry alive for good.  Handlers belong to one
    test, so drop them all when it ends."""
    yield
    import harness
    harness.forget_handlers()

