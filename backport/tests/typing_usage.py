"""Checked with mypy --strict by tools/test: the stubs describe what a user
of the package writes."""

from typing import TYPE_CHECKING

import pyawaitable_backport
from pyawaitable_backport import awaitable

include: str = pyawaitable_backport.get_include()
cmake_dir: str = pyawaitable_backport.get_cmake_dir()
pkgconfig_dir: str = pyawaitable_backport.get_pkgconfig_dir()


async def value_of(aw: "awaitable[int]") -> int:
    # Awaiting an awaitable[T] gives a T.
    return await aw


def is_awaitable(obj: object) -> bool:
    return isinstance(obj, awaitable)


if TYPE_CHECKING:
    from collections.abc import Coroutine
    from typing import Any

    def as_coroutine(aw: "awaitable[str]") -> "Coroutine[Any, Any, str]":
        return aw
