"""python -m pyawaitable_backport: where build systems find the C API.

--include        the directory that holds pyawaitable.h
--cflags         the compiler flag for it (-I...)
--cmake-dir      the directory of the CMake package configuration
--pkgconfig-dir  the directory of pyawaitable_backport.pc
--version        the installed version
"""

import argparse
import shlex
from importlib import metadata

from . import get_cmake_dir, get_include, get_pkgconfig_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pyawaitable_backport",
        description="Locate the PyAwaitable C API backport.",
    )
    # One answer per call, so that a build system can use the output as is.
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--include",
        action="store_true",
        help="print the directory that holds pyawaitable.h",
    )
    what.add_argument(
        "--cflags",
        action="store_true",
        help="print the compiler flag that puts pyawaitable.h on the "
             "include path",
    )
    what.add_argument(
        "--cmake-dir",
        action="store_true",
        help="print the directory of pyawaitable_backportConfig.cmake "
             "(for -Dpyawaitable_backport_DIR or CMAKE_PREFIX_PATH)",
    )
    what.add_argument(
        "--pkgconfig-dir",
        action="store_true",
        help="print the directory of pyawaitable_backport.pc "
             "(for PKG_CONFIG_PATH)",
    )
    what.add_argument(
        "--version",
        action="store_true",
        help="print the installed version of pyawaitable-backport",
    )
    args = parser.parse_args(argv)
    if args.include:
        print(get_include())
    elif args.cflags:
        print("-I" + shlex.quote(get_include()))
    elif args.cmake_dir:
        print(get_cmake_dir())
    elif args.pkgconfig_dir:
        print(get_pkgconfig_dir())
    elif args.version:
        print(metadata.version("pyawaitable-backport"))
    else:
        parser.print_help()
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
