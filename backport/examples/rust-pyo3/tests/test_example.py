"""The Rust API example under asyncio and trio."""

import asyncio
import gc

import pytest
import trio

import pyawaitable_backport
import rust_pyo3_example as ex


async def sleep(backend):
    if backend == "asyncio":
        await asyncio.sleep(0)
    else:
        await trio.sleep(0)


def run(backend, main):
    if backend == "asyncio":
        return asyncio.run(main())
    return trio.run(main)


@pytest.fixture(params=["asyncio", "trio"])
def backend(request):
    return request.param


def test_the_awaitables_are_the_runtimes():
    coro = sleep("asyncio")
    aw = ex.double(coro)
    assert type(aw) is pyawaitable_backport.awaitable
    aw.close()
    coro.close()


def test_double(backend):
    async def fetch():
        await sleep(backend)
        return 21

    async def main():
        return await ex.double(fetch())

    assert run(backend, main) == 42


def test_fetch_then_store(backend):
    stored = {}

    async def fetch(key):
        await sleep(backend)
        return f"value of {key}"

    async def store(key, value):
        await sleep(backend)
        stored[key] = value
        return True

    async def main():
        return await ex.fetch_then_store(fetch, store, "k")

    assert run(backend, main) == ("k", "VALUE OF K", True)
    assert stored == {"k": "VALUE OF K"}


def test_or_default(backend):
    async def fail(exc):
        await sleep(backend)
        raise exc

    async def main():
        assert await ex.or_default(fail(KeyError("k")), "default", LookupError) == "default"
        assert await ex.or_default(sleep(backend), "default", LookupError) is None
        with pytest.raises(ValueError) as info:
            await ex.or_default(fail(ValueError("v")), "default", LookupError)
        return info.value

    exc = run(backend, main)
    assert str(exc) == "v" and exc.__context__ is None


def test_passthrough(backend):
    async def value():
        await sleep(backend)
        return "x"

    async def main():
        return [await ex.passthrough(value()), await ex.passthrough_capturing(value())]

    assert run(backend, main) == ["x", "x"]


def test_panic_is_an_exception(backend):
    async def main():
        await ex.panics(sleep(backend))

    with pytest.raises(BaseException, match="callback panicked on purpose") as info:
        run(backend, main)
    assert type(info.value).__name__ == "PanicException"


def make_lock(backend):
    return asyncio.Lock() if backend == "asyncio" else trio.Lock()


def test_locked_holds_the_lock_while_the_coroutine_runs(backend):
    async def work(lock):
        await sleep(backend)
        return lock.locked()

    async def fail(lock):
        await sleep(backend)
        raise KeyError(lock.locked())

    async def main():
        lock = make_lock(backend)
        held = await ex.locked(lock, work(lock))
        with pytest.raises(KeyError) as info:
            await ex.locked(lock, fail(lock))
        return held, info.value.args, lock.locked()

    # Held inside the block, released after it, also when it raised.
    assert run(backend, main) == (True, (True,), False)


class Transaction:
    def __init__(self, backend, error):
        self.backend, self.error, self.log = backend, error, []

    async def __aenter__(self):
        await sleep(self.backend)
        self.log.append("begin")
        return self

    async def __aexit__(self, exc_type, exc, tb):
        await sleep(self.backend)
        self.log.append("rollback" if exc else "commit")

    async def fail(self):
        await sleep(self.backend)
        raise self.error


def test_rolled_back_error_closure(backend):
    async def main():
        swallowed = Transaction(backend, KeyError("k"))
        result = await ex.rolled_back(swallowed, LookupError)
        passed_on = Transaction(backend, ValueError("v"))
        with pytest.raises(ValueError):
            await ex.rolled_back(passed_on, LookupError)
        return result, swallowed.log, passed_on.log

    result, swallowed, passed_on = run(backend, main)
    assert result == "KeyError('k')"
    assert swallowed == passed_on == ["begin", "rollback"]


def test_cancellation_reaches_the_coroutine():
    cleaned = []

    async def forever():
        try:
            await asyncio.sleep(3600)
        finally:
            cleaned.append(True)

    async def main():
        task = asyncio.ensure_future(ex.passthrough_capturing(forever()))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert cleaned == [True]


def test_trio_cancellation_reaches_the_coroutine():
    cleaned = []

    async def forever():
        try:
            await trio.sleep_forever()
        finally:
            cleaned.append(True)

    async def main():
        with trio.move_on_after(0.01):
            await ex.double(forever())

    trio.run(main)
    assert cleaned == [True]


def test_closures_are_freed_with_an_unawaited_awaitable():
    import weakref

    class Key(str):
        pass

    async def fetch(key):
        return key

    async def store(key, value):
        return True

    key = Key("k")
    ref = weakref.ref(key)
    coro_fn = fetch
    with pytest.warns(RuntimeWarning, match="never awaited"):
        aw = ex.fetch_then_store(coro_fn, store, key)
        del key, aw
        gc.collect()
    assert ref() is None
