from setuptools import Extension, setup

import pyawaitable_backport

setup(
    ext_modules=[
        Extension(
            "casgi",
            ["casgi.c"],
            include_dirs=[pyawaitable_backport.get_include()],
            # Warnings are errors here: the example should build cleanly.
            extra_compile_args=["-Wall", "-Wextra", "-Werror",
                                "-Wno-unused-parameter",
                                "-Wno-missing-field-initializers",
                                "-Wno-cast-function-type"],
        ),
    ],
)
