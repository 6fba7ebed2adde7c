"""Build the demo against the installed backport's header."""

from setuptools import Extension, setup

import pyawaitable_backport

setup(
    name="pyawaitable-demo",
    version="0",
    ext_modules=[Extension("demo", ["demo.c"],
                           include_dirs=[pyawaitable_backport.get_include()])],
)
