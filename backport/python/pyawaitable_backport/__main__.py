"""python -m pyawaitable_backport --include: print the header directory."""

import argparse

from . import get_include


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m pyawaitable_backport",
        description="Locate the PyAwaitable C API backport.",
    )
    parser.add_argument(
        "--include",
        action="store_true",
        help="print the directory that holds pyawaitable.h",
    )
    args = parser.parse_args(argv)
    if not args.include:
        parser.print_help()
        return 2
    print(get_include())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
