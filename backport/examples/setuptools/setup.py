from setuptools import Extension, setup

import pyawaitable_backport

setup(
    ext_modules=[
        Extension(
            "greet",
            ["greet.c"],
            include_dirs=[pyawaitable_backport.get_include()],
        ),
    ],
)
