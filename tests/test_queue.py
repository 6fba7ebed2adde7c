"""Queue order, exact results, accepted items, and how an awaitable ends.

Rules 2, 4, 6 and 9 of the foundation issue.
"""

import asyncio
import types
import warnings

import pytest

import _testawaitable as ext
from harness import add_await, add_expr, run


async def returns(value):
    return value


async def suspends(value):
    await asyncio.sleep(0)
    return value


async def raises(exc):
    raise exc


def record(log, tag):
    def on_result(aw, value):
        log.append((tag, value))
    return on_result


class TestOrder:
    def test_fifo(self):
        log = []
        aw = ext.new()
        for i in range(5):
            add_await(aw, suspends(i), record(log, "r"))
        assert asyncio.run(aw) is None
        assert log == [("r", i) for i in range(5)]

    def test_item_added_in_callback_goes_last(self):
        log = []
        aw = ext.new()

        def first(aw, value):
            log.append(("first", value))
            add_await(aw, returns("added"), record(log, "added"))

        add_await(aw, returns(1), first)
        add_await(aw, returns(2), record(log, "second"))
        run(aw)
        assert log == [("first", 1), ("second", 2), ("added", "added")]

    def test_items_run_lazily(self):
        log = []

        async def noisy(tag):
            log.append(tag)

        aw = ext.new()
        add_await(aw, noisy("a"))
        add_await(aw, noisy("b"))
        assert log == []
        run(aw)
        assert log == ["a", "b"]


class TestResults:
    @pytest.mark.parametrize("value", [
        (1, 2), (), (None,), None, 0, "s", ValueError("instance"),
        StopIteration(3), [1], {"k": 1},
    ], ids=repr)
    def test_result_is_exact_on_every_path(self, value):
        assert asyncio.run(ext.trampoline(suspends(value))) is value
        assert ext.send(ext.value(value), None) == ("return", value)
        with pytest.raises(StopIteration) as info:
            ext.value(value).send(None)
        assert info.value.value is value
        with pytest.raises(StopIteration) as info:
            next(ext.value(value))
        assert info.value.value is value

    def test_default_result_is_none(self):
        aw = ext.new()
        add_await(aw, returns(5))
        assert run(aw) is None
        assert run(ext.new()) is None

    def test_last_set_result_wins(self):
        aw = ext.value("initial")
        add_await(aw, returns(1), lambda aw, v: ext.set_result(aw, v))
        add_await(aw, returns(2))
        add_await(aw, returns(3), lambda aw, v: ext.set_result(aw, v))
        assert run(aw) == 3


class TestItems:
    def test_native_coroutine(self):
        assert run(ext.trampoline(returns("native"))) == "native"

    def test_types_coroutine_generator(self):
        @types.coroutine
        def gen():
            yield
            return "gen"
        assert asyncio.run(ext.trampoline(gen())) == "gen"

    def test_object_with_await(self):
        class Custom:
            def __await__(self):
                yield
                return "custom"
        assert asyncio.run(ext.trampoline(Custom())) == "custom"

    def test_nested_awaitable(self):
        inner = ext.trampoline(suspends("nested"))
        assert asyncio.run(ext.trampoline(inner)) == "nested"

    @pytest.mark.parametrize("obj", [1, "s", [], (x for x in ())],
                             ids=["int", "str", "list", "generator"])
    def test_non_awaitable_rejected_at_add_time(self, obj):
        aw = ext.new()
        with pytest.raises(TypeError, match="PyAwaitable_AddAwait: object .* "
                                            "can't be used in 'await'"):
            ext.add_await(aw, obj)
        with pytest.raises(TypeError, match="PyAwaitable_AddExpr"):
            ext.add_expr(aw, obj)
        assert run(aw) is None

    def test_self_rejected(self):
        aw = ext.new()
        with pytest.raises(ValueError, match="cannot await itself"):
            ext.add_await(aw, aw)
        run(aw)

    def test_null_coro_rejected(self):
        aw = ext.new()
        with pytest.raises(ValueError, match="PyAwaitable_AddAwait: coro is NULL"):
            ext.call_with_null("AddAwait", aw)
        run(aw)

    def test_add_after_completion(self):
        aw = ext.value(1)
        run(aw)
        coro = returns(1)
        with pytest.raises(RuntimeError, match="already finished"):
            ext.add_await(aw, coro)
        coro.close()

    def test_await_returning_non_iterator(self):
        class Bad:
            def __await__(self):
                return 42

        seen = []
        aw = ext.new()
        add_await(aw, Bad(), on_error=lambda aw, e: seen.append(e))
        run(aw)
        assert len(seen) == 1 and isinstance(seen[0], TypeError)
        assert "non-iterator" in str(seen[0])

    def test_await_returning_coroutine(self):
        class Bad:
            def __await__(self):
                return self.coro

        bad = Bad()
        bad.coro = returns(1)
        aw = ext.trampoline(bad)
        with pytest.raises(TypeError, match="returned a coroutine"):
            run(aw)
        bad.coro.close()

    def test_add_expr_steals_and_keeps_callers_exception(self):
        aw = ext.new()
        add_expr(aw, returns("expr"), lambda aw, v: ext.set_result(aw, v))
        with pytest.raises(KeyError, match="from the call"):
            add_expr(aw, KeyError("from the call"))
        assert run(aw) == "expr"


class TestEnding:
    def test_unhandled_error_closes_the_rest(self):
        later = suspends(1)
        aw = ext.new()
        add_await(aw, raises(KeyError("k")))
        add_await(aw, later)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(KeyError):
                run(aw)
        assert later.cr_frame is None
        with pytest.raises(RuntimeError, match="cannot reuse"):
            aw.send(None)

    def test_error_propagates_through_asyncio(self):
        async def main():
            with pytest.raises(ZeroDivisionError):
                await ext.trampoline(raises(ZeroDivisionError()))
        asyncio.run(main())


class TestNoRecursion:
    def test_million_items_added_by_callbacks(self):
        assert run(ext.chain(1_000_000, lambda: returns(None))) == 1_000_000

    def test_million_queued_items(self):
        aw = ext.new()
        # The same awaitable object a million times: only the queue grows.
        future = asyncio.Future(loop=asyncio.new_event_loop())
        future.set_result(7)
        for _ in range(1_000_000):
            ext.add_await(aw, future)
        add_await(aw, future, lambda aw, v: ext.set_result(aw, v))
        assert run(aw) == 7
        future.get_loop().close()
