import asyncio

import pytest

import greet


async def name():
    await asyncio.sleep(0)
    return "world"


async def lookup(table, key):
    await asyncio.sleep(0)
    return table[key]


def test_hello():
    assert asyncio.run(greet.hello(name())) == "Hello, world!"


def test_get_or_found():
    fetch = lambda: lookup({"a": 1}, "a")  # noqa: E731
    assert asyncio.run(greet.get_or(fetch, 0)) == 1


def test_get_or_default():
    fetch = lambda: lookup({}, "a")  # noqa: E731
    assert asyncio.run(greet.get_or(fetch, 0)) == 0


def test_get_or_reraises_other_errors():
    fetch = lambda: lookup(None, "a")  # noqa: E731
    with pytest.raises(TypeError):
        asyncio.run(greet.get_or(fetch, 0))
