"""Code written for pyawaitable 2.x runs unchanged on the backport.

_compat2x (tests/ext/_compat2x/) is written in the style of pyawaitable
2.x's documentation and tests, in two translation units, one of which
never calls PyAwaitable_Init().
"""

import asyncio
import contextlib

import pytest

import _compat2x as compat


async def returns(value):
    await asyncio.sleep(0)
    return value


async def raises(exc):
    await asyncio.sleep(0)
    raise exc


def test_saved_values_in_callback():
    assert asyncio.run(compat.multiply_async(3, returns(4))) == 12
    assert asyncio.run(compat.multiply_async("ab", returns(2))) == "abab"


def test_error_callback():
    assert asyncio.run(compat.is_reachable(lambda: returns(None))) is True
    assert asyncio.run(compat.is_reachable(
        lambda: raises(TimeoutError()))) is False
    with pytest.raises(KeyError):
        asyncio.run(compat.is_reachable(lambda: raises(KeyError("k"))))


def test_arbitrary_values_with_null_and_skipped_slots():
    assert compat.arbitrary_values() is True


def test_tuple_result_is_not_unpacked():
    # pyawaitable 2.0.1 returned 1 here.
    assert asyncio.run(compat.multiply_async(1, returns((1, 2)))) == (1, 2)


def test_second_translation_unit_without_init():
    assert asyncio.run(compat.deferred(lambda: returns("later"))) == "later"


def test_async_with_body_gets_the_value():
    log = []

    @contextlib.asynccontextmanager
    async def ctx():
        log.append("enter")
        yield 21
        log.append("exit")

    async def double(value):
        return value * 2

    assert asyncio.run(compat.with_context(ctx(), double)) == 42
    assert log == ["enter", "exit"]


def test_async_with_does_not_swallow_errors():
    # pyawaitable 2.0.1 swallowed this whatever __aexit__ returned.
    @contextlib.asynccontextmanager
    async def ctx():
        yield None

    async def fail(value):
        raise LookupError("body")

    with pytest.raises(LookupError, match="body"):
        asyncio.run(compat.with_context(ctx(), fail))


def test_1x_spellings():
    assert asyncio.run(compat.legacy(returns("old"))) == "old"
