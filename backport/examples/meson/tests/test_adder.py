import asyncio
import inspect

import adder


async def number(n):
    await asyncio.sleep(0)
    return n


def test_add_all():
    assert asyncio.run(adder.add_all(number(1), number(2), number(39))) == 42


def test_add_nothing():
    assert asyncio.run(adder.add_all()) == 0


def test_is_an_async_function():
    assert asyncio.iscoroutinefunction(adder.add_all)
    assert str(inspect.signature(adder.add_all)) == "(*awaitables)"
