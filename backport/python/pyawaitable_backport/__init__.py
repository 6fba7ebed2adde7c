"""The PyAwaitable C API for CPython 3.10 and newer.

C extensions include ``pyawaitable.h`` (see :func:`get_include`) and call
``PyAwaitable_Init()`` in their module init; the header then reaches the
runtime in :mod:`pyawaitable_backport._runtime` through a capsule.
"""

import os

from ._runtime import awaitable

__all__ = ["awaitable", "get_include"]


def get_include():
    """Return the directory that holds ``pyawaitable.h``."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "include")
