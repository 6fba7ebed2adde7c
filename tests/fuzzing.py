"""Programs for the differential fuzzer, and their interpreter.

A *program* is plain data (frozen dataclasses, so that Hypothesis can
shrink it and a failure prints as a Python expression to paste into
test_fuzz_regressions.py): the operations a C function does on a new
awaitable before returning it, the handlers its callbacks run (which do
more operations), the inner coroutines and context managers it awaits,
and how the awaitable is then driven (send/throw/close by hand, or as an
asyncio Task that may be cancelled).

`run(api, program)` interprets a program against an API: the real one
(`REAL`, through harness.py and _testawaitable) or the model (`model`).
It returns a *trace*: a list of tuples recording every callback call,
every inner coroutine event, every operation's outcome, what the
awaitable yielded, returned or raised at each step, exceptions reported
as unraisable, and the final state of every inner coroutine.  Objects are
described by value (exceptions by type, args and __context__), never by
identity, so the traces of the two runs compare with ==.

Every object a program uses is made fresh for each run, from the same
specification, so both runs see equal objects.
"""

import asyncio
import dataclasses
import inspect
import sys
import types
import typing
import warnings

import _testawaitable as ext
import harness

# ---------------------------------------------------------------------------
# Program data
# ---------------------------------------------------------------------------

class Interrupt(BaseException):
    """A BaseException that is not an Exception.  (KeyboardInterrupt would
    do, but asyncio lets it escape the event loop.)"""


EXCEPTIONS = {
    "KeyError": KeyError,
    "ValueError": ValueError,
    "OSError": OSError,
    "Interrupt": Interrupt,
    "GeneratorExit": GeneratorExit,
    "CancelledError": asyncio.CancelledError,
}


@dataclasses.dataclass(frozen=True)
class Exc:
    """An exception instance, KIND('#TAG'): the tag tells instances apart."""
    kind: str
    tag: int = 0

    def make(self):
        return EXCEPTIONS[self.kind](f"#{self.tag}")


@dataclasses.dataclass(frozen=True)
class Val:
    """A value: an int, a tuple, None, an exception instance or a
    StopIteration instance (results are delivered exactly)."""
    kind: str = "int"   # int, tuple, none, exc, stop
    n: int = 0

    def make(self):
        if self.kind == "tuple":
            return (self.n, -self.n)
        if self.kind == "none":
            return None
        if self.kind == "exc":
            return KeyError(f"#v{self.n}")
        if self.kind == "stop":
            return StopIteration(self.n)
        return self.n


@dataclasses.dataclass(frozen=True)
class Point:
    """A suspension point of an inner coroutine: it runs ops, yields, and
    then handles what it gets.

    on_throw: "propagate", "return" (catch and return `value`), "resume"
    (catch and go on to the next point), "raise" (catch, raise `exc`).
    on_close (GeneratorExit): "exit", "ignore" (yield once more: close()
    raises RuntimeError), "raise" (raise `exc` instead).
    """
    on_throw: str = "propagate"
    on_close: str = "exit"
    value: Val = Val()
    exc: Exc = Exc("OSError")
    ops: tuple = ()


@dataclasses.dataclass(frozen=True)
class Inner:
    """What AddAwait queues.

    kind: "coro" (a native coroutine), "gen" (a types.coroutine
    generator), "plain" (an object whose __await__ returns an iterator
    with no send/throw/close), "nested" (an awaitable made by trampoline()
    around a "coro"), "bad_await" (__await__ returns a non-iterator),
    "not_awaitable" (refused by AddAwait), "self" (the awaitable itself).
    It suspends at `points`, then returns `result` or raises `raises`.
    """
    kind: str = "coro"
    points: tuple = ()
    result: Val = Val()
    raises: typing.Optional[Exc] = None


@dataclasses.dataclass(frozen=True)
class Ctx:
    """An asynchronous context manager.  __aenter__ suspends
    `enter_suspends` times, then returns `value` or raises `enter_raises`;
    __aexit__ runs `exit_ops`, suspends `exit_suspends` times, then
    returns `suppress` or raises `exit_raises`.  `missing` names a method
    the type lacks (AsyncWith refuses it)."""
    enter_suspends: int = 0
    value: Val = Val()
    enter_raises: typing.Optional[Exc] = None
    exit_suspends: int = 0
    suppress: bool = False
    exit_raises: typing.Optional[Exc] = None
    exit_ops: tuple = ()
    missing: typing.Optional[str] = None


@dataclasses.dataclass(frozen=True)
class Handler:
    """A callback: runs `ops`, then returns `code` with `exc` set (None: no
    exception; "given": the exception an error callback received), or
    raises `exc` if `raises`."""
    ops: tuple = ()
    code: int = 0
    exc: typing.Union[Exc, str, None] = None
    raises: bool = False


# Operations.

@dataclasses.dataclass(frozen=True)
class AddAwait:
    inner: Inner = Inner()
    on_result: typing.Optional[Handler] = None
    on_error: typing.Optional[Handler] = None
    expr: bool = False   # through PyAwaitable_AddExpr


@dataclasses.dataclass(frozen=True)
class AddFailedExpr:
    """PyAwaitable_AddExpr(aw, NULL) with `exc` set: a call that failed."""
    exc: Exc = Exc("KeyError")


@dataclasses.dataclass(frozen=True)
class DeferAwait:
    handler: Handler = Handler()


@dataclasses.dataclass(frozen=True)
class AsyncWith:
    ctx: Ctx = Ctx()
    body: typing.Optional[Handler] = None
    on_error: typing.Optional[Handler] = None


@dataclasses.dataclass(frozen=True)
class Cancel:
    pass


@dataclasses.dataclass(frozen=True)
class SetResult:
    value: typing.Union[Val, str] = Val()   # "received": the callback's value


@dataclasses.dataclass(frozen=True)
class Values:
    """A saved-value operation: save, unpack, get, set, size; on the
    object values or (arb=True) the arbitrary ones."""
    op: str = "save"
    arb: bool = False
    args: tuple = ()


@dataclasses.dataclass(frozen=True)
class Reenter:
    """send(None), throw(), close() or __next__() on the running awaitable
    (from a callback, an item or __aexit__): always an error."""
    how: str = "send"


@dataclasses.dataclass(frozen=True)
class Step:
    """What the driver does: send(value), am_send(value) (PyIter_Send),
    next(), throw(exc) or close()."""
    how: str = "send"
    value: Val = Val("none")
    exc: Exc = Exc("KeyError")


@dataclasses.dataclass(frozen=True)
class Program:
    setup: tuple = ()
    steps: tuple = ()
    # Run as an asyncio Task instead (inner coroutines then yield None),
    # cancelled after `cancel_after` loop iterations if not None.
    under_asyncio: bool = False
    cancel_after: typing.Optional[int] = None


def slots_used(program):
    """How many handler slots of harness/_testawaitable (16 per awaitable)
    the program may use: one per add, whatever its handlers."""
    count = 0
    stack = list(program.setup)
    while stack:
        op = stack.pop()
        if isinstance(op, (AddAwait, AddFailedExpr, DeferAwait, AsyncWith)):
            count += 1
        for field in dataclasses.fields(op) if dataclasses.is_dataclass(op) else ():
            value = getattr(op, field.name)
            if isinstance(value, tuple):
                stack.extend(v for v in value if dataclasses.is_dataclass(v))
            elif dataclasses.is_dataclass(value):
                stack.append(value)
    return count


# ---------------------------------------------------------------------------
# The real API, with harness.py's signatures (the model has the same)
# ---------------------------------------------------------------------------

REAL = types.SimpleNamespace(
    new=ext.new,
    add_await=harness.add_await,
    add_expr=harness.add_expr,
    defer_await=harness.defer_await,
    async_with=harness.async_with,
    cancel=ext.cancel,
    set_result=ext.set_result,
    save_values=ext.save_values,
    unpack_values=ext.unpack_values,
    get_value=ext.get_value,
    set_value=ext.set_value,
    values_size=lambda aw: ext.api("ValuesSize", aw),
    save_arb_values=ext.save_arb_values,
    unpack_arb_values=ext.unpack_arb_values,
    get_arb_value=ext.get_arb_value,
    set_arb_value=ext.set_arb_value,
    arb_values_size=lambda aw: ext.api("ArbValuesSize", aw),
    trampoline=ext.trampoline,
)


# ---------------------------------------------------------------------------
# Describing objects by value
# ---------------------------------------------------------------------------

def describe(obj, depth=0):
    if isinstance(obj, BaseException):
        args = obj.args
        message = args[0] if len(args) == 1 and isinstance(args[0], str) else None
        if (message and message.startswith("PyAwaitable_")
                and isinstance(obj, (IndexError, ValueError))):
            # Misuse: the PEP specifies the exception and that the
            # message begins with the function's name, not the rest.
            args = (message.split(":")[0],)
        context = obj.__context__
        return ("exc", type(obj).__name__, tuple(map(describe, args)),
                describe(context, depth + 1) if context is not None and depth < 4
                else None)
    if isinstance(obj, tuple):
        return tuple(describe(item, depth) for item in obj)
    if isinstance(obj, (int, str, type(None))):
        return obj
    return type(obj).__name__


# ---------------------------------------------------------------------------
# The interpreter
# ---------------------------------------------------------------------------

class _Plain:
    """An awaitable whose iterator has no send, throw or close."""

    def __init__(self, values):
        self.values = values

    def __await__(self):
        return iter(self.values)


class _BadAwait:
    def __await__(self):
        return 1


def _make_ctx_type(missing):
    namespace = {
        "__aenter__": _Ctx.__aenter__, "__aexit__": _Ctx.__aexit__,
        "__init__": _Ctx.__init__}
    del namespace[missing]
    return type("Partial", (), namespace)


class _Ctx:
    def __init__(self, run, spec, label):
        self.run = run
        self.spec = spec
        self.label = label

    async def __aenter__(self):
        self.run.log.append(("enter", self.label))
        for k in range(self.spec.enter_suspends):
            await self.run.suspend(self.label, f"enter{k}")
        if self.spec.enter_raises is not None:
            raise self.spec.enter_raises.make()
        return self.spec.value.make()

    async def __aexit__(self, tp, exc, tb):
        self.run.log.append(("exit", self.label, describe(exc),
                             tp is (None if exc is None else type(exc))))
        self.run.ops(self.spec.exit_ops, f"{self.label}.exit")
        for k in range(self.spec.exit_suspends):
            await self.run.suspend(self.label, f"exit{k}")
        if self.spec.exit_raises is not None:
            raise self.spec.exit_raises.make()
        return self.spec.suppress


class Run:
    """One run of a program against one API."""

    def __init__(self, api, program, loop=None):
        self.api = api
        self.program = program
        self.loop = loop
        self.log = []
        self.count = 0
        self.inners = []   # (label, object) to report and close at the end
        self.aw = None

    def label(self):
        self.count += 1
        return self.count

    def yielded(self, label, where):
        # An asyncio Task accepts only None (a bare yield) from a coroutine.
        return None if self.program.under_asyncio else (label, where)

    @types.coroutine
    def suspend(self, label, where):
        """One suspension of a context manager method."""
        try:
            got = yield self.yielded(label, where)
        except BaseException as exc:
            self.log.append(("thrown", label, where, describe(exc)))
            raise
        self.log.append(("got", label, where, describe(got)))

    # --- inner coroutines ---------------------------------------------------

    @types.coroutine
    def inner_gen(self, spec, label):
        self.log.append(("start", label))
        k = 0
        ignored = False
        while k < len(spec.points):
            point = spec.points[k]
            self.ops(point.ops, f"{label}.{k}")
            try:
                got = yield self.yielded(label, k)
            except GeneratorExit:
                self.log.append(("closing", label, k))
                if point.on_close == "raise":
                    raise point.exc.make()
                if point.on_close != "ignore" or ignored:
                    raise
                ignored = True
                # Once: a second close() (the interpreter's final cleanup)
                # then ends the generator.
                got = yield self.yielded(label, "ignored")
                self.log.append(("got", label, "ignored", describe(got)))
                break
            except BaseException as exc:
                self.log.append(("thrown", label, k, describe(exc)))
                if point.on_throw == "return":
                    return point.value.make()
                if point.on_throw == "raise":
                    raise point.exc.make()
                if point.on_throw != "resume":
                    raise
            else:
                self.log.append(("got", label, k, describe(got)))
            k += 1
        if spec.raises is not None:
            raise spec.raises.make()
        return spec.result.make()

    async def inner_coro(self, spec, label):
        return await self.inner_gen(spec, label)

    def make_inner(self, spec, label):
        if spec.kind == "self":
            return self.aw
        if spec.kind == "not_awaitable":
            return object()
        if spec.kind == "bad_await":
            return _BadAwait()
        if spec.kind == "plain":
            return _Plain([self.yielded(label, k) for k in range(len(spec.points))])
        if spec.kind == "gen":
            obj = self.inner_gen(spec, label)
        else:
            obj = self.inner_coro(spec, label)
        self.inners.append((label, obj))
        if spec.kind == "nested":
            obj = self.api.trampoline(obj)
            self.inners.append((label, obj))
        return obj

    # --- handlers -------------------------------------------------------------

    def handler(self, spec, label, kind):
        if spec is None:
            return None

        def handler(aw, *args):
            self.log.append(("callback", label, kind, aw is self.aw,
                             *map(describe, args)))
            received = args[0] if args else None
            self.ops(spec.ops, label, received)
            if spec.exc == "given":
                exc = received
            else:
                exc = None if spec.exc is None else spec.exc.make()
            if spec.raises and exc is not None:
                raise exc
            return spec.code, exc

        return handler

    # --- operations -------------------------------------------------------------

    def ops(self, ops, where, received=None):
        for op in ops:
            label = self.label()
            try:
                outcome = self.op(op, label, received)
            except BaseException as exc:
                self.log.append(("op", where, label, "raised", describe(exc)))
            else:
                self.log.append(("op", where, label, describe(outcome)))

    def op(self, op, label, received):
        api, aw = self.api, self.aw
        if isinstance(op, AddAwait):
            inner = self.make_inner(op.inner, label)
            add = api.add_expr if op.expr else api.add_await
            return add(aw, inner, self.handler(op.on_result, label, "result"),
                       self.handler(op.on_error, label, "error"))
        if isinstance(op, AddFailedExpr):
            return api.add_expr(aw, op.exc.make())
        if isinstance(op, DeferAwait):
            return api.defer_await(aw, self.handler(op.handler, label, "defer"))
        if isinstance(op, AsyncWith):
            spec = op.ctx
            cls = _Ctx if spec.missing is None else _make_ctx_type(spec.missing)
            return api.async_with(aw, cls(self, spec, label),
                                  self.handler(op.body, label, "body"),
                                  self.handler(op.on_error, label, "error"))
        if isinstance(op, Cancel):
            return api.cancel(aw)
        if isinstance(op, SetResult):
            value = received if op.value == "received" else op.value.make()
            return api.set_result(aw, value)
        if isinstance(op, Values):
            prefix = "arb_" if op.arb else ""
            if op.op == "save":
                return getattr(api, f"save_{prefix}values")(aw, *op.args)
            if op.op == "size":
                return getattr(api, f"{prefix}values_size")(aw)
            return getattr(api, f"{op.op}_{prefix}value{'s' if op.op == 'unpack' else ''}")(
                aw, *op.args)
        if isinstance(op, Reenter):
            if op.how == "send":
                return aw.send(None)
            if op.how == "next":
                return next(aw)
            if op.how == "throw":
                return aw.throw(KeyError("#reenter"))
            return aw.close()
        raise AssertionError(op)

    # --- driving ------------------------------------------------------------

    def step(self, how, arg=None):
        aw = self.aw
        try:
            if how == "send":
                got = aw.send(arg)
            elif how == "am_send":
                kind, got = ext.send(aw, arg)
                if kind == "return":
                    return ("return", describe(got))
            elif how == "next":
                got = next(aw)
            elif how == "throw":
                got = aw.throw(arg)
            else:
                return ("closed", describe(aw.close()))
        except StopIteration as stop:
            return ("return", describe(stop.value))
        except BaseException as exc:
            return ("raised", describe(exc))
        return ("yielded", describe(got))

    def drive_by_hand(self):
        for step in self.program.steps:
            if step.how == "throw":
                arg = step.exc.make()
            else:
                arg = step.value.make()
            self.log.append(("step", step.how, self.step(step.how, arg)))
        # Then as a trivial scheduler would, to the end (bounded: items
        # suspend a bounded number of times, unless they loop on throws).
        for _ in range(50):
            outcome = self.step("send")
            self.log.append(("step", "send", outcome))
            if outcome[0] != "yielded":
                break
        self.log.append(("step", "close", self.step("close")))

    def drive_in_task(self):
        aw = self.aw

        async def main():
            task = self.loop.create_task(aw)
            if self.program.cancel_after is not None:
                for _ in range(self.program.cancel_after):
                    await asyncio.sleep(0)
                self.log.append(("cancel", task.cancel()))
            try:
                result = await task
            except BaseException as exc:
                return ("raised", describe(exc))
            return ("return", describe(result))

        self.log.append(("task", self.loop.run_until_complete(main())))
        self.log.append(("step", "close", self.step("close")))

    def run(self):
        old_hook = sys.unraisablehook
        sys.unraisablehook = lambda u: self.log.append(
            ("unraisable", describe(u.exc_value)))
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                self.aw = self.api.new()
                self.ops(self.program.setup, "setup")
                if self.program.under_asyncio:
                    self.drive_in_task()
                else:
                    self.drive_by_hand()
                self.finish()
            self.log.extend(("warning", w.category.__name__, str(w.message))
                            for w in caught)
        finally:
            sys.unraisablehook = old_hook
        return self.log

    def finish(self):
        """Report the final state of every inner coroutine, then close
        them all, so that none warns that it was never awaited."""
        for label, obj in self.inners:
            if inspect.iscoroutine(obj):
                self.log.append(("state", label, inspect.getcoroutinestate(obj)))
            elif inspect.isgenerator(obj):
                self.log.append(("state", label, inspect.getgeneratorstate(obj)))
        for label, obj in reversed(self.inners):
            try:
                obj.close()
            except BaseException as exc:
                self.log.append(("cleanup", label, describe(exc)))
        self.inners.clear()
        self.aw = None


def run(api, program, loop=None):
    """The trace of program run against api (REAL or model)."""
    return Run(api, program, loop).run()
