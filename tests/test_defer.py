"""PyAwaitable_DeferAwait: a callback that runs when the queue reaches it."""

import asyncio
import gc

import pytest

import _testawaitable as ext
from harness import add_await, defer_await, run


async def returns(value):
    return value


async def suspends(value):
    await asyncio.sleep(0)
    return value


def logging(log, name):
    def on_result(aw, value):
        log.append((name, value))
    return on_result


class TestOrder:
    def test_runs_in_order_with_awaits(self):
        log = []
        aw = ext.new()
        add_await(aw, suspends(1), logging(log, "first"))
        defer_await(aw, lambda aw: log.append("defer"))
        add_await(aw, returns(2), logging(log, "second"))
        run(aw)
        assert log == [("first", 1), "defer", ("second", 2)]

    def test_runs_only_when_reached(self):
        log = []
        aw = ext.new()
        defer_await(aw, lambda aw: log.append("defer"))
        assert log == []
        run(aw)
        assert log == ["defer"]

    def test_added_awaits_run_after_it_in_queue_order(self):
        log = []

        def defer(aw):
            log.append("defer")
            add_await(aw, suspends("added"), logging(log, "added"))

        aw = ext.new()
        defer_await(aw, defer)
        add_await(aw, returns("queued"), logging(log, "queued"))
        run(aw)
        assert log == ["defer", ("queued", "queued"), ("added", "added")]

    def test_defers_can_chain(self):
        log = []

        def defer(n):
            def callback(aw):
                log.append(n)
                if n < 3:
                    defer_await(aw, defer(n + 1))
            return callback

        aw = ext.new()
        defer_await(aw, defer(0))
        run(aw)
        assert log == [0, 1, 2, 3]

    def test_sets_the_result(self):
        aw = ext.new()
        defer_await(aw, lambda aw: ext.set_result(aw, (1, 2)))
        assert run(aw) == (1, 2)

    def test_under_an_event_loop(self):
        log = []

        async def main():
            aw = ext.new()
            add_await(aw, suspends(1), logging(log, "a"))
            defer_await(aw, lambda aw: add_await(aw, suspends(2),
                                                  logging(log, "b")))
            return await aw

        assert asyncio.run(main()) is None
        assert log == [("a", 1), ("b", 2)]


class TestErrors:
    @pytest.mark.parametrize("code", [-1, -2])
    def test_negative_propagates(self, code):
        log = []
        pending = suspends(3)
        aw = ext.new()
        add_await(aw, returns(1), on_error=lambda aw, e: log.append("error cb"))
        defer_await(aw, lambda aw: (code, LookupError("deferred")))
        add_await(aw, pending, logging(log, "after"))
        with pytest.raises(LookupError, match="deferred"):
            run(aw)
        assert log == []
        assert pending.cr_frame is None  # closed, so it does not warn

    def test_raising_handler_propagates(self):
        def defer(aw):
            raise KeyError("k")

        aw = ext.new()
        defer_await(aw, defer)
        with pytest.raises(KeyError):
            run(aw)

    @pytest.mark.parametrize("ret, message", [
        ((0, ValueError("stray")), "returned 0 with an exception set"),
        (-1, "returned an error without setting an exception"),
        (-2, "returned an error without setting an exception"),
        (5, "returned a value other than 0, -1 or -2"),
    ])
    def test_protocol_violation_is_system_error(self, ret, message):
        aw = ext.new()
        defer_await(aw, lambda aw: ret)
        with pytest.raises(SystemError, match=message):
            run(aw)

    def test_null_callback(self):
        aw = ext.new()
        with pytest.raises(ValueError, match="PyAwaitable_DeferAwait: cb is NULL"):
            ext.defer_await(aw, -1)

    def test_finished_awaitable(self):
        aw = ext.new()
        run(aw)
        with pytest.raises(RuntimeError,
                           match="PyAwaitable_DeferAwait: the awaitable has already finished"):
            defer_await(aw, lambda aw: 0)

    def test_unrun_defer_does_not_warn(self):
        aw = ext.new()
        defer_await(aw, lambda aw: 0)
        ext.cancel(aw)
        del aw
        gc.collect()  # filterwarnings=error: a warning would fail here


class TestCancel:
    def test_cancel_then_add_await_runs_the_new_item(self):
        log = []
        dropped = suspends("dropped")

        def defer(aw):
            ext.cancel(aw)
            add_await(aw, returns("new"), logging(log, "new"))

        aw = ext.new()
        defer_await(aw, defer)
        add_await(aw, dropped, logging(log, "dropped"))
        run(aw)
        assert log == [("new", "new")]
        assert dropped.cr_frame is None

    def test_cancel_keeps_a_pending_exception(self):
        # Called with an exception set (a failing C function cancelling its
        # awaitable), Cancel closes the dropped items and leaves that
        # exception set, as it found it.
        dropped = [suspends("dropped"), ext.trampoline(suspends("nested"))]
        aw = ext.new()
        for item in dropped:
            add_await(aw, item)
        pending = KeyError("pending")
        with pytest.raises(KeyError) as info:
            ext.cancel_with_error_set(aw, pending)
        assert info.value is pending
        assert dropped[0].cr_frame is None
        with pytest.raises(RuntimeError, match="cannot reuse"):
            dropped[1].send(None)  # closed too
        assert run(aw) is None

    def test_cancel_in_result_callback_then_add_await(self):
        log = []
        dropped = [suspends(i) for i in range(3)]

        def on_result(aw, value):
            ext.cancel(aw)
            add_await(aw, suspends("new"), logging(log, "new"))

        aw = ext.new()
        add_await(aw, suspends(0), on_result)
        for coro in dropped:
            add_await(aw, coro, logging(log, "dropped"))
        ext.set_result(aw, "result")
        assert run(aw) == "result"
        assert log == [("new", "new")]
        assert all(coro.cr_frame is None for coro in dropped)
