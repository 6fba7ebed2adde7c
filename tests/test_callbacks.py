"""The callback return-code protocol (rule 5 of the foundation issue).

Result callback: 0 continue; -1 to this item's error callback; -2 past it.
Error callback (no exception set while it runs): 0 swallow; -1 re-raise the
original; -2 raise the exception it set.  Anything else: SystemError.
"""

import sys

import pytest

import _testawaitable as ext
from harness import add_await, run


async def returns(value):
    return value


async def raises(exc):
    raise exc


def awaitable(coro, on_result=None, on_error=None, then="next item"):
    """An awaitable with one item under test and a second item that sets
    the result, so "continue" is visible as that result."""
    aw = ext.new()
    add_await(aw, coro, on_result, on_error)
    add_await(aw, returns(then), lambda aw, v: ext.set_result(aw, v))
    return aw


class TestResultCallback:
    def test_zero_continues(self):
        got = []
        aw = awaitable(returns(1), lambda aw, v: got.append(v))
        assert run(aw) == "next item"
        assert got == [1]

    def test_minus_one_goes_to_error_callback(self):
        exc = KeyError("cb")
        seen = []
        aw = awaitable(returns(1), lambda aw, v: (-1, exc),
                       lambda aw, e: seen.append(e))
        assert run(aw) == "next item"
        assert seen == [exc]

    def test_raising_handler_is_minus_one(self):
        seen = []

        def on_result(aw, value):
            raise LookupError(value)

        aw = awaitable(returns(1), on_result, lambda aw, e: seen.append(e))
        assert run(aw) == "next item"
        assert type(seen[0]) is LookupError

    def test_minus_one_without_error_callback_propagates(self):
        aw = awaitable(returns(1), lambda aw, v: (-1, KeyError("cb")))
        with pytest.raises(KeyError, match="cb"):
            run(aw)

    def test_minus_two_skips_error_callback(self):
        seen = []
        aw = awaitable(returns(1), lambda aw, v: (-2, KeyError("past")),
                       lambda aw, e: seen.append(e))
        with pytest.raises(KeyError, match="past"):
            run(aw)
        assert seen == []

    @pytest.mark.parametrize("code", [-1, -2])
    def test_error_without_exception_is_system_error(self, code):
        seen = []
        aw = awaitable(returns(1), lambda aw, v: (code, None),
                       lambda aw, e: seen.append(e))
        with pytest.raises(SystemError, match="without setting an exception"):
            run(aw)
        assert seen == []

    def test_zero_with_exception_set_is_system_error(self):
        aw = awaitable(returns(1), lambda aw, v: (0, KeyError("stray")))
        with pytest.raises(SystemError, match="returned 0 with an exception") as info:
            run(aw)
        assert type(info.value.__context__) is KeyError

    @pytest.mark.parametrize("code", [1, -3, 100])
    def test_other_codes_are_system_error(self, code):
        aw = awaitable(returns(1), lambda aw, v: code)
        with pytest.raises(SystemError, match="other than 0, -1 or -2"):
            run(aw)

    def test_not_called_when_item_raises(self):
        called = []
        aw = awaitable(raises(KeyError("item")), lambda aw, v: called.append(v))
        with pytest.raises(KeyError):
            run(aw)
        assert called == []


class TestErrorCallback:
    def test_called_with_the_exception_and_none_set(self):
        exc = KeyError("item")
        seen = []

        def on_error(aw, e):
            seen.append((e, sys.exc_info()[1]))

        aw = awaitable(raises(exc), on_error=on_error)
        assert run(aw) == "next item"
        assert seen == [(exc, None)]
        # _testawaitable counts error callbacks entered with an exception
        # set; the autouse fixture fails the test if there was one.

    def test_zero_swallows(self):
        aw = awaitable(raises(KeyError()), on_error=lambda aw, e: 0)
        assert run(aw) == "next item"

    def test_minus_one_reraises_original(self):
        exc = KeyError("original")
        aw = awaitable(raises(exc), on_error=lambda aw, e: -1)
        with pytest.raises(KeyError) as info:
            run(aw)
        assert info.value is exc

    def test_minus_one_reports_stray_exception(self):
        exc = KeyError("original")
        aw = awaitable(raises(exc), on_error=lambda aw, e: (-1, ValueError("stray")))
        unraisable = []
        old_hook = sys.unraisablehook
        # Only the exception: the hook's argument is not GC-tracked, and its
        # traceback would tie this frame into a cycle nobody collects.
        sys.unraisablehook = lambda u: unraisable.append(u.exc_value)
        try:
            with pytest.raises(KeyError) as info:
                run(aw)
        finally:
            sys.unraisablehook = old_hook
        assert info.value is exc
        assert [type(e) for e in unraisable] == [ValueError]

    def test_minus_two_raises_new_with_context(self):
        original = KeyError("original")
        new = ValueError("new")
        aw = awaitable(raises(original), on_error=lambda aw, e: (-2, new))
        with pytest.raises(ValueError) as info:
            run(aw)
        assert info.value is new
        assert info.value.__context__ is original

    def test_raising_handler_is_minus_one(self):
        # A Python handler that raises makes the C callback return -1 with
        # that exception set: the original propagates, the stray is reported.
        original = KeyError("original")

        def on_error(aw, e):
            raise ValueError("stray")

        aw = awaitable(raises(original), on_error=on_error)
        unraisable = []
        old_hook = sys.unraisablehook
        # Only the exception: the hook's argument is not GC-tracked, and its
        # traceback would tie this frame into a cycle nobody collects.
        sys.unraisablehook = lambda u: unraisable.append(u.exc_value)
        try:
            with pytest.raises(KeyError):
                run(aw)
        finally:
            sys.unraisablehook = old_hook
        assert [type(e) for e in unraisable] == [ValueError]

    def test_minus_two_without_exception_is_system_error(self):
        original = KeyError("original")
        aw = awaitable(raises(original), on_error=lambda aw, e: (-2, None))
        with pytest.raises(SystemError, match="-2 without setting") as info:
            run(aw)
        assert info.value.__context__ is original

    def test_zero_with_exception_set_is_system_error(self):
        aw = awaitable(raises(KeyError()), on_error=lambda aw, e: (0, ValueError()))
        with pytest.raises(SystemError, match="returned 0 with an exception"):
            run(aw)

    @pytest.mark.parametrize("code", [1, -3])
    def test_other_codes_are_system_error(self, code):
        aw = awaitable(raises(KeyError()), on_error=lambda aw, e: code)
        with pytest.raises(SystemError, match="other than 0, -1 or -2"):
            run(aw)

    def test_error_callback_may_queue_more(self):
        def recover(aw, e):
            add_await(aw, returns("recovered"),
                      lambda aw, v: ext.set_result(aw, v))

        aw = ext.new()
        add_await(aw, raises(KeyError()), on_error=recover)
        assert run(aw) == "recovered"

    def test_base_exceptions_reach_error_callback(self):
        seen = []
        aw = awaitable(raises(KeyboardInterrupt()),
                       on_error=lambda aw, e: seen.append(type(e)))
        assert run(aw) == "next item"
        assert seen == [KeyboardInterrupt]
