"""Differential fuzzing: the real API against the model (tests/model.py).

Hypothesis generates programs (see fuzzing.py) and each runs twice, once
against the real awaitable and once against the model; the traces must be
equal.  A failure shrinks to a minimal program, printed as a Python
expression: add it to test_fuzz_regressions.py.

By default it runs 2,000 examples, derandomized: the same ones every
time, so that CI is reproducible.  PYAWAITABLE_FUZZ_DEEP=1 (`tools/test
--deep`) runs 100,000 from a random seed, which it prints, and lets
callbacks nest one level deeper.  PYAWAITABLE_FUZZ_EXAMPLES overrides the
count, PYAWAITABLE_FUZZ_SEED the seed (a number, or "random").  There is
no example database: nothing is written into the tree.
"""

import asyncio
import os
import random

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

import fuzzing
import model
from fuzzing import (AddAwait, AddFailedExpr, AsyncWith, Cancel, Ctx,
                     DeferAwait, Exc, Handler, Inner, Point, Program, Reenter,
                     SetResult, Step, Val, Values)

DEEP = bool(os.environ.get("PYAWAITABLE_FUZZ_DEEP"))
DEFAULT_EXAMPLES = 100_000 if DEEP else 2000
# Refleak mode runs on a debug build, several times slower: a smaller
# sample keeps the test to seconds there (it runs once: see below).
REFLEAK_EXAMPLES = 200

# --- strategies ---------------------------------------------------------------

# Leaves are single draws from lists ordered simplest first (each draw
# costs Hypothesis about as much as a whole run of both programs).
EXCEPTIONS = [Exc(kind, tag) for tag in range(4)
              for kind in ["KeyError", "ValueError", "OSError", "Interrupt"]]
exceptions = st.sampled_from(EXCEPTIONS)
# An exception a quarter of the time.
maybe_exception = st.sampled_from([None] * 3 * len(EXCEPTIONS) + EXCEPTIONS)
# What a driver or a Task throws in, GeneratorExit and cancellation included.
thrown = st.sampled_from(EXCEPTIONS + [
    Exc(kind, tag) for tag in range(2)
    for kind in ["GeneratorExit", "CancelledError"]])
values = st.sampled_from(
    [Val("int", n) for n in range(4)]
    + [Val(kind, n) for n in range(2) for kind in ["tuple", "none", "exc", "stop"]])
# What a callback does: (code, set an exception?, raise it?), weighted:
# mostly success, then the failures of the PEP's table, then misuse
# (SystemError).  An error callback may also return -2 with the exception
# it was given.
OUTCOMES = ([(0, False, False)] * 8 + [(-1, True, False)] * 2
            + [(-2, True, False)] * 2 + [(-1, True, True)] * 2
            + [(0, True, False), (-1, False, False), (-2, False, False),
               (1, False, False), (1, True, False)])
ERROR_OUTCOMES = OUTCOMES + [(-1, False, False)] * 2 + [(-2, "given", False)]


def _handler(ops, outcome, exc):
    code, with_exc, raises = outcome
    if with_exc == "given":
        exc = "given"
    elif not with_exc:
        exc = None
    return Handler(ops, code, exc, raises)


def handlers(ops, error=False):
    return st.builds(_handler, ops,
                     st.sampled_from(ERROR_OUTCOMES if error else OUTCOMES),
                     exceptions)


def weighted(*choices):
    """One of (strategy, weight) pairs, with probability proportional to
    the weight.  (Repeating a branch of st.one_of would not do: it
    flattens nested one_of strategies, so their branches count apart.)"""
    pool = [strategy for strategy, weight in choices for _ in range(weight)]

    # A closure, not arguments: Hypothesis would repr them (expensively).
    @st.composite
    def choose(draw):
        return draw(pool[draw(st.integers(0, len(pool) - 1))])

    return choose()


def optional(strategy):
    return st.one_of(st.none(), strategy)


REACTIONS = [(on_throw, on_close)
             for on_close in ["exit", "ignore", "raise"]
             for on_throw in ["propagate", "return", "resume", "raise"]]


def points(ops):
    return st.builds(
        lambda reaction, value, exc, ops: Point(*reaction, value, exc, ops),
        st.sampled_from(REACTIONS), values, exceptions, ops)


INNER_KINDS = (["coro"] * 4 + ["gen"] * 2 + ["nested"] * 2
               + ["plain", "bad_await", "not_awaitable", "self"])


def inners(ops):
    return st.builds(
        Inner, st.sampled_from(INNER_KINDS),
        st.lists(points(ops), max_size=2).map(tuple),
        values, maybe_exception)


def contexts(ops):
    return st.builds(
        Ctx, st.integers(0, 1), values, maybe_exception,
        st.integers(0, 1), st.sampled_from([False] * 3 + [True]),
        st.sampled_from([None] * 3 * len(EXCEPTIONS) + EXCEPTIONS
                        + [Exc("CancelledError"), Exc("GeneratorExit")]),
        ops,
        st.sampled_from([None] * 18 + ["__aenter__", "__aexit__"]))


value_ops = st.one_of(
    st.builds(Values, st.just("save"), st.booleans(),
              st.lists(st.integers(0, 9), max_size=3).map(tuple)),
    st.builds(Values, st.sampled_from(["get", "unpack"]), st.booleans(),
              st.tuples(st.integers(-1, 3))),
    st.builds(Values, st.just("set"), st.booleans(),
              st.tuples(st.integers(-1, 3), st.integers(0, 9))),
    st.builds(Values, st.just("size"), st.booleans()),
)


def operations(depth, top=False):
    """Operations whose handlers nest at most `depth` more levels.  At the
    top (what the C function does before returning the awaitable) there is
    nothing to re-enter."""
    if depth == 0:
        inner_ops = st.just(())
    else:
        inner_ops = st.lists(operations(depth - 1), max_size=2).map(tuple)
    add_await = st.builds(
        AddAwait, inners(inner_ops), optional(handlers(inner_ops)),
        optional(handlers(inner_ops, error=True)), st.booleans())
    add_with = st.builds(
        AsyncWith, contexts(inner_ops), optional(handlers(inner_ops)),
        optional(handlers(inner_ops, error=True)))
    # Items most often, so that programs run far.
    choices = [
        (add_await, 6), (add_with, 3),
        (st.builds(DeferAwait, handlers(inner_ops)), 2),
        (st.builds(AddFailedExpr, exceptions), 1),
        (st.just(Cancel()), 1 if top else 3),
        (st.builds(SetResult, st.one_of(values, st.just("received"))), 2),
        (value_ops, 1),
    ]
    if not top:
        choices.append((st.builds(
            Reenter, st.sampled_from(["send", "next", "throw", "close"])), 1))
    return weighted(*choices)


send_none = st.builds(Step, st.sampled_from(["send", "am_send", "next"]))
# Mostly sends of None, as a scheduler does, so that items get to run.
steps = weighted(
    (send_none, 6),
    (st.builds(Step, st.sampled_from(["send", "am_send"]), values), 1),
    (st.builds(Step, st.just("close")), 1),
    (st.builds(Step, st.just("throw"), exc=thrown), 2),
)

# Callbacks run operations whose callbacks run operations (whose callbacks
# run none); one level more in deep runs, where programs may be slower to
# generate.
setups = st.lists(operations(2 if DEEP else 1, top=True),
                  min_size=1, max_size=4).map(tuple)
programs = st.one_of(
    st.builds(Program, setups, st.lists(steps, max_size=5).map(tuple)),
    st.builds(Program, setups, under_asyncio=st.just(True),
              cancel_after=optional(st.integers(0, 4))),
).filter(lambda p: fuzzing.slots_used(p) <= 16)


# --- the property ---------------------------------------------------------------

@pytest.fixture(scope="module")
def loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def check(program, loop):
    """The real API and the model agree on program."""
    real = fuzzing.run(fuzzing.REAL, program, loop)
    expected = fuzzing.run(model, program, loop)
    assert real == expected, _diff(real, expected)


def _diff(real, expected):
    for i, (a, b) in enumerate(zip(real, expected)):
        if a != b:
            break
    else:
        i = min(len(real), len(expected))
    return (f"traces differ at entry {i}:\n  real:  {real[i:i + 3]}\n"
            f"  model: {expected[i:i + 3]}\n  before: {real[max(0, i - 4):i]}")


def _example_count(config):
    if config.getoption("refleak"):
        return REFLEAK_EXAMPLES
    return int(os.environ.get("PYAWAITABLE_FUZZ_EXAMPLES", DEFAULT_EXAMPLES))


# In refleak mode the test runs once, not repeatedly: Hypothesis keeps
# caches that grow while it explores, which is no leak of ours; the shared
# suite's own tests cover the reference counting of each path.
@pytest.mark.refleak_exempt("Hypothesis's own state grows while it explores")
def test_real_api_matches_model(pytestconfig, loop):
    configured = settings(
        max_examples=_example_count(pytestconfig),
        deadline=None,
        database=None,
        derandomize=not DEEP and "PYAWAITABLE_FUZZ_SEED" not in os.environ,
        suppress_health_check=[HealthCheck.too_slow,
                               HealthCheck.filter_too_much,
                               HealthCheck.data_too_large],
        print_blob=True,
    )

    @configured
    @given(programs)
    def differential(program):
        check(program, loop)

    chosen = os.environ.get("PYAWAITABLE_FUZZ_SEED", "random" if DEEP else "")
    if chosen:
        if chosen == "random":
            chosen = str(random.randrange(2**32))
        print(f"PYAWAITABLE_FUZZ_SEED={chosen}")
        differential = seed(int(chosen))(differential)
    differential()
