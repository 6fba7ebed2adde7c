# cython: language_level=3
"""The Cython 3.3.1 peer for tools/bench: the scenarios as Cython
``async def`` (compiled to C coroutines)."""


async def value(v):
    return v


async def trampoline(coro):
    return await coro


async def chain10(f):
    await f()
    await f()
    await f()
    await f()
    await f()
    await f()
    await f()
    await f()
    await f()
    return await f()
