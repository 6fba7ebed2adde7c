"""Types of the PyAwaitable backport's runtime (implemented in Rust).

None of them can be created from Python: C code creates awaitables with
PyAwaitable_New() (or gets one from a METH_ASYNC call), and
PyAwaitable_AddFunctions() / PyAwaitable_AddMethods() create the async
functions and method descriptors.

``awaitable`` is generic here so that the stubs of a C extension can say
what awaiting its functions gives (``def fetch() -> awaitable[bytes]: ...``);
the runtime type cannot be subscripted, so outside stubs write such
annotations as strings or under ``from __future__ import annotations``.
"""

import inspect
from collections.abc import Coroutine, Generator
from types import TracebackType
from typing import Any, Generic, TypeVar, final, overload

_T_co = TypeVar("_T_co", covariant=True)

@final
class awaitable(Coroutine[Any, Any, _T_co], Generic[_T_co]):
    """A coroutine created by PyAwaitable_New().

    Awaiting it awaits the items queued on it, in order, and calls their C
    callbacks; its value is the result set with PyAwaitable_SetResult().
    """

    def __await__(self) -> Generator[Any, None, _T_co]: ...
    def __next__(self) -> Any: ...
    def send(self, arg: Any, /) -> Any: ...
    @overload
    def throw(
        self,
        typ: type[BaseException],
        val: BaseException | object = ...,
        tb: TracebackType | None = ...,
        /,
    ) -> Any: ...
    @overload
    def throw(
        self,
        typ: BaseException,
        val: None = ...,
        tb: TracebackType | None = ...,
        /,
    ) -> Any: ...
    def close(self) -> None: ...
    def __del__(self) -> None: ...

@final
class async_function:
    """A METH_ASYNC function or bound method: calling it returns an awaitable."""

    @property
    def __name__(self) -> str: ...
    @property
    def __qualname__(self) -> str: ...
    @property
    def __text_signature__(self) -> str | None: ...
    @property
    def __self__(self) -> object: ...
    @property
    def __signature__(self) -> inspect.Signature | None: ...
    def __call__(self, *args: Any, **kwargs: Any) -> awaitable[Any]: ...

@final
class async_method_descriptor:
    """A METH_ASYNC method of a type; binds to instances as an async_function."""

    @property
    def __name__(self) -> str: ...
    @property
    def __qualname__(self) -> str: ...
    @property
    def __text_signature__(self) -> str | None: ...
    @property
    def __objclass__(self) -> type: ...
    def __get__(self, instance: object, owner: type | None = None, /) -> Any: ...
    def __call__(self, *args: Any, **kwargs: Any) -> awaitable[Any]: ...

@final
class async_classmethod_descriptor:
    """A METH_ASYNC | METH_CLASS method; binds to the class as an async_function."""

    @property
    def __name__(self) -> str: ...
    @property
    def __qualname__(self) -> str: ...
    @property
    def __text_signature__(self) -> str | None: ...
    @property
    def __objclass__(self) -> type: ...
    def __get__(self, instance: object, owner: type | None = None, /) -> Any: ...
    def __call__(self, *args: Any, **kwargs: Any) -> awaitable[Any]: ...
