"""Awaitables in several threads: the guarantees of the PEP's "Thread
safety" section.

Every test runs on every interpreter.  On free-threaded builds the threads
run in parallel; with a GIL they interleave at its switch interval, which
the tests shorten so that they switch often.  The race tests force the
collision they need with events instead of relying on timing.

Only C callbacks run in other threads (trampoline, chain, the METH_ASYNC
functions of _testasync): the Python handlers of harness.py belong to one
test in one thread.
"""

import asyncio
import gc
import os
import sys
import threading
import types
import weakref

import pytest

import _testasync
import _testawaitable as ext
from harness import run, run_threads

NTHREADS = 8
# Awaitables per thread and per kind (below); --deep makes them many more.
DEEP = bool(os.environ.get("PYAWAITABLE_FUZZ_DEEP"))
PER_THREAD = 20_000 if DEEP else 1000
# A debug build is several times slower, and in refleak mode runs each test
# 7 times.
if hasattr(sys, "gettotalrefcount") and not DEEP:
    PER_THREAD = 100
TIMEOUT = 60  # seconds; only reached if something hangs

ALREADY_EXECUTING = r"^awaitable already executing$"
FINISHED = r"^cannot reuse already awaited awaitable$"


@pytest.fixture(autouse=True)
def switch_often():
    # With a GIL, threads otherwise run 5 ms slices: switch far more often
    # so that they interleave inside the awaitables' code.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


async def twice(x):
    # Suspends, so that the event loop runs other tasks (and, with a GIL,
    # other threads) in the middle of every awaitable.
    await asyncio.sleep(0)
    return 2 * x


# ---------------------------------------------------------------------------
# Many threads, each with its own event loop and its own awaitables
# ---------------------------------------------------------------------------

class TestEventLoopPerThread:

    def test_many_awaitables_in_many_loops(self):
        # 8 threads, each running an event loop with PER_THREAD tasks of
        # each kind at once; every result is checked, and every awaitable
        # must be gone once its loop is.
        all_refs = [None] * NTHREADS

        def worker(k):
            refs = []

            def track(aw):
                refs.append(weakref.ref(aw))
                return aw

            async def one(i):
                x = k * PER_THREAD + i
                # The trampoline: one AddAwait and a C callback.
                got = await track(ext.trampoline(twice(x)))
                assert got == 2 * x, (k, i, got)
                # A queue refilled by its callbacks (AddExpr, values).
                got = await track(ext.chain(3, lambda: twice(x)))
                assert got == 3, (k, i, got)
                # A result set before the awaitable runs.
                got = await track(ext.value(x))
                assert got == x, (k, i, got)
                # METH_ASYNC: the interpreter (or the backport) creates the
                # awaitable.
                got = await _testasync.hello(twice(x))
                assert got == f"Hello, {2 * x}!", (k, i, got)
                got = await _testasync.echo(x)
                assert got == x, (k, i, got)
                return x

            async def main():
                results = await asyncio.gather(
                    *(one(i) for i in range(PER_THREAD)))
                assert results == [k * PER_THREAD + i
                                   for i in range(PER_THREAD)]

            asyncio.run(main())
            all_refs[k] = refs

        run_threads([lambda k=k: worker(k) for k in range(NTHREADS)])
        gc.collect()
        refs = [ref for refs in all_refs for ref in refs]
        assert len(refs) == NTHREADS * PER_THREAD * 3
        assert [ref for ref in refs if ref() is not None] == []

    def test_one_loop_per_thread_shares_functions(self):
        # The METH_ASYNC functions and a method descriptor are shared by
        # every thread; each call gets an awaitable of its own.
        widget = _testasync.Widget()

        def worker(k):
            async def main():
                for i in range(PER_THREAD):
                    value = (k, i)
                    got = await _testasync.then_await(None, twice(i))
                    assert got == 2 * i, (value, got)
                    got = await widget.echo(value)
                    assert got == value
                    got = await widget.o(value)
                    assert got == ("o", widget, value, None)

            asyncio.run(main())

        run_threads([lambda k=k: worker(k) for k in range(NTHREADS)])


# ---------------------------------------------------------------------------
# Two threads racing to drive one awaitable
# ---------------------------------------------------------------------------

class TestRaceToDrive:

    def test_second_driver_gets_value_error(self):
        # Thread A is inside the awaitable (the coroutine it awaits is
        # blocked); every way of driving it from this thread fails as a
        # running coroutine's would, and nothing is corrupted: once A is
        # out, the awaitable goes on from here.
        entered = threading.Event()
        release = threading.Event()

        @types.coroutine
        def blocks():
            entered.set()
            assert release.wait(TIMEOUT)
            yield "suspended"
            return "done"

        aw = ext.trampoline(blocks())
        yielded = []
        thread = threading.Thread(target=lambda: yielded.append(aw.send(None)))
        thread.start()
        try:
            assert entered.wait(TIMEOUT)
            with pytest.raises(ValueError, match=ALREADY_EXECUTING):
                aw.send(None)
            with pytest.raises(ValueError, match=ALREADY_EXECUTING):
                next(aw)
            with pytest.raises(ValueError, match=ALREADY_EXECUTING):
                aw.throw(KeyError("thrown"))
            with pytest.raises(ValueError, match=ALREADY_EXECUTING):
                aw.close()
            with pytest.raises(ValueError, match=ALREADY_EXECUTING):
                ext.send(aw, None)  # am_send
        finally:
            release.set()
            thread.join(TIMEOUT)
        assert yielded == ["suspended"]
        assert run(aw) == "done"
        with pytest.raises(RuntimeError, match=FINISHED):
            aw.send(None)

    def test_same_as_a_coroutine(self):
        # What the awaitable raises is what a coroutine raises in the same
        # situation, apart from the name.
        entered = threading.Event()
        release = threading.Event()

        @types.coroutine
        def blocks():
            entered.set()
            assert release.wait(TIMEOUT)
            yield

        async def coro():
            await blocks()

        c = coro()
        thread = threading.Thread(target=c.send, args=(None,))
        thread.start()
        try:
            assert entered.wait(TIMEOUT)
            with pytest.raises(ValueError,
                               match=r"^coroutine already executing$"):
                c.send(None)
        finally:
            release.set()
            thread.join(TIMEOUT)
        c.close()

    def test_calls_while_running_elsewhere(self):
        # The other functions may be called while another thread runs the
        # awaitable: an item added now runs after the ones queued, a value
        # saved now is there, the result set now is returned.
        entered = threading.Event()
        release = threading.Event()
        log = []

        @types.coroutine
        def blocks():
            entered.set()
            assert release.wait(TIMEOUT)
            yield
            log.append("first")
            return "first"

        async def second():
            log.append("second")

        aw = ext.trampoline(blocks())
        thread = threading.Thread(target=aw.send, args=(None,))
        thread.start()
        try:
            assert entered.wait(TIMEOUT)
            ext.add_await(aw, second())
            ext.save_values(aw, "saved")
            assert ext.get_value(aw, 0) == "saved"
        finally:
            release.set()
            thread.join(TIMEOUT)
        # The trampoline's callback sets "first" as the result when its
        # item ends; the added item runs after it.
        assert run(aw) == "first"
        assert log == ["first", "second"]

    def test_threads_race_to_step(self):
        # NTHREADS threads step one awaitable as fast as they can, through
        # send(), __next__ and am_send: each value is yielded to exactly
        # one of them, each sees its values in order, one gets the result,
        # and the losers of a race get ValueError, never anything else.
        nsteps = PER_THREAD * 10

        @types.coroutine
        def steps():
            for i in range(nsteps):
                yield i
            return "done"

        aw = ext.trampoline(steps())
        barrier = threading.Barrier(NTHREADS)
        seen = [None] * NTHREADS
        returned = []

        def driver(k):
            mine = []
            barrier.wait(TIMEOUT)
            while True:
                how = len(mine) % 3
                try:
                    if how == 0:
                        mine.append(aw.send(None))
                    elif how == 1:
                        mine.append(next(aw))
                    else:
                        status, value = ext.send(aw, None)
                        if status == "return":
                            returned.append(value)
                            break
                        mine.append(value)
                except ValueError as exc:
                    assert str(exc) == "awaitable already executing"
                except StopIteration as stop:
                    returned.append(stop.value)
                    break
                except RuntimeError as exc:
                    # Another thread got the result first.
                    assert str(exc) == "cannot reuse already awaited awaitable"
                    break
            seen[k] = mine

        run_threads([lambda k=k: driver(k) for k in range(NTHREADS)])
        assert returned == ["done"]
        for mine in seen:
            assert mine == sorted(mine)
        assert sorted(v for mine in seen for v in mine) == list(range(nsteps))


# ---------------------------------------------------------------------------
# Adding to one awaitable from several threads
# ---------------------------------------------------------------------------

def test_concurrent_add_await_loses_nothing():
    # Each thread queues its own items on one awaitable; none is lost, and
    # each thread's items run in the order it added them.
    aw = ext.new()
    log = []
    barrier = threading.Barrier(NTHREADS)

    async def record(item):
        log.append(item)

    def adder(k):
        barrier.wait(TIMEOUT)
        for i in range(PER_THREAD):
            ext.add_await(aw, record((k, i)))

    run_threads([lambda k=k: adder(k) for k in range(NTHREADS)])
    assert run(aw) is None
    assert sorted(log) == [(k, i) for k in range(NTHREADS)
                           for i in range(PER_THREAD)]
    for k in range(NTHREADS):
        assert [i for t, i in log if t == k] == list(range(PER_THREAD))
