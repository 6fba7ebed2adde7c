"""The installed package: where build systems find the C API, and its typing.

Run by tools/test in the examples venv, where the backport wheel, cmake and
pkg-config are at hand.
"""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from importlib import metadata

import pytest

import pyawaitable_backport

VERSION = metadata.version("pyawaitable-backport")
PACKAGE_DIR = os.path.dirname(pyawaitable_backport.__file__)


def cli(*args):
    return subprocess.run([sys.executable, "-m", "pyawaitable_backport", *args],
                          capture_output=True, text=True)


def same_dir(a, b):
    return os.path.realpath(a) == os.path.realpath(b)


def test_get_include():
    assert os.path.isfile(os.path.join(pyawaitable_backport.get_include(),
                                       "pyawaitable.h"))


@pytest.mark.parametrize("option, expected", [
    ("--include", pyawaitable_backport.get_include()),
    ("--cmake-dir", pyawaitable_backport.get_cmake_dir()),
    ("--pkgconfig-dir", pyawaitable_backport.get_pkgconfig_dir()),
    ("--cflags", "-I" + pyawaitable_backport.get_include()),
    ("--version", VERSION),
])
def test_cli_prints_one_line(option, expected):
    result = cli(option)
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected + "\n"


def test_cli_without_an_option_prints_help():
    result = cli()
    assert result.returncode == 2
    assert "--cmake-dir" in result.stdout


def test_cli_takes_one_option_at_a_time():
    result = cli("--include", "--cflags")
    assert result.returncode == 2
    assert "not allowed with" in result.stderr


def test_cmake_files_are_versioned():
    cmake_dir = pyawaitable_backport.get_cmake_dir()
    assert os.path.isfile(os.path.join(cmake_dir, "pyawaitable_backportConfig.cmake"))
    with open(os.path.join(cmake_dir, "pyawaitable_backportConfigVersion.cmake")) as f:
        assert f'set(PACKAGE_VERSION "{VERSION}")' in f.read()


def test_scikit_build_core_entry_point():
    (entry,) = metadata.entry_points(group="cmake.prefix",
                                     name="pyawaitable_backport")
    assert entry.value == "pyawaitable_backport"


@pytest.fixture
def pkg_config(monkeypatch):
    if shutil.which("pkg-config") is None:
        pytest.skip("pkg-config is not installed")
    monkeypatch.setenv("PKG_CONFIG_PATH", pyawaitable_backport.get_pkgconfig_dir())

    def run(*args):
        return subprocess.run(["pkg-config", *args, "pyawaitable_backport"],
                              check=True, capture_output=True, text=True).stdout.strip()
    return run


def test_pkg_config_cflags(pkg_config):
    flag = pkg_config("--cflags")
    assert flag.startswith("-I")
    assert same_dir(flag[2:], pyawaitable_backport.get_include())


def test_pkg_config_version(pkg_config):
    assert pkg_config("--modversion") == VERSION


def test_pkg_config_compiles(pkg_config, tmp_path):
    """The flags are all a C file needs besides Python's own."""
    source = tmp_path / "use.c"
    source.write_text('#include <Python.h>\n#include "pyawaitable.h"\n'
                      "int use(void) { return PyAwaitable_Init(); }\n")
    cc = (sysconfig.get_config_var("CC") or "cc").split()
    subprocess.run([*cc, "-c", "-Werror", *pkg_config("--cflags").split(),
                    "-I", sysconfig.get_paths()["include"],
                    str(source), "-o", str(tmp_path / "use.o")], check=True)


def configure(tmp_path, find_package):
    """Configure a CMake project (no compiler needed) that finds the package
    through --cmake-dir; return the result."""
    if shutil.which("cmake") is None:
        pytest.skip("cmake is not installed")
    (tmp_path / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.15)\n"
        "project(probe LANGUAGES NONE)\n"
        f"{find_package}\n"
        "get_target_property(dirs pyawaitable_backport::headers"
        " INTERFACE_INCLUDE_DIRECTORIES)\n"
        'message(STATUS "include=${dirs}")\n')
    return subprocess.run(
        ["cmake", "-S", str(tmp_path), "-B", str(tmp_path / "build"),
         f"-Dpyawaitable_backport_DIR={cli('--cmake-dir').stdout.strip()}"],
        capture_output=True, text=True)


def test_cmake_find_package(tmp_path):
    result = configure(tmp_path, "find_package(pyawaitable_backport 0.1 CONFIG REQUIRED)")
    assert result.returncode == 0, result.stderr
    (include,) = re.findall(r"-- include=(.*)", result.stdout)
    assert same_dir(include, pyawaitable_backport.get_include())


def test_cmake_refuses_a_newer_version(tmp_path):
    result = configure(tmp_path, "find_package(pyawaitable_backport 99 CONFIG REQUIRED)")
    assert result.returncode != 0
    assert "pyawaitable_backport" in result.stderr


def test_typed():
    assert os.path.isfile(os.path.join(PACKAGE_DIR, "py.typed"))
    assert os.path.isfile(os.path.join(PACKAGE_DIR, "_runtime.pyi"))
