"""The raw pyo3-ffi example under asyncio and trio."""

import asyncio
import gc
import inspect
import weakref

import pytest
import trio

import pyawaitable_backport
import rust_ffi_example as ex


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


async def later(backend, value):
    await sleep(backend)
    return value


def test_scaled(backend):
    async def main():
        return await ex.scaled(later(backend, 21), 2), await ex.scaled(later(backend, "ab"), 3)

    assert run(backend, main) == (42, "ababab")


def test_scaled_checks_its_arguments():
    with pytest.raises(TypeError, match=r"scaled\(\) takes exactly 2 arguments \(1 given\)"):
        ex.scaled(None)
    with pytest.raises(TypeError, match="can't be used in 'await' expression"):
        ex.scaled(1, 2)
    assert inspect.signature(ex.scaled).parameters.keys() == {"coro", "factor"}


def test_a_failing_multiplication_propagates(backend):
    async def main():
        with pytest.raises(TypeError, match="can't multiply"):
            await ex.scaled(later(backend, "a"), "b")

    run(backend, main)


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

    assert run(backend, main) == (True, (True,), False)


def test_add_all_is_an_async_function(backend):
    async def main():
        return (
            await ex.add_all(later(backend, 1), later(backend, 2), later(backend, 39)),
            await ex.add_all(),
        )

    assert run(backend, main) == (42, 0)
    assert asyncio.iscoroutinefunction(ex.add_all)
    assert ex.add_all.__name__ == "add_all"
    assert "Await each argument" in ex.add_all.__doc__


def test_the_awaitables_are_the_runtimes():
    aw = ex.add_all()
    assert type(aw) is pyawaitable_backport.awaitable
    aw.close()


def test_passthrough(backend):
    async def main():
        return await ex.passthrough(later(backend, "x"))

    assert run(backend, main) == "x"


def test_panic_is_a_runtime_error(backend):
    async def main():
        await ex.panics(sleep(backend))

    with pytest.raises(RuntimeError, match="a Rust callback panicked: callback panicked on purpose"):
        run(backend, main)


def test_cancellation_reaches_the_coroutine():
    cleaned = []

    async def forever():
        try:
            await asyncio.sleep(3600)
        finally:
            cleaned.append(True)

    async def main():
        task = asyncio.ensure_future(ex.scaled(forever(), 2))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert cleaned == [True]


def test_a_captured_reference_is_freed_with_an_unawaited_awaitable():
    class Factor:
        def __rmul__(self, other):
            return other

    factor = Factor()
    ref = weakref.ref(factor)
    with pytest.warns(RuntimeWarning, match="never awaited"):
        aw = ex.scaled(later("asyncio", 1), factor)
        del factor, aw
        gc.collect()
    assert ref() is None
