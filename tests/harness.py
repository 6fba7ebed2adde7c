"""Python handlers for the C callbacks of _testawaitable.

A test queues an item with Python handlers::

    add_await(aw, coro, on_result=lambda aw, value: 0)

and the C callback in that item's slot calls the handler.  A handler
returns the callback's return code, or ``(code, exception)`` to return code
with that exception set, or raises (the callback returns -1 with the
exception set).
"""

import importlib
import os
import threading
import types
import weakref

import pytest

import _testawaitable as ext

_handlers = weakref.WeakKeyDictionary()


RESULT, ERROR, DEFER = range(3)


def _dispatch(aw, slot, kind, value):
    on_result, on_error = _handlers[aw][slot]
    if kind == DEFER:
        ret = on_result(aw)
    else:
        ret = (on_error if kind == ERROR else on_result)(aw, value)
    return 0 if ret is None else ret


ext.set_dispatcher(_dispatch)


def _add(add, aw, coro, on_result, on_error):
    slots = _handlers.setdefault(aw, [])
    slot = len(slots)
    slots.append((on_result, on_error))
    add(aw, coro,
        slot if on_result is not None else -1,
        slot if on_error is not None else -1)


def forget_handlers():
    """Drop every awaitable's handlers (the suite does it after each test)."""
    _handlers.clear()


def add_await(aw, coro, on_result=None, on_error=None):
    """PyAwaitable_AddAwait with Python handlers."""
    _add(ext.add_await, aw, coro, on_result, on_error)


def add_expr(aw, expr, on_result=None, on_error=None):
    """PyAwaitable_AddExpr; an exception instance stands for a NULL expr."""
    _add(ext.add_expr, aw, expr, on_result, on_error)


def defer_await(aw, handler):
    """PyAwaitable_DeferAwait with a Python handler(aw) -> code."""
    slots = _handlers.setdefault(aw, [])
    slots.append((handler, None))
    ext.defer_await(aw, len(slots) - 1)


def async_with(aw, ctx, body=None, on_error=None):
    """PyAwaitable_AsyncWith with Python handlers: body(aw, value) and
    on_error(aw, exc)."""
    _add(ext.async_with, aw, ctx, body, on_error)


def run(aw):
    """Drive an awaitable by hand (no event loop); return its result.

    Each value it yields is sent back in, like a trivial scheduler.
    """
    value = None
    while True:
        try:
            value = aw.send(value)
        except StopIteration as stop:
            return stop.value


def require(module):
    """Import an optional test dependency.

    tools/test installs every one of them and sets PYAWAITABLE_REQUIRE_ALL,
    so there a missing dependency fails instead of skipping.
    """
    if os.environ.get("PYAWAITABLE_REQUIRE_ALL"):
        return importlib.import_module(module)
    return pytest.importorskip(module)


@types.coroutine
def guarded(log, *unused):
    """Suspends once; appends "finally" to log when finished or closed.

    Extra arguments are kept alive by the frame (for reference cycles).
    """
    try:
        yield
    finally:
        log.append("finally")


def run_threads(targets, timeout=60):
    """Start a thread per target, wait for all (timeout, in seconds, is only
    reached if something hangs); re-raise the first error."""
    errors = []

    def wrap(target):
        def run_target():
            try:
                target()
            except BaseException as exc:
                errors.append(exc)
        return run_target

    threads = [threading.Thread(target=wrap(t)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        assert not thread.is_alive(), "a thread hung"
    if errors:
        raise errors[0]
