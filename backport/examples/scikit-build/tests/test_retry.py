import asyncio

import pytest

import retry


def flaky(failures):
    """A factory whose first `failures` coroutines raise ConnectionError."""
    calls = []

    async def connect():
        calls.append(None)
        await asyncio.sleep(0)
        if len(calls) <= failures:
            raise ConnectionError(len(calls))
        return len(calls)

    return connect, calls


def test_succeeds_after_failures():
    connect, calls = flaky(2)
    assert asyncio.run(retry.retry(connect, 3)) == 3
    assert len(calls) == 3


def test_reraises_the_last_error():
    connect, calls = flaky(5)
    with pytest.raises(ConnectionError, match="^3$"):
        asyncio.run(retry.retry(connect, 3))
    assert len(calls) == 3


def test_bad_attempts_raise_at_call_time():
    with pytest.raises(ValueError):
        retry.retry(None, 0)
