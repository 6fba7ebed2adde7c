"""The PyAwaitable C API for CPython 3.10 and newer.

C extensions include ``pyawaitable.h`` (see :func:`get_include`) and call
``PyAwaitable_Init()`` in their module init; the header then reaches the
runtime in :mod:`pyawaitable_backport._runtime` through a capsule.

Build systems find the header through :func:`get_include` (setuptools),
``python -m pyawaitable_backport --include`` (meson and others), the CMake
package in :func:`get_cmake_dir` (``find_package(pyawaitable_backport)``,
found by scikit-build-core on its own) or the pkg-config file in
:func:`get_pkgconfig_dir`.  The header is all an extension needs: there is
no library to link.
"""

import os

from ._runtime import awaitable

__all__ = ["awaitable", "get_cmake_dir", "get_include", "get_pkgconfig_dir"]

_HERE = os.path.dirname(os.path.abspath(__file__))


def get_include() -> str:
    """Return the directory that holds ``pyawaitable.h``."""
    return os.path.join(_HERE, "include")


def get_cmake_dir() -> str:
    """Return the directory that holds ``pyawaitable_backportConfig.cmake``.

    Pass it to CMake as ``-Dpyawaitable_backport_DIR=...`` (or add it to
    ``CMAKE_PREFIX_PATH``); scikit-build-core finds it without help.
    """
    return os.path.join(_HERE, "cmake")


def get_pkgconfig_dir() -> str:
    """Return the directory that holds ``pyawaitable_backport.pc``.

    Add it to ``PKG_CONFIG_PATH`` for ``pkg-config --cflags
    pyawaitable_backport``.
    """
    return os.path.join(_HERE, "pkgconfig")
