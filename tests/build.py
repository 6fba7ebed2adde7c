"""Build the C test extensions for the interpreter running this file.

The same sources are compiled against the backport's header on stock
interpreters and against the native API on a patched interpreter; the
interpreter's own sysconfig gives the compiler and its include directory
(and with it Py_DEBUG / Py_GIL_DISABLED from pyconfig.h).  An interpreter
built with sanitizers (tools/build-cpython --variant asan) passes its
-fsanitize flags on: the extensions are instrumented like it.
"""

import hashlib
import os
import pathlib
import shlex
import subprocess
import sys
import sysconfig

HERE = pathlib.Path(__file__).resolve().parent
REPO_INCLUDE = HERE.parent / "backport" / "python" / "pyawaitable_backport" / "include"
WARNINGS = ["-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter",
            "-Wno-missing-field-initializers", "-Wno-cast-function-type"]


def sanitizer_flags():
    """The interpreter's own sanitizer flags (-fsanitize=..., and what
    goes with them), to compile the extensions as it was compiled.  The
    runtime is linked into the interpreter, so the extensions link none."""
    flags = shlex.split(sysconfig.get_config_var("CFLAGS") or "")
    return [flag for flag in dict.fromkeys(flags)
            if flag.startswith(("-fsanitize", "-fno-sanitize"))
            or flag == "-fno-omit-frame-pointer"]


def pyawaitable_include():
    """The header directory users get: the installed package's, if any."""
    try:
        import pyawaitable_backport
    except ImportError:
        return str(REPO_INCLUDE)
    return pyawaitable_backport.get_include()


def build(name, out_dir, source=None):
    """Compile the extension module <name> into out_dir; return out_dir.

    The sources are <source> if given, else tests/ext/<name>.c, or every
    .c file in tests/ext/<name>/ (an extension of several translation
    units)."""
    if source is not None:
        sources = [pathlib.Path(source)]
    elif (HERE / "ext" / name).is_dir():
        sources = sorted((HERE / "ext" / name).glob("*.c"))
    else:
        sources = [HERE / "ext" / f"{name}.c"]
    include = pyawaitable_include()
    header = pathlib.Path(include, "pyawaitable.h")
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources)
                            + header.read_bytes()
                            + sys.version.encode()
                            # A rebuilt interpreter lives elsewhere.
                            + sysconfig.get_paths()["include"].encode()
                            ).hexdigest()[:16]
    out_dir = pathlib.Path(out_dir)
    target = out_dir / (name + sysconfig.get_config_var("EXT_SUFFIX"))
    stamp = out_dir / f"{name}.stamp"
    if target.exists() and stamp.exists() and stamp.read_text() == digest:
        return out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    cc = shlex.split(sysconfig.get_config_var("CC") or "cc")
    cmd = [*cc, "-shared", "-fPIC", "-O1", "-g", *WARNINGS, *sanitizer_flags(),
           "-I", sysconfig.get_paths()["include"], "-I", include,
           *map(str, sources), "-o", str(target)]
    subprocess.run(cmd, check=True)
    stamp.write_text(digest)
    return out_dir


EXTENSIONS = ["_testawaitable", "_compat2x", "_testasync", "_testalloc"]


if __name__ == "__main__":
    for out in sys.argv[1:] or [os.getcwd()]:
        for name in EXTENSIONS:
            print(build(name, out))
