"""The awaitable is a full coroutine, and awaiting an item is `yield from`.

Rules 1 and 3 of the foundation issue.
"""

import asyncio
import collections.abc
import sys
import types
import warnings

import pytest

import _testawaitable as ext
from harness import add_await, guarded, require, run


async def returns(value):
    return value


async def suspends(value):
    await asyncio.sleep(0)
    return value


async def delegate(awaitable):
    """A coroutine that awaits awaitable: what the awaitable must match."""
    return await awaitable


@types.coroutine
def echo_twice():
    """Yields twice, returning what was sent in."""
    first = yield "first"
    second = yield "second"
    return (first, second)


class TestCoroutineProtocol:
    def test_is_a_coroutine(self):
        aw = ext.value(1)
        assert isinstance(aw, collections.abc.Coroutine)
        assert isinstance(aw, collections.abc.Awaitable)
        assert asyncio.iscoroutine(aw)
        assert type(aw) is ext.get_type()
        assert ext.check(aw)
        coro = returns(1)
        assert not ext.check(coro)
        assert not ext.check(coro.__await__())
        coro.close()
        aw.close()

    def test_await_returns_self(self):
        aw = ext.value(1)
        assert aw.__await__() is aw
        aw.close()

    def test_not_instantiable_or_subclassable(self):
        tp = ext.get_type()
        with pytest.raises(TypeError):
            tp()
        with pytest.raises(TypeError):
            type("Sub", (tp,), {})

    def test_am_send_returns_without_stopiteration(self):
        # PyIter_Send uses am_send when the type has it; the return path
        # hands the value over directly, with no exception set.
        aw = ext.value((1, 2))
        assert ext.has_am_send(aw)
        assert ext.send(aw, None) == ("return", (1, 2))

    def test_am_send_yields(self):
        aw = ext.trampoline(echo_twice())
        assert ext.send(aw, None) == ("next", "first")
        assert ext.send(aw, "a") == ("next", "second")
        assert ext.send(aw, "b") == ("return", ("a", "b"))

    def test_next_and_send(self):
        aw = ext.trampoline(echo_twice())
        assert next(aw) == "first"
        assert aw.send("a") == "second"
        with pytest.raises(StopIteration) as info:
            aw.send("b")
        assert info.value.value == ("a", "b")

    def test_send_non_none_to_just_started(self):
        aw = ext.trampoline(echo_twice())
        with pytest.raises(TypeError, match="just-started"):
            aw.send(1)
        # It is still usable, like a coroutine.
        assert aw.send(None) == "first"
        aw.close()

    def test_reuse_after_completion(self):
        aw = ext.value(1)
        assert run(aw) == 1
        with pytest.raises(RuntimeError, match="cannot reuse already awaited"):
            aw.send(None)
        with pytest.raises(RuntimeError, match="cannot reuse already awaited"):
            ext.send(aw, None)
        with pytest.raises(RuntimeError, match="cannot reuse already awaited"):
            aw.throw(ValueError)
        assert aw.close() is None

    def test_await_twice_in_asyncio(self):
        async def main():
            aw = ext.value(1)
            assert await aw == 1
            with pytest.raises(RuntimeError):
                await aw
        asyncio.run(main())

    def test_reentrant_send_is_an_error(self):
        seen = []

        def on_result(aw, value):
            with pytest.raises(ValueError, match="already executing"):
                aw.send(None)
            with pytest.raises(ValueError, match="already executing"):
                aw.close()
            seen.append(value)

        aw = ext.new()
        add_await(aw, returns(1), on_result)
        assert run(aw) is None
        assert seen == [1]


class TestEventLoops:
    def test_asyncio_run(self):
        assert asyncio.run(ext.trampoline(suspends(5))) == 5

    def test_create_task_gather_ensure_future(self):
        async def main():
            task = asyncio.create_task(ext.trampoline(suspends(1)))
            future = asyncio.ensure_future(ext.trampoline(suspends(2)))
            gathered = await asyncio.gather(
                ext.trampoline(suspends(3)), ext.value(4))
            return await task, await future, gathered
        assert asyncio.run(main()) == (1, 2, [3, 4])

    def test_asyncio_future_item(self):
        async def main():
            loop = asyncio.get_running_loop()
            future = loop.create_future()
            loop.call_soon(future.set_result, "done")
            return await ext.trampoline(future)
        assert asyncio.run(main()) == "done"

    @pytest.mark.refleak_exempt("uvloop 0.23 itself leaks about 120 references "
                                "per event loop, with plain coroutines too")
    def test_uvloop(self):
        uvloop = require("uvloop")

        async def main():
            return await ext.trampoline(suspends("uv"))
        loop = uvloop.new_event_loop()
        try:
            assert loop.run_until_complete(main()) == "uv"
            task = loop.create_task(ext.trampoline(suspends(7)))
            assert loop.run_until_complete(task) == 7
        finally:
            loop.close()

    def test_trio(self):
        trio = require("trio")

        async def inner():
            await trio.sleep(0)
            return "trio"

        async def main():
            return await ext.trampoline(inner())
        assert trio.run(main) == "trio"
        # trio drives the awaitable itself as the task's coroutine.
        assert trio.run(ext.trampoline, inner()) == "trio"

    def test_trio_cancellation_reaches_inner(self):
        trio = require("trio")
        log = []

        async def inner():
            try:
                await trio.sleep(10)
            except trio.Cancelled:
                log.append("cancelled")
                raise
            finally:
                log.append("finally")

        async def main():
            with trio.move_on_after(0.01):
                await ext.trampoline(inner())
            log.append("after")
        trio.run(main)
        assert log == ["cancelled", "finally", "after"]


class TestDelegation:
    def test_values_sent_reach_inner(self):
        got = []
        aw = ext.new()
        add_await(aw, echo_twice(), lambda aw, v: got.append(v))
        assert aw.send(None) == "first"
        assert aw.send(1) == "second"
        with pytest.raises(StopIteration):
            aw.send(2)
        assert got == [(1, 2)]

    def test_throw_reaches_inner(self):
        @types.coroutine
        def catches():
            try:
                yield "waiting"
            except ValueError as exc:
                return f"caught {exc}"

        aw = ext.trampoline(catches())
        assert aw.send(None) == "waiting"
        with pytest.raises(StopIteration) as info:
            aw.throw(ValueError("boom"))
        assert info.value.value == "caught boom"

    def test_throw_inner_yields_again(self):
        @types.coroutine
        def resilient():
            try:
                yield 1
            except KeyError:
                yield 2
            return 3

        aw = ext.trampoline(resilient())
        assert aw.send(None) == 1
        assert aw.throw(KeyError) == 2
        with pytest.raises(StopIteration) as info:
            aw.send(None)
        assert info.value.value == 3

    def test_throw_uncaught_goes_to_error_callback(self):
        seen = []
        aw = ext.new()
        add_await(aw, echo_twice(), on_error=lambda aw, e: seen.append(e))
        add_await(aw, returns("next"), lambda aw, v: ext.set_result(aw, v))
        aw.send(None)
        exc = ValueError("x")
        with pytest.raises(StopIteration) as info:
            aw.throw(exc)
        assert seen == [exc]
        assert info.value.value == "next"

    def test_throw_into_iterator_without_throw_method(self):
        class Plain:
            def __await__(self):
                return iter(["a", "b"])

        seen = []
        aw = ext.new()
        add_await(aw, Plain(), on_error=lambda aw, e: seen.append(type(e)))
        assert aw.send(None) == "a"
        with pytest.raises(StopIteration):
            aw.throw(KeyError)
        assert seen == [KeyError]

    def test_throw_before_start(self):
        coro = suspends(1)
        aw = ext.trampoline(coro)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(KeyError):
                aw.throw(KeyError("early"))
        # The queued coroutine was closed, not left to warn.
        assert coro.cr_frame is None
        with pytest.raises(RuntimeError):
            aw.send(None)

    def test_throw_argument_forms(self):
        @types.coroutine
        def record():
            try:
                yield
            except Exception as exc:
                return exc

        def thrown(*args):
            aw = ext.trampoline(record())
            aw.send(None)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                with pytest.raises(StopIteration) as info:
                    aw.throw(*args)
            return info.value.value

        exc = thrown(ValueError)
        assert type(exc) is ValueError and exc.args == ()
        exc = thrown(ValueError, "v")
        assert type(exc) is ValueError and exc.args == ("v",)
        exc = thrown(ValueError, ("a", "b"))
        assert exc.args == ("a", "b")
        instance = KeyError("k")
        assert thrown(instance) is instance
        try:
            raise OSError
        except OSError as caught:
            tb = caught.__traceback__
        assert thrown(OSError, None, tb).__traceback__ is not None

    def test_throw_argument_errors(self):
        aw = ext.trampoline(echo_twice())
        aw.send(None)
        with pytest.raises(TypeError, match="deriving from BaseException"):
            aw.throw(1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            with pytest.raises(TypeError, match="separate value"):
                aw.throw(ValueError("a"), "b")
            with pytest.raises(TypeError, match="traceback"):
                aw.throw(ValueError, None, "not a traceback")
        with pytest.raises(TypeError):
            aw.throw()
        # None of these reached the item.
        assert aw.send("x") == "second"
        aw.close()

    @pytest.mark.parametrize("args", [
        (), (ValueError, None, None, None), (1,), ("x",), (None,),
        (ValueError("a"), "b"), (ValueError, "v", "not a traceback"),
        (ValueError("a"), None, object()), (1, None, "not a traceback"),
    ], ids=repr)
    def test_throw_argument_errors_match_coroutine(self, args):
        # Every bad call fails exactly as coroutine.throw() does on the
        # running interpreter (same exception, message and warnings)...
        def bad_throw(coro):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                with pytest.raises(BaseException) as info:
                    coro.throw(*args)
            warned = [(w.category, str(w.message)) for w in caught]
            return type(info.value), str(info.value), warned

        coro = delegate(echo_twice())
        aw = ext.trampoline(echo_twice())
        assert coro.send(None) == aw.send(None) == "first"
        assert bad_throw(aw) == bad_throw(coro)
        # ...and does not reach the item.  (A delegating coroutine checks
        # the types only in the innermost generator, and then raises the
        # TypeError at its own await: it is not a model for this part.)
        assert aw.send("x") == "second"
        aw.close()
        coro.close()

    @pytest.mark.parametrize("state", ["catching", "raising", "not started",
                                       "no throw method"])
    def test_thrown_class_has_no_context_from_the_caller(self, state):
        # throw(SomeClass) while the caller handles an exception: the
        # instance is created the way `yield from` creates it, which does
        # not make the caller's exception its __context__.
        @types.coroutine
        def inner():
            try:
                yield "waiting"
            except ValueError as exc:
                if state == "catching":
                    return exc
                raise

        class Plain:
            def __await__(self):
                return iter(["waiting"])

        def thrown(wrap):
            item = Plain() if state == "no throw method" else inner()
            coro = wrap(item)
            if state != "not started":
                assert coro.send(None) == "waiting"
            try:
                raise KeyError("handled by the caller")
            except KeyError:
                with pytest.raises((StopIteration, ValueError)) as info:
                    coro.throw(ValueError)
            exc = info.value
            return exc.value if isinstance(exc, StopIteration) else exc

        expected = thrown(delegate)
        got = thrown(ext.trampoline)
        assert type(got) is type(expected) is ValueError
        assert type(got.__context__) is type(expected.__context__)
        assert repr(got.__context__) == repr(expected.__context__)

    @pytest.mark.parametrize("args", [
        (ValueError,), (ValueError, "v"), (ValueError, ("a", "b")),
        (ValueError, KeyError("k")), (KeyError, IndexError("subclass")),
        ("constructor fails",),
    ], ids=repr)
    def test_thrown_class_instantiated_as_by_coroutine(self, args):
        # The instance the inner coroutine receives is made exactly as
        # `yield from` makes it (an exception raised by the constructor is
        # thrown instead), with no __context__ from the caller.
        class Fails(Exception):
            def __init__(self, *args):
                raise RuntimeError("from the constructor")

        if args[0] == "constructor fails":
            args = (Fails,)

        @types.coroutine
        def record():
            try:
                yield
            except BaseException as exc:
                return exc

        def thrown(wrap):
            coro = wrap(record())
            coro.send(None)
            try:
                raise OSError("handled by the caller")
            except OSError:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    with pytest.raises(StopIteration) as info:
                        coro.throw(*args)
            exc = info.value.value
            return type(exc), exc.args, type(exc.__context__)

        assert thrown(ext.trampoline) == thrown(delegate)

    @pytest.mark.skipif(sys.version_info < (3, 12),
                        reason="the 3-argument throw() is deprecated in 3.12")
    def test_three_argument_throw_is_deprecated(self):
        aw = ext.trampoline(echo_twice())
        aw.send(None)
        with pytest.warns(DeprecationWarning, match="signature of throw"):
            with pytest.raises(ValueError):
                aw.throw(ValueError, ValueError("x"), None)

    def test_close_reaches_inner(self):
        log = []

        later = suspends(2)
        aw = ext.new()
        add_await(aw, guarded(log))
        add_await(aw, later)
        aw.send(None)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert aw.close() is None
        assert log == ["finally"]
        assert later.cr_frame is None  # closed, never run
        with pytest.raises(RuntimeError):
            aw.send(None)

    def test_close_error_propagates(self):
        @types.coroutine
        def stubborn():
            try:
                yield
            except GeneratorExit:
                yield "ignored"

        aw = ext.trampoline(stubborn())
        aw.send(None)
        with pytest.raises(RuntimeError, match="ignored GeneratorExit"):
            aw.close()

    def test_throw_generator_exit_closes_inner(self):
        log = []

        aw = ext.trampoline(guarded(log))
        aw.send(None)
        with pytest.raises(GeneratorExit):
            aw.throw(GeneratorExit)
        assert log == ["finally"]

    def test_close_unstarted(self):
        coro = suspends(1)
        aw = ext.trampoline(coro)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            aw.close()
            assert coro.cr_frame is None

    def test_task_cancellation_reaches_inner(self):
        log = []

        async def inner():
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                log.append("except")
                raise
            finally:
                log.append("finally")

        async def main():
            task = asyncio.create_task(ext.trampoline(inner()))
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            task.cancel()
            await asyncio.sleep(0)
            log.append("cancel delivered")
            with pytest.raises(asyncio.CancelledError):
                await task

        asyncio.run(main())
        assert log == ["except", "finally", "cancel delivered"]

    def test_cancellation_can_be_handled_by_inner(self):
        async def inner():
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                return "handled"

        async def main():
            task = asyncio.create_task(ext.trampoline(inner()))
            await asyncio.sleep(0)
            task.cancel()
            return await task

        assert asyncio.run(main()) == "handled"
