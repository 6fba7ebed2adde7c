"""A pure-Python model of the PyAwaitable object: the PEP's semantics as an
executable specification.

The differential fuzzer (test_fuzz.py) runs the same program against this
model and against the real API (through _testawaitable and harness), and
compares everything observable.  The functions here have the names and
signatures of the ones in harness.py and _testawaitable, so a program
drives either through the same calls::

    aw = model.new()
    model.add_await(aw, coro, on_result=lambda aw, value: 0)
    model.async_with(aw, ctx, body, on_error)
    model.set_result(aw, value)
    aw.send(None)

Callbacks are Python *handlers*, as in harness.py: a handler stands for a
C callback.  It returns the callback's return code, or ``(code,
exception)`` for "return code with exception set", or raises (the C
callback returns -1 with that exception set).  Error callbacks and
deferred calls get the same treatment.

What the model does not cover: garbage collection, finalization (an
awaitable dropped while suspended is closed) and the "never awaited"
warning, thread safety, ``METH_ASYNC``, the argument checks of the API
(NULL pointers, objects that are not awaitables) and the argument forms
of ``throw()`` beyond an instance or a class.  Misuse errors whose wording
the PEP leaves open (everything after the function name) use the
backport's wording; the fuzzer compares only the function name there.

The model is written so that it never sets ``__context__`` where C code
would not: it takes every exception out of the ``except`` clause that
caught it (as a value) before acting on it, because a ``raise`` (or a
handler called) inside an ``except`` clause would chain implicitly, which
PyErr_SetRaisedException does not.
"""

import collections
import collections.abc
import sys
import types

__all__ = [
    "Awaitable", "new", "check", "add_await", "add_expr", "defer_await",
    "async_with", "cancel", "set_result", "save_values", "unpack_values",
    "get_value", "set_value", "values_size", "save_arb_values",
    "unpack_arb_values", "get_arb_value", "set_arb_value",
    "arb_values_size", "trampoline",
]

# The states of an awaitable.
CREATED = "created"        # not started
SUSPENDED = "suspended"    # inside the running item, which yielded
EXECUTING = "executing"    # inside send()/throw()/close() (re-entry is an error)
CLOSING = "closing"        # exiting blocks and discarding items: adds refused
DONE = "done"              # returned, raised or closed

# The callback return codes of the PEP's table.
CONTINUE, PROPAGATE_TO_ERROR, PROPAGATE = 0, -1, -2

# What an iterator did with a value or exception given to it; what the
# awaitable does at each step.
YIELD, RETURN, RAISE = "yield", "return", "raise"

# Item kinds, and the things that wait for the outcome of the running await.
Await = collections.namedtuple("Await", "obj on_result on_error")
Defer = collections.namedtuple("Defer", "callback")
With = collections.namedtuple("With", "enter exit body on_error")
Block = collections.namedtuple("Block", "exit on_error outer")

CO_ITERABLE_COROUTINE = 0x100


# ---------------------------------------------------------------------------
# Helpers that behave as the C-level operations the implementations use
# ---------------------------------------------------------------------------

def _call_handler(handler, *args):
    """Call a handler as _testawaitable's C callbacks do.

    Returns ``(code, exception left set or None)``.
    """
    try:
        ret = handler(*args)
    except BaseException as exc:
        return -1, exc
    if ret is None:
        return 0, None
    if isinstance(ret, tuple) and len(ret) == 2:
        return ret[0], ret[1]
    return ret, None


def _chain(exc, context):
    """Make context the __context__ of exc, as raising exc in an ``except``
    clause that caught context would (PyException_SetContext)."""
    if exc is not context:
        exc.__context__ = context


def _system_error(message, context=None):
    err = SystemError(message)
    if context is not None:
        _chain(err, context)
    return err


def _unraisable(exc, obj):
    """PyErr_WriteUnraisable(obj) with exc set."""
    hook_args = types.SimpleNamespace(
        exc_type=type(exc), exc_value=exc, exc_traceback=exc.__traceback__,
        err_msg=None, object=obj)
    sys.unraisablehook(hook_args)


def _is_iterable_coroutine(obj):
    return (isinstance(obj, types.GeneratorType)
            and obj.gi_code.co_flags & CO_ITERABLE_COROUTINE)


def _can_await(obj):
    """What AddAwait accepts: a native coroutine, a generator decorated with
    types.coroutine, or an object whose type has __await__ (am_await)."""
    return (type(obj) is types.CoroutineType
            or _is_iterable_coroutine(obj)
            or hasattr(type(obj), "__await__"))


def _await_iter(obj):
    """The iterator ``await obj`` delegates to, with the checks of CPython's
    ``await``.  Raises what ``await`` raises."""
    if type(obj) is types.CoroutineType or _is_iterable_coroutine(obj):
        return obj
    am_await = getattr(type(obj), "__await__", None)
    if am_await is None:
        raise TypeError(f"object {type(obj).__name__} can't be used in "
                        "'await' expression")
    it = am_await(obj)
    if type(it) is types.CoroutineType or _is_iterable_coroutine(it):
        raise TypeError("__await__() returned a coroutine")
    if not hasattr(type(it), "__next__"):
        raise TypeError("__await__() returned non-iterator of type "
                        f"'{type(it).__name__}'")
    return it


def _send(it, value):
    """PyIter_Send: (YIELD|RETURN|RAISE, object)."""
    try:
        if value is None and not isinstance(
                it, (types.CoroutineType, types.GeneratorType)):
            got = next(it)
        else:
            got = it.send(value)
    except StopIteration as stop:
        return RETURN, stop.value
    except BaseException as exc:
        return RAISE, exc
    return YIELD, got


def _throw(it, exc):
    """How ``yield from`` delivers a thrown exception: through the iterator's
    throw(), or raised at the await if it has none (PEP: "the exception is
    treated as raised by the item ... and the iterator is not closed")."""
    try:
        throw = it.throw
    except AttributeError:
        return RAISE, exc
    except BaseException as error:
        return RAISE, error
    try:
        got = throw(exc)
    except StopIteration as stop:
        return RETURN, stop.value
    except BaseException as error:
        return RAISE, error
    return YIELD, got


def _close_iter(it):
    """Call it.close() if it has one; return the exception it raised."""
    try:
        close = it.close
    except AttributeError:
        return None
    except BaseException as exc:
        return exc
    try:
        close()
    except BaseException as exc:
        return exc
    return None


# ---------------------------------------------------------------------------
# The awaitable
# ---------------------------------------------------------------------------

class Awaitable(collections.abc.Coroutine):
    """PEP: "The awaitable is a coroutine: ... ``__await__()`` returns the
    object itself, and it has ``send()``, ``throw()``, ``close()``,
    ``__next__()``"."""

    def __init__(self):
        self._state = CREATED
        self._result = None
        # The running item's iterator, and what receives its outcome:
        # ("callbacks", on_result, on_error), ("enter", With) or
        # ("exit", exception or None, on_error).
        self._current = None
        self._then = None
        # "An awaitable holds a first-in, first-out queue of items."  The
        # innermost open block's items; each open block keeps the items
        # queued after its statement in .outer.
        self._scope = collections.deque()
        self._blocks = []
        self._values = []
        self._arb_values = []

    def __repr__(self):
        return f"<model awaitable {self._state} at {id(self):#x}>"

    # --- the queue ---------------------------------------------------------

    def _add(self, func, item):
        """PEP: "adding an item to an awaitable that has finished or is being
        closed" is a RuntimeError.  "An item added while the awaitable runs
        (by a callback) goes to the end of the innermost open ``async
        with`` block ... or of the queue if no block is open." """
        if self._state == DONE:
            raise RuntimeError(f"{func}: the awaitable has already finished")
        if self._state == CLOSING:
            raise RuntimeError(f"{func}: the awaitable is being closed")
        self._scope.append(item)

    def _take_pending(self):
        """Every item that has not started, at every level, in order."""
        items = list(self._scope)
        self._scope.clear()
        for block in reversed(self._blocks):
            items.extend(block.outer)
            block.outer.clear()
        return items

    def _discard(self, items):
        """PEP: "To *discard* an item is to release it without running it: if
        it is a coroutine, a generator or an awaitable, its ``close()`` is
        called first (an exception from ``close()`` is reported with
        sys.unraisablehook); its ``__await__()`` is not called, its
        callbacks are not called, and no warning is emitted." """
        for item in items:
            if not isinstance(item, Await):
                continue
            obj = item.obj
            if isinstance(obj, (types.CoroutineType, types.GeneratorType,
                                Awaitable)):
                error = _close_iter(obj)
                if error is not None:
                    _unraisable(error, self)

    def _cancel(self):
        """PEP: "Discard every item of *aw* that has not started, at every
        nesting level ...; the open blocks are still exited normally.  The
        running item, if any, runs to completion ... On a finished awaitable
        it does nothing." """
        self._discard(self._take_pending())

    # --- the coroutine protocol -------------------------------------------

    def __await__(self):
        return self

    def __iter__(self):
        return self

    def __next__(self):
        return self.send(None)

    def send(self, value):
        return self._deliver(self._step(False, value))

    def throw(self, typ, val=None, tb=None):
        if isinstance(typ, type) and issubclass(typ, BaseException):
            exc = typ() if val is None else typ(val)
        elif isinstance(typ, BaseException):
            exc = typ
        else:
            raise TypeError("exceptions must be classes or instances deriving "
                            f"from BaseException, not {type(typ).__name__}")
        if tb is not None:
            exc = exc.with_traceback(tb)
        return self._deliver(self._step(True, exc))

    @staticmethod
    def _deliver(outcome):
        kind, obj = outcome
        if kind == YIELD:
            return obj
        if kind == RETURN:
            # "The value is delivered exactly": StopIteration's single
            # argument is its value, a tuple or an exception included.
            # None, as a coroutine's, is no argument at all.
            if obj is None:
                raise StopIteration
            raise StopIteration(obj)
        raise obj

    def _step(self, throwing, arg):
        """One send() or throw(): returns (YIELD|RETURN|RAISE, object).

        PEP: "Sending to, or throwing into, a finished awaitable raises
        RuntimeError ("cannot reuse already awaited awaitable") ... Calling
        send(), throw(), close() or __next__() while the awaitable is
        running (from a callback or an item) raises ValueError ("awaitable
        already executing")."
        """
        if self._state == DONE:
            return RAISE, RuntimeError("cannot reuse already awaited awaitable")
        if self._state in (EXECUTING, CLOSING):
            return RAISE, ValueError("awaitable already executing")
        if self._state == CREATED:
            if throwing:
                # "Thrown before the first send(), the exception finishes
                # the awaitable at once, as for a coroutine that has not
                # started."
                return self._finish_with_error(arg)
            if arg is not None:
                # "Sending a value other than None to an awaitable that has
                # not started raises TypeError and leaves it usable."
                return RAISE, TypeError(
                    "can't send non-None value to a just-started awaitable")
            self._state = EXECUTING
            return self._advance(self._start_next())
        # Suspended: "Each item is awaited exactly as yield from delegates."
        self._state = EXECUTING
        it = self._current
        if not throwing:
            return self._advance(("run", _send(it, arg)))
        if isinstance(arg, GeneratorExit):
            # "throw(GeneratorExit) ... call[s] the running item's close()
            # (not its throw()) ... throw(GeneratorExit) always raises it."
            self._state = CLOSING
            self._current = None
            error = _close_iter(it)
            return self._finish_with_error(arg if error is None else error)
        return self._advance(("run", _throw(it, arg)))

    def close(self):
        """PEP: "close() ... call[s] the running item's close() (not its
        throw()), discard[s] the pending items, and exit[s] the open async
        with blocks innermost first. ... close() then returns None if the
        exception left is a GeneratorExit, and raises it otherwise"; "close()
        on [a finished awaitable] does nothing"."""
        if self._state == DONE:
            return None
        if self._state in (EXECUTING, CLOSING):
            raise ValueError("awaitable already executing")
        error = None
        if self._state == SUSPENDED:
            self._state = CLOSING
            it, self._current = self._current, None
            error = _close_iter(it)
        error = self._shut_down(error)
        if error is not None and not isinstance(error, GeneratorExit):
            raise error
        return None

    # --- running items ------------------------------------------------------
    #
    # _advance is a loop over "next" actions, each a tuple:
    #   ("run", (kind, obj))   the running await yielded, returned or raised
    #   ("settle", exc|None)   its callbacks ran: continue, or raise exc
    #   ("finish", outcome)    the step is over

    def _advance(self, action):
        while True:
            what, arg = action
            if what == "finish":
                return arg
            if what == "run":
                kind, obj = arg
                if kind == YIELD:
                    # "a value the item yields is yielded by the awaitable"
                    self._state = SUSPENDED
                    return YIELD, obj
                self._current = None
                action = ("settle", self._settle(kind == RETURN, obj))
            elif arg is None:
                # "settle", with nothing to raise: the next item
                action = self._start_next()
            else:
                action = self._unwind(arg)

    def _start_next(self):
        """Start items until one suspends; leave the innermost block when its
        items are done; return the result when everything is."""
        while True:
            if not self._scope:
                if self._blocks:
                    # "The block ends when its last item has run"
                    return self._start_exit(self._leave_block(), None)
                self._state = DONE
                result, self._result = self._result, None
                return "finish", (RETURN, result)
            item = self._scope.popleft()
            if isinstance(item, Defer):
                # "when the queue reaches the item, cb(aw) is called"
                return "settle", self._on_defer(item.callback)
            if isinstance(item, With):
                # "When the queue reaches the item, __aenter__() is awaited"
                self._then = ("enter", item)
                try:
                    entering = item.enter()
                except BaseException as exc:
                    outcome = (RAISE, exc)
                else:
                    outcome = self._start_await(entering)
                return "run", outcome
            # Items do not start before the queue reaches them: __await__()
            # is called now, and its TypeError goes to the error callback.
            try:
                it = _await_iter(item.obj)
            except BaseException as exc:
                error = exc
            else:
                error = None
            if error is not None:
                return "settle", self._on_error(item.on_error, error)
            outcome = _send(it, None)
            if outcome[0] == RETURN:
                # Finished without suspending: straight to the callback.
                error = self._on_result(item.on_result, item.on_error,
                                        outcome[1])
                if error is None:
                    continue
                return "settle", error
            self._current = it
            self._then = ("callbacks", item.on_result, item.on_error)
            return "run", outcome

    def _start_await(self, obj):
        try:
            it = _await_iter(obj)
        except BaseException as exc:
            return RAISE, exc
        self._current = it
        return _send(it, None)

    def _settle(self, returned, obj):
        """Hand the outcome of the await that finished to what waits for
        it; return the exception to raise in the awaitable, or None."""
        then, self._then = self._then, None
        if then[0] == "callbacks":
            _, on_result, on_error = then
            if returned:
                return self._on_result(on_result, on_error, obj)
            return self._on_error(on_error, obj)
        if then[0] == "enter":
            with_ = then[1]
            if not returned:
                # __aenter__ failed: the block never started; *err* "receives
                # an exception that propagates out of [the statement],
                # whether from __aenter__, the block, or __aexit__".
                return self._on_error(with_.on_error, obj)
            self._enter_block(with_.exit, with_.on_error)
            # "body ... is called with aw and its value"; an exception it
            # raises (-1 or -2) ends the block, so __aexit__ sees it: there
            # is no error callback to skip.
            return self._on_result(with_.body, None, obj)
        _, exc, on_error = then
        return self._exited(returned, obj, exc, on_error)

    # --- async with -----------------------------------------------------------

    def _enter_block(self, exit, on_error):
        """"Every item queued while the block is open ... runs inside the
        block, before __aexit__; items queued before the block was entered
        run after it.  Blocks nest." """
        self._blocks.append(Block(exit, on_error, self._scope))
        self._scope = collections.deque()

    def _leave_block(self):
        """Leave the innermost block: the items queued after its statement
        come back.  Returns the block and its items that never started
        (none if it ended normally), for the caller to discard."""
        block = self._blocks.pop()
        inner, self._scope = self._scope, block.outer
        return block, list(inner)

    def _start_exit(self, left, exc):
        """Await __aexit__ "with (None, None, None) or with the exception's
        type, value and traceback"."""
        block, unstarted = left
        self._discard(unstarted)
        self._then = ("exit", exc, block.on_error)
        try:
            if exc is None:
                exiting = block.exit(None, None, None)
            else:
                exiting = block.exit(type(exc), exc, exc.__traceback__)
        except BaseException as error:
            outcome = (RAISE, error)
        else:
            outcome = self._start_await(exiting)
        return "run", outcome

    def _exited(self, returned, obj, exc, on_error):
        """"a true result suppresses the exception"; what propagates out of
        the statement goes to its error callback *err*."""
        if returned:
            if exc is None:
                return None
            try:
                suppress = bool(obj)
            except BaseException as error:
                failed = error
            else:
                failed = None
                if suppress:
                    return None
            if failed is not None:
                _chain(failed, exc)
                exc = failed
            raised = exc
        else:
            raised = obj
            if exc is not None:
                _chain(raised, exc)
        return self._on_error(on_error, raised)

    def _unwind(self, exc):
        """An exception raised in the awaitable: the innermost open block's
        remaining items are discarded and its __aexit__ gets it; with no
        block open, "An exception that no callback handles *finishes* the
        awaitable"."""
        if self._blocks:
            return self._start_exit(self._leave_block(), exc)
        return "finish", self._finish_with_error(exc)

    # --- finishing ------------------------------------------------------------

    def _finish_with_error(self, exc):
        """"the items still queued are discarded, the result is released,
        and the exception propagates to the code awaiting it"."""
        return RAISE, self._shut_down(exc)

    def _shut_down(self, error):
        """End without running anything more: discard the items, exit the open
        blocks innermost first ("Each __aexit__ receives the exception the
        item's close() raised (or the one the previous __aexit__ raised),
        else a new GeneratorExit; its result is ignored.")  Returns the
        exception left."""
        self._state = CLOSING
        self._current = None
        self._result = None
        self._then = None
        self._discard(self._take_pending())
        blocks, self._blocks = self._blocks[::-1], []
        for block in blocks:
            error = self._exit_while_closing(block.exit, error)
        self._state = DONE
        return error

    def _exit_while_closing(self, exit, error):
        """"An __aexit__ that suspends is closed and RuntimeError is raised
        ... No callback is called." """
        exc = GeneratorExit() if error is None else error
        try:
            exiting = exit(type(exc), exc, exc.__traceback__)
        except BaseException as err:
            outcome = (RAISE, err)
        else:
            try:
                it = _await_iter(exiting)
            except BaseException as err:
                outcome = (RAISE, err)
            else:
                outcome = _send(it, None)
                if outcome[0] == YIELD:
                    close_error = _close_iter(it)
                    if close_error is not None:
                        _unraisable(close_error, exit)
                    outcome = (RAISE, RuntimeError(
                        "PyAwaitable_AsyncWith: __aexit__ suspended while the "
                        "awaitable was being closed"))
        if outcome[0] == RAISE:
            # "the one the previous __aexit__ raised", whatever it is: a
            # new GeneratorExit too, as in a coroutine closed inside
            # ``async with``.
            _chain(outcome[1], exc)
            return outcome[1]
        return exc

    # --- callbacks: the PEP's table of return codes --------------------------
    #
    # Each returns the exception to raise in the awaitable, or None to
    # continue with the next item.  "Any other combination (-1 or -2 without
    # an exception set, 0 with an exception set, any other value) raises
    # SystemError as if the callback had returned -2: the item's error
    # callback is not called, but an enclosing async with sees it.  Its
    # __context__ is the exception the callback left set, if any; for an
    # error callback, the exception being handled is chained below that."

    def _on_result(self, on_result, on_error, value):
        if on_result is None:
            return None
        code, exc = _call_handler(on_result, self, value)
        if code == CONTINUE and exc is None:
            return None            # "continue with the next item"
        if code == PROPAGATE_TO_ERROR and exc is not None:
            # "hand the exception to this item's error callback; without
            # one, it propagates"
            return self._on_error(on_error, exc)
        if code == PROPAGATE and exc is not None:
            return exc             # "propagate it; the error callback is not called"
        if code == CONTINUE:
            return _system_error("PyAwaitable result callback returned 0 "
                                 "with an exception set", exc)
        if code in (PROPAGATE_TO_ERROR, PROPAGATE):
            return _system_error("PyAwaitable result callback returned an "
                                 "error without setting an exception")
        return _system_error("PyAwaitable result callback returned a value "
                             "other than 0, -1 or -2", exc)

    def _on_error(self, on_error, exc):
        """An error callback "is called with no exception set"."""
        if on_error is None:
            return exc
        code, new = _call_handler(on_error, self, exc)
        if code == CONTINUE and new is None:
            return None            # "swallow the exception"
        if code == PROPAGATE_TO_ERROR:
            if new is not None:
                # "an exception the callback left set is reported with
                # sys.unraisablehook"
                _unraisable(new, self)
            return exc             # "re-raise the original exception"
        if code == PROPAGATE and new is not None:
            _chain(new, exc)       # "the original becomes its __context__"
            return new
        if code == CONTINUE:
            _chain(new, exc)
            return _system_error("PyAwaitable error callback returned 0 "
                                 "with an exception set", new)
        if code == PROPAGATE:
            return _system_error("PyAwaitable error callback returned -2 "
                                 "without setting an exception", exc)
        if new is not None:
            _chain(new, exc)
        return _system_error("PyAwaitable error callback returned a value "
                             "other than 0, -1 or -2",
                             exc if new is None else new)

    def _on_defer(self, callback):
        """"deferred 0: continue; -1, -2: (exception set) raise it; there is
        no error callback"."""
        code, exc = _call_handler(callback, self)
        if code == CONTINUE and exc is None:
            return None
        if code in (PROPAGATE_TO_ERROR, PROPAGATE) and exc is not None:
            return exc
        if code == CONTINUE:
            return _system_error("PyAwaitable defer callback returned 0 "
                                 "with an exception set", exc)
        if code in (PROPAGATE_TO_ERROR, PROPAGATE):
            return _system_error("PyAwaitable defer callback returned an "
                                 "error without setting an exception")
        return _system_error("PyAwaitable defer callback returned a value "
                             "other than 0, -1 or -2", exc)


# ---------------------------------------------------------------------------
# The API, with harness.py's signatures
# ---------------------------------------------------------------------------

def new():
    """PyAwaitable_New(): "a new, empty awaitable ... Its result is None
    until set"."""
    return Awaitable()


def check(op):
    return isinstance(op, Awaitable)


def _check_item(func, aw, coro):
    if coro is aw:
        raise ValueError(f"{func}: an awaitable cannot await itself")
    if not _can_await(coro):
        raise TypeError(f"{func}: object {type(coro).__name__} can't be used "
                        "in 'await' expression")


def add_await(aw, coro, on_result=None, on_error=None):
    """PyAwaitable_AddAwait: queue ``await coro``; on_result gets its
    value, on_error its exception."""
    _check_item("PyAwaitable_AddAwait", aw, coro)
    aw._add("PyAwaitable_AddAwait", Await(coro, on_result, on_error))


def add_expr(aw, expr, on_result=None, on_error=None):
    """PyAwaitable_AddExpr; as in harness.py, an exception instance stands
    for a NULL *expr* with that exception set: "return -1 and leave that
    exception set"."""
    if isinstance(expr, BaseException):
        raise expr
    _check_item("PyAwaitable_AddExpr", aw, expr)
    aw._add("PyAwaitable_AddExpr", Await(expr, on_result, on_error))


def defer_await(aw, handler):
    """PyAwaitable_DeferAwait: call handler(aw) when the queue reaches it."""
    aw._add("PyAwaitable_DeferAwait", Defer(handler))


def _lookup_special(obj, name):
    """type(obj).name bound to obj, as the interpreter finds special
    methods (the type's MRO only, through descriptors)."""
    for base in type(obj).__mro__:
        if name in base.__dict__:
            attr = base.__dict__[name]
            get = getattr(type(attr), "__get__", None)
            return attr if get is None else get(attr, obj, type(obj))
    return None


def async_with(aw, ctx, body=None, on_error=None):
    """PyAwaitable_AsyncWith: queue ``async with ctx as value: body(aw,
    value)``.  "__aenter__ and __aexit__ are looked up on the type of ctx
    at this call"."""
    enter = _lookup_special(ctx, "__aenter__")
    exit = _lookup_special(ctx, "__aexit__")
    if enter is None or exit is None:
        missing = "__aenter__" if enter is None else "__aexit__"
        raise TypeError(
            f"PyAwaitable_AsyncWith: '{type(ctx).__name__}' object does not "
            "support the asynchronous context manager protocol "
            f"(missed {missing} method)")
    aw._add("PyAwaitable_AsyncWith", With(enter, exit, body, on_error))


def cancel(aw):
    """PyAwaitable_Cancel."""
    aw._cancel()


def set_result(aw, value):
    """PyAwaitable_SetResult: "It may be called at any time.  On a finished
    awaitable it succeeds but changes nothing that was returned." """
    aw._result = value


# --- saved values ("Both keep save order across calls and live until the
# awaitable is deallocated"; they work in every state) ----------------------

def _index(func, values, index):
    if not 0 <= index < len(values):
        raise IndexError(f"{func}: index {index} out of range "
                         f"({len(values)} values saved)")


def _unpack(func, values, n):
    if n < 0:
        raise ValueError(f"{func}: count must be non-negative, got {n}")
    if n > len(values):
        raise ValueError(f"{func}: cannot unpack {n} values "
                         f"({len(values)} saved)")
    return tuple(values[:n])


def save_values(aw, *values):
    aw._values.extend(values)


def unpack_values(aw, n):
    return _unpack("PyAwaitable_UnpackValuesArray", aw._values, n)


def get_value(aw, index):
    _index("PyAwaitable_GetValue", aw._values, index)
    return aw._values[index]


def set_value(aw, index, value):
    _index("PyAwaitable_SetValue", aw._values, index)
    aw._values[index] = value


def values_size(aw):
    return len(aw._values)


def save_arb_values(aw, *values):
    aw._arb_values.extend(values)


def unpack_arb_values(aw, n):
    return _unpack("PyAwaitable_UnpackArbValuesArray", aw._arb_values, n)


def get_arb_value(aw, index):
    _index("PyAwaitable_GetArbValue", aw._arb_values, index)
    return aw._arb_values[index]


def set_arb_value(aw, index, value):
    _index("PyAwaitable_SetArbValue", aw._arb_values, index)
    aw._arb_values[index] = value


def arb_values_size(aw):
    return len(aw._arb_values)


def trampoline(coro):
    """_testawaitable.trampoline: ``async def f(coro): return await coro``."""
    aw = new()
    add_await(aw, coro, set_result)
    return aw
