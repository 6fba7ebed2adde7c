"""PyAwaitable_AsyncWith: ``async with ctx as v: body(v)``."""

import asyncio
import gc
import sys

import pytest

import _testawaitable as ext
from harness import add_await, async_with, run


async def returns(value):
    return value


async def suspends(value):
    await asyncio.sleep(0)
    return value


async def fails(exc):
    await asyncio.sleep(0)
    raise exc


class Context:
    """An asynchronous context manager that logs what happens to it."""

    def __init__(self, log, value="entered", suppress=False, exit_raises=None,
                 enter_raises=None):
        self.log = log
        self.value = value
        self.suppress = suppress
        self.exit_raises = exit_raises
        self.enter_raises = enter_raises

    async def __aenter__(self):
        await asyncio.sleep(0)
        self.log.append("enter")
        if self.enter_raises is not None:
            raise self.enter_raises
        return self.value

    async def __aexit__(self, tp, exc, tb):
        await asyncio.sleep(0)
        self.log.append(("exit", tp, exc))
        if tb is not None:
            assert tb is exc.__traceback__
        if self.exit_raises is not None:
            raise self.exit_raises
        return self.suppress


def start_block(aw, log):
    """Drives aw until __aenter__ has run and the body's first item (which
    must suspend) is suspended."""
    value = None
    while "enter" not in log:
        value = aw.send(value)


def logging(log, name):
    def on_result(aw, value):
        log.append((name, value))
    return on_result


class TestBlock:
    def test_enter_body_exit_in_order(self):
        log = []
        seen = []
        aw = ext.new()

        def body(aw_in_body, value):
            seen.append(aw_in_body)
            log.append(("body", value))
            add_await(aw_in_body, suspends(1), logging(log, "inside"))

        add_await(aw, returns(0), logging(log, "before"))
        async_with(aw, Context(log), body)
        add_await(aw, returns(2), logging(log, "after"))
        ext.set_result(aw, "done")
        assert run(aw) == "done"
        assert log == [("before", 0), "enter", ("body", "entered"),
                       ("inside", 1), ("exit", None, None), ("after", 2)]
        # The body gets the user's awaitable, so values and SetResult work.
        assert seen == [aw]

    def test_items_queued_inside_run_before_exit(self):
        # Callbacks of items inside the block are still in the block.
        log = []
        aw = ext.new()

        def inside(aw, value):
            log.append(("inside", value))
            if value < 3:
                add_await(aw, suspends(value + 1), inside)

        async_with(aw, Context(log), lambda aw, v: add_await(aw, returns(0), inside))
        add_await(aw, returns("after"), logging(log, "after"))
        run(aw)
        assert log == ["enter", ("inside", 0), ("inside", 1), ("inside", 2),
                       ("inside", 3), ("exit", None, None), ("after", "after")]

    def test_no_body(self):
        log = []
        aw = ext.new()
        async_with(aw, Context(log))
        run(aw)
        assert log == ["enter", ("exit", None, None)]

    def test_values_in_body(self):
        aw = ext.new()
        ext.save_values(aw, "saved")
        async_with(aw, Context([]),
                   lambda aw, v: ext.set_result(aw, (ext.get_value(aw, 0), v)))
        assert run(aw) == ("saved", "entered")

    def test_nested(self):
        log = []
        aw = ext.new()

        def outer_body(aw, value):
            async_with(aw, Context(log, "inner"),
                       lambda aw, v: log.append(("inner body", v)))
            add_await(aw, returns(1), logging(log, "outer item"))

        async_with(aw, Context(log, "outer"), outer_body)
        run(aw)
        assert log == ["enter", "enter", ("inner body", "inner"),
                       ("exit", None, None), ("outer item", 1),
                       ("exit", None, None)]

    def test_under_asyncio_with_a_lock(self):
        async def main():
            lock = asyncio.Lock()
            aw = ext.new()
            async_with(aw, lock, lambda aw, v: add_await(
                aw, suspends(lock.locked()),
                lambda aw, v: ext.set_result(aw, v)))
            held = await aw
            return held, lock.locked()

        assert asyncio.run(main()) == (True, False)


class TestExceptions:
    @pytest.mark.parametrize("how", ["body", "item", "item callback"])
    def test_exception_in_block_reaches_exit_then_propagates(self, how):
        log = []
        exc = LookupError("in block")
        pending = suspends("pending")
        after = suspends("after")
        aw = ext.new()

        def body(aw, value):
            if how == "body":
                add_await(aw, pending, logging(log, "pending"))
                return -1, exc
            if how == "item":
                add_await(aw, fails(exc))
            else:
                add_await(aw, returns(1), lambda aw, v: (-1, exc))
            add_await(aw, pending, logging(log, "pending"))

        async_with(aw, Context(log), body)
        add_await(aw, after, logging(log, "after"))
        with pytest.raises(LookupError) as info:
            run(aw)
        assert info.value is exc
        assert log == ["enter", ("exit", LookupError, exc)]
        # Items that never ran were closed: no never-awaited warnings.
        assert pending.cr_frame is None and after.cr_frame is None

    def test_exit_returning_true_suppresses(self):
        log = []
        errors = []
        aw = ext.new()
        async_with(aw, Context(log, suppress=True),
                   lambda aw, v: add_await(aw, fails(KeyError("k"))),
                   lambda aw, e: errors.append(e))
        add_await(aw, returns("after"), logging(log, "after"))
        run(aw)
        assert [entry[:2] for entry in log[1:2]] == [("exit", KeyError)]
        assert log[-1] == ("after", "after")
        assert errors == []

    def test_exit_returning_false_goes_to_error_callback(self):
        log = []
        errors = []
        aw = ext.new()
        exc = KeyError("k")
        async_with(aw, Context(log), lambda aw, v: (-1, exc),
                   lambda aw, e: errors.append(e))  # returns 0: swallowed
        add_await(aw, returns("after"), logging(log, "after"))
        run(aw)
        assert errors == [exc]
        assert log[-1] == ("after", "after")

    def test_error_callback_can_reraise(self):
        aw = ext.new()
        async_with(aw, Context([]), lambda aw, v: (-1, KeyError("k")),
                   lambda aw, e: -1)
        with pytest.raises(KeyError):
            run(aw)

    def test_enter_fails_without_exit(self):
        log = []
        errors = []
        aw = ext.new()
        exc = ValueError("enter")
        async_with(aw, Context(log, enter_raises=exc),
                   lambda aw, v: log.append("body"),
                   lambda aw, e: errors.append(e) or -1)
        with pytest.raises(ValueError):
            run(aw)
        assert log == ["enter"]
        assert errors == [exc]

    def test_exit_raising_chains_the_block_exception(self):
        log = []
        block_exc = KeyError("block")
        exit_exc = OSError("exit")
        aw = ext.new()
        async_with(aw, Context(log, exit_raises=exit_exc),
                   lambda aw, v: (-1, block_exc))
        with pytest.raises(OSError) as info:
            run(aw)
        assert info.value is exit_exc
        assert info.value.__context__ is block_exc

    def test_exit_raising_after_a_clean_block(self):
        aw = ext.new()
        async_with(aw, Context([], exit_raises=OSError("exit")))
        with pytest.raises(OSError, match="exit"):
            run(aw)

    def test_exception_passes_through_nested_exits(self):
        log = []
        exc = KeyError("deep")
        aw = ext.new()
        async_with(aw, Context(log, "outer"), lambda aw, v: async_with(
            aw, Context(log, "inner"), lambda aw, v: (-1, exc)))
        with pytest.raises(KeyError):
            run(aw)
        assert log == ["enter", "enter", ("exit", KeyError, exc),
                       ("exit", KeyError, exc)]

    def test_aenter_result_not_awaitable(self):
        class Bad:
            def __aenter__(self):
                return 1

            async def __aexit__(self, *args):
                return False

        aw = ext.new()
        async_with(aw, Bad())
        with pytest.raises(TypeError, match="can't be used in 'await'"):
            run(aw)

    def test_throw_into_block_reaches_exit(self):
        log = []
        exc = IndexError("thrown")
        aw = ext.new()
        async_with(aw, Context(log), lambda aw, v: add_await(aw, suspends(1)))
        start_block(aw, log)
        # __aexit__ suspends once (sleep(0)) before it returns False.
        assert aw.throw(exc) is None
        with pytest.raises(IndexError) as info:
            aw.send(None)
        assert info.value is exc
        assert log == ["enter", ("exit", IndexError, exc)]


class TestCancelAndClose:
    def test_cancel_in_block_still_exits(self):
        log = []
        dropped = suspends("dropped")
        after = suspends("after")
        aw = ext.new()

        def body(aw, value):
            add_await(aw, dropped, logging(log, "dropped"))
            ext.cancel(aw)
            add_await(aw, returns("new"), logging(log, "new"))

        async_with(aw, Context(log), body)
        add_await(aw, after, logging(log, "after"))
        run(aw)
        assert log == ["enter", ("new", "new"), ("exit", None, None)]
        assert dropped.cr_frame is None and after.cr_frame is None

    def test_close_inside_block_exits_with_generator_exit(self):
        log = []

        class Sync(Context):
            async def __aexit__(self, tp, exc, tb):
                self.log.append(("exit", tp))
                return False

        aw = ext.new()
        async_with(aw, Sync(log), lambda aw, v: add_await(aw, suspends(1)))
        start_block(aw, log)
        assert aw.close() is None
        assert log == ["enter", ("exit", GeneratorExit)]

    def test_items_added_while_closing_are_refused(self):
        # An item queued by __aexit__ during close() could never run: the
        # add fails, and its exception ends close() like any other.
        log = []
        late = returns("late")

        class Sync(Context):
            async def __aexit__(self, tp, exc, tb):
                self.log.append(("exit", tp))
                add_await(aw, late)

        aw = ext.new()
        async_with(aw, Sync(log), lambda aw, v: add_await(aw, suspends(1)))
        start_block(aw, log)
        with pytest.raises(RuntimeError,
                           match="PyAwaitable_AddAwait: the awaitable is "
                                 "being closed"):
            aw.close()
        assert log == ["enter", ("exit", GeneratorExit)]
        with pytest.raises(RuntimeError, match="has already finished"):
            add_await(aw, late)
        late.close()

    @pytest.mark.parametrize("how", ["close", "throw"])
    def test_items_added_by_the_closing_item_are_refused(self, how):
        # The running item's own close() (its finally) adding an item.
        late = returns("late")
        errors = []

        async def inner():
            try:
                await suspends(1)
            finally:
                try:
                    add_await(aw, late)
                except RuntimeError as exc:
                    errors.append(str(exc))

        aw = ext.new()
        add_await(aw, inner())
        aw.send(None)
        if how == "close":
            assert aw.close() is None
        else:
            with pytest.raises(GeneratorExit):
                aw.throw(GeneratorExit)
        assert errors == ["PyAwaitable_AddAwait: the awaitable is being "
                          "closed"]
        late.close()

    def test_close_when_exit_suspends(self):
        log = []
        aw = ext.new()
        async_with(aw, Context(log), lambda aw, v: add_await(aw, suspends(1)))
        start_block(aw, log)
        with pytest.raises(RuntimeError, match="__aexit__ suspended"):
            aw.close()

    def test_dropped_inside_block_exits(self):
        log = []

        class Sync(Context):
            async def __aexit__(self, tp, exc, tb):
                self.log.append(("exit", tp))

        aw = ext.new()
        async_with(aw, Sync(log), lambda aw, v: add_await(aw, suspends(1)))
        start_block(aw, log)
        del aw
        gc.collect()
        assert log == ["enter", ("exit", GeneratorExit)]

    def test_task_cancelled_inside_block_releases_lock(self):
        async def main():
            lock = asyncio.Lock()
            started = asyncio.Event()

            async def wait_forever():
                started.set()
                await asyncio.Event().wait()

            aw = ext.new()
            async_with(aw, lock, lambda aw, v: add_await(aw, wait_forever()))
            task = asyncio.ensure_future(aw)
            await started.wait()
            assert lock.locked()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            return lock.locked()

        assert asyncio.run(main()) is False


class TestMisuse:
    @pytest.mark.parametrize("missing", ["__aenter__", "__aexit__"])
    def test_missing_method_is_type_error_at_call_time(self, missing):
        namespace = {"__aenter__": Context.__aenter__,
                     "__aexit__": Context.__aexit__}
        del namespace[missing]
        cls = type("Partial", (), namespace)
        aw = ext.new()
        with pytest.raises(TypeError, match=(
                "PyAwaitable_AsyncWith: 'Partial' object does not support the "
                f"asynchronous context manager protocol \\(missed {missing}")):
            async_with(aw, cls())
        run(aw)  # nothing was queued

    def test_instance_attributes_do_not_count(self):
        class Plain:
            pass

        obj = Plain()
        obj.__aenter__ = Context.__aenter__
        obj.__aexit__ = Context.__aexit__
        with pytest.raises(TypeError, match="asynchronous context manager"):
            async_with(ext.new(), obj)

    def test_null_context(self):
        with pytest.raises(ValueError, match="PyAwaitable_AsyncWith: ctx is NULL"):
            ext.call_with_null("AsyncWith", ext.new())

    def test_finished_awaitable(self):
        aw = ext.new()
        run(aw)
        with pytest.raises(RuntimeError, match="already finished"):
            async_with(aw, Context([]))


LOOKUP_LOG = []


async def logged_enter(*args):
    LOOKUP_LOG.append(("enter", args))
    return "value"


async def logged_exit(*args):
    LOOKUP_LOG.append(("exit", args))


class Callable:
    """A class attribute without __get__: called unbound."""

    def __init__(self, method):
        self.method = method

    def __call__(self, *args):
        return self.method(*args)


def lookup_cases():
    """Context managers whose special methods are found, bound or missed
    in the ways the `async with` statement's special-method lookup does."""
    class Functions:
        __aenter__ = logged_enter
        __aexit__ = logged_exit

    class Inherited(Functions):
        pass

    class Static:
        __aenter__ = staticmethod(logged_enter)
        __aexit__ = staticmethod(logged_exit)

    class Class:
        __aenter__ = classmethod(logged_enter)
        __aexit__ = classmethod(logged_exit)

    class Attributes:
        __aenter__ = Callable(logged_enter)
        __aexit__ = Callable(logged_exit)

    class Properties:
        __aenter__ = property(lambda self: logged_enter)
        __aexit__ = property(lambda self: logged_exit)

    class EnterMeta(type):
        __aenter__ = logged_enter

    class EnterOnMeta(metaclass=EnterMeta):
        __aexit__ = logged_exit

    class BothMeta(type):
        __aenter__ = logged_enter
        __aexit__ = logged_exit

    class BothOnMeta(metaclass=BothMeta):
        pass

    class GetattrMeta(type):
        def __getattr__(cls, name):
            return {"__aenter__": logged_enter,
                    "__aexit__": logged_exit}[name]

    class MetaGetattr(metaclass=GetattrMeta):
        pass

    class Getattr:
        def __getattr__(self, name):
            return {"__aenter__": logged_enter,
                    "__aexit__": logged_exit}[name]

    class ExitOnInstance:
        __aenter__ = logged_enter

    on_instance = ExitOnInstance()
    on_instance.__aexit__ = logged_exit
    return {
        "functions": Functions(), "inherited": Inherited(),
        "staticmethod": Static(), "classmethod": Class(),
        "callable attributes": Attributes(), "properties": Properties(),
        "__aenter__ on the metaclass": EnterOnMeta(),
        "both on the metaclass": BothOnMeta(),
        "metaclass __getattr__": MetaGetattr(), "__getattr__": Getattr(),
        "__aexit__ on the instance": on_instance,
    }


class TestLookup:
    """__aenter__ and __aexit__ are found and bound as `async with` finds
    and binds them: on the type (not the metaclass, not the instance),
    through descriptors."""

    @staticmethod
    def by_statement(ctx):
        LOOKUP_LOG.clear()

        async def main():
            async with ctx as value:
                LOOKUP_LOG.append(("body", value))
        try:
            run(main())
        except (TypeError, AttributeError) as exc:
            # Not found (3.10 raises AttributeError naming the method,
            # 3.11 and newer a TypeError naming only a missing __aexit__).
            if isinstance(exc, AttributeError):
                return ("missing", str(exc))
            return ("missing", "__aexit__" if "__aexit__" in str(exc)
                    else "__aenter__")
        return list(LOOKUP_LOG)

    @staticmethod
    def by_async_with(ctx):
        LOOKUP_LOG.clear()
        aw = ext.new()
        try:
            async_with(aw, ctx, lambda aw, value: LOOKUP_LOG.append(
                ("body", value)))
        except TypeError as exc:
            missing = "__aexit__" if "__aexit__" in str(exc) else "__aenter__"
            assert str(exc) == (
                f"PyAwaitable_AsyncWith: '{type(ctx).__name__}' object does "
                "not support the asynchronous context manager protocol "
                f"(missed {missing} method)")
            return ("missing", missing)
        run(aw)
        return list(LOOKUP_LOG)

    @pytest.mark.parametrize("case", list(lookup_cases()))
    def test_lookup_matches_statement(self, case):
        ctx = lookup_cases()[case]
        expected = self.by_statement(ctx)
        assert self.by_async_with(ctx) == expected


class TestReferences:
    def test_no_leaks(self):
        ctx = Context([])
        body = lambda aw, v: add_await(aw, returns(v))  # noqa: E731
        for _ in range(10):
            aw = ext.new()
            async_with(aw, ctx, body)
            run(aw)
        before = sys.getrefcount(ctx)
        for _ in range(1000):
            aw = ext.new()
            async_with(aw, ctx, body)
            run(aw)
        del aw
        assert sys.getrefcount(ctx) == before

    def test_cycle_through_context_is_collected(self):
        log = []

        class Holder(Context):
            async def __aexit__(self, tp, exc, tb):
                self.log.append(("exit", tp))

        ctx = Holder(log)
        aw = ext.new()
        ctx.aw = aw  # the context refers to the awaitable
        async_with(aw, ctx, lambda aw, v: add_await(aw, suspends(1)))
        start_block(aw, log)
        del aw, ctx
        gc.collect()
        assert log == ["enter", ("exit", GeneratorExit)]
