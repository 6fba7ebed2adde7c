"""The sanitizers are live: on an interpreter built with AddressSanitizer
and UndefinedBehaviorSanitizer (tools/build-cpython --variant asan), a
deliberate bug in code built the way the test extensions and the backport
are built is reported.  Without these, a sanitized run with no reports
would prove nothing: flags that never reached the compiler, or a runtime
that never loaded, look the same as clean code.

Everywhere else the module is skipped.
"""

import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig
import textwrap

import pytest

import build

pytestmark = pytest.mark.skipif(
    "--with-address-sanitizer" not in (sysconfig.get_config_var("CONFIG_ARGS") or ""),
    reason="the interpreter is not built with AddressSanitizer")

PROBE_C = textwrap.dedent("""\
    #include <Python.h>
    #include <limits.h>

    static PyObject *
    use_after_free(PyObject *self, PyObject *unused)
    {
        volatile int *p = PyMem_RawMalloc(sizeof(int));
        *p = 1;
        PyMem_RawFree((void *)p);
        return PyLong_FromLong(*p);
    }

    static PyObject *
    signed_overflow(PyObject *self, PyObject *arg)
    {
        int n = (int)PyLong_AsLong(arg);
        return PyLong_FromLong(INT_MAX + n);
    }

    static PyMethodDef methods[] = {
        {"use_after_free", use_after_free, METH_NOARGS, NULL},
        {"signed_overflow", signed_overflow, METH_O, NULL},
        {NULL, NULL, 0, NULL},
    };

    static struct PyModuleDef module = {
        PyModuleDef_HEAD_INIT, "_sanitizer_probe", NULL, 0, methods,
    };

    PyMODINIT_FUNC
    PyInit__sanitizer_probe(void)
    {
        return PyModule_Create(&module);
    }
    """)

PROBE_RS = textwrap.dedent("""\
    #[no_mangle]
    pub extern "C" fn use_after_free() -> i32 {
        let boxed = Box::new(1i32);
        let p: *const i32 = &*boxed;
        drop(boxed);
        unsafe { std::ptr::read_volatile(p) }
    }
    """)

# What tools/test sets, so that any report ends the process.
SANITIZER_ENV = {
    "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1",
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1",
}


def run(code):
    env = {**os.environ, **SANITIZER_ENV}
    return subprocess.run([sys.executable, "-c", code], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    out = tmp_path_factory.mktemp("probe")
    source = out / "_sanitizer_probe.c"
    source.write_text(PROBE_C)
    build.build("_sanitizer_probe", out, source=source)
    return out


def test_extensions_get_the_interpreters_flags():
    flags = build.sanitizer_flags()
    assert any(f.startswith("-fsanitize=") and "address" in f for f in flags), flags
    assert any(f.startswith("-fsanitize=") and "undefined" in f for f in flags), flags


def test_asan_reports_a_use_after_free_in_an_extension(probe):
    result = run(f"import sys; sys.path.insert(0, {str(probe)!r}); "
                 "import _sanitizer_probe; _sanitizer_probe.use_after_free()")
    assert result.returncode != 0
    assert "ERROR: AddressSanitizer: heap-use-after-free" in result.stderr, result.stderr
    assert "_sanitizer_probe" in result.stderr


def test_ubsan_reports_a_signed_overflow_in_an_extension(probe):
    result = run(f"import sys; sys.path.insert(0, {str(probe)!r}); "
                 "import _sanitizer_probe; _sanitizer_probe.signed_overflow(1)")
    assert result.returncode != 0
    assert "runtime error: signed integer overflow" in result.stderr, result.stderr


def test_ubsan_leaves_correct_code_alone(probe):
    result = run(f"import sys; sys.path.insert(0, {str(probe)!r}); "
                 "import _sanitizer_probe; print(_sanitizer_probe.signed_overflow(-1))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(2**31 - 2)


def _backport_library():
    backport = pytest.importorskip("pyawaitable_backport")
    found = [p for p in pathlib.Path(backport.__file__).parent.iterdir()
             if p.name.endswith(".so")]
    assert len(found) == 1, found
    return found[0]


def test_the_backport_is_instrumented():
    """tools/lib.sh builds the backport with -Zsanitizer=address for this
    interpreter: its code calls ASan's checks, which the interpreter
    provides."""
    symbols = subprocess.run(["nm", "-D", "--undefined-only", _backport_library()],
                             capture_output=True, text=True, check=True).stdout
    assert "__asan_report_load8" in symbols
    assert "__asan_init" in symbols


def test_asan_reports_a_use_after_free_in_rust(tmp_path):
    """Rust instrumented as tools/lib.sh instruments the backport (rustc's
    LLVM is newer than clang 14's runtime in the interpreter) is checked."""
    rustc = shutil.which("rustc")
    if rustc is None:
        pytest.skip("no rustc")
    (tmp_path / "probe.rs").write_text(PROBE_RS)
    library = tmp_path / "libprobe.so"
    subprocess.run([rustc, "--crate-type", "cdylib", "-O", "-Zsanitizer=address",
                    "-Cforce-frame-pointers=yes", "probe.rs", "-o", library],
                   cwd=tmp_path, env={**os.environ, "RUSTC_BOOTSTRAP": "1"},
                   check=True)
    result = run(f"import ctypes; ctypes.CDLL({str(library)!r}).use_after_free()")
    assert result.returncode != 0
    assert "ERROR: AddressSanitizer: heap-use-after-free" in result.stderr, result.stderr
    assert "libprobe.so" in result.stderr
