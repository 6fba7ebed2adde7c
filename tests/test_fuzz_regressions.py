"""Programs on which the real API and the model once disagreed, or that pin
down a path the fuzzer reaches only rarely.

When test_fuzz.py fails, Hypothesis prints the minimal program as a Python
expression: add it to PROGRAMS with a comment saying what was wrong and
where it was fixed (the model, or an implementation).  A disagreement that
is an implementation's bug stays here marked xfail(strict=True) until the
implementation is fixed.
"""

import asyncio

import pytest

from fuzzing import (AddAwait, AsyncWith, Cancel, Ctx, DeferAwait, Exc,
                     Handler, Inner, Point, Program, Reenter, SetResult, Step,
                     Val)
from test_fuzz import check

def _closed_in_nested_blocks(item_close):
    """close() while an item suspends inside two blocks; the inner
    __aexit__ raises a new GeneratorExit."""
    item = AddAwait(inner=Inner(points=(Point(**item_close),)))
    inner = AsyncWith(ctx=Ctx(exit_raises=Exc("GeneratorExit", 1)),
                      body=Handler(ops=(item,)))
    return Program(setup=(AsyncWith(body=Handler(ops=(inner,))),),
                   steps=(Step(), Step("close")))


PROGRAMS = {
    # The model raised StopIteration(None) for a None result; coroutines
    # (and both implementations) raise StopIteration() (model fixed).
    "none result is StopIteration()": Program(
        setup=(AddAwait(on_result=Handler(ops=(Reenter("send"),))),)),
    # Cancel inside a block discards the items queued after the statement
    # (found by checking the fuzzer against a deliberately broken model).
    "cancel in a block discards the items after it": Program(setup=(
        AsyncWith(body=Handler(ops=(Cancel(),))), AddAwait())),
    # Nested blocks, an exception from the inner body reaching both exits,
    # swallowed by the outer statement's error callback.
    "exception through nested exits": Program(setup=(
        AsyncWith(body=Handler(ops=(
            AsyncWith(body=Handler(code=-1, exc=Exc("KeyError"))),)),
            on_error=Handler()),
        AddAwait(inner=Inner(result=Val("tuple", 1)),
                 on_result=Handler(ops=(SetResult("received"),))))),
    # close() while suspended in a block: the item's close() raises, and
    # __aexit__ gets that exception, not a GeneratorExit.
    "close in a block with an item whose close() raises": Program(
        setup=(AsyncWith(body=Handler(ops=(AddAwait(inner=Inner(points=(
            Point(on_close="raise", exc=Exc("OSError", 1)),))),))),),
        steps=(Step(), Step("close"))),
    # throw(GeneratorExit) while __aexit__ suspends.
    "throw GeneratorExit into a suspended __aexit__": Program(
        setup=(AsyncWith(ctx=Ctx(exit_suspends=1)),),
        steps=(Step(), Step("throw", exc=Exc("GeneratorExit")))),
    # Error callback misuse: -2 with the exception it was given.
    "error callback re-raising what it was given with -2": Program(setup=(
        AddAwait(inner=Inner(raises=Exc("ValueError")),
                 on_error=Handler(code=-2, exc="given")),)),
    # A deferred call returning 0 with an exception set, in a block whose
    # __aexit__ suppresses the SystemError.
    "defer misuse suppressed by __aexit__": Program(setup=(
        AsyncWith(ctx=Ctx(suppress=True), body=Handler(ops=(
            DeferAwait(Handler(code=0, exc=Exc("KeyError"))),))),)),
    # A Task cancelled while the item is suspended; the item catches the
    # CancelledError and returns.
    "task cancelled, item returns": Program(
        setup=(AddAwait(inner=Inner(points=(Point(on_throw="return"),)),
                        on_result=Handler(ops=(SetResult("received"),))),),
        under_asyncio=True, cancel_after=1),
    # PEP: "Each __aexit__ receives the exception the item's close() raised
    # (or the one the previous __aexit__ raised)", a new GeneratorExit
    # too, as in a coroutine closed inside `async with`.  Both
    # implementations ignored it: the outer __aexit__ got the earlier
    # exception, and close() raised the item's OSError instead of
    # returning None (fixed).
    "__aexit__ raising GeneratorExit while closing":
        _closed_in_nested_blocks({}),
    "__aexit__ raising GeneratorExit over the item's close() error":
        _closed_in_nested_blocks({"on_close": "raise",
                                  "exc": Exc("OSError")}),
}


@pytest.fixture(scope="module")
def loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_program(name, loop):
    check(PROGRAMS[name], loop)

