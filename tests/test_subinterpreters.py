"""Awaitables in subinterpreters (3.12 and newer).

An interpreter with its own GIL imports only extensions that declare
per-interpreter-GIL support: the backport's runtime does, and so does
_testawaitable.  Each interpreter gets its own awaitable type from the
backport (created in its exec, kept in the interpreter's state dict); a
patched interpreter's type is a static builtin type, shared by every
interpreter as int is.

Scripts run with the low-level module (_xxsubinterpreters on 3.12,
_interpreters on 3.13): test.support.interpreters wraps it with an API
that differs between the two versions.  A script reports through a pipe
and fails by raising, which fails the test with the subinterpreter's
error.
"""

import os
import sys
import textwrap

import pytest

import _testawaitable as ext
from harness import run_threads

if sys.version_info >= (3, 13):
    import _interpreters

    def create(isolated=True):
        return _interpreters.create("isolated" if isolated else "legacy")

    def run_string(interp, script):
        failure = _interpreters.run_string(interp, script)
        if failure is not None:
            raise AssertionError(f"in the subinterpreter:\n"
                                 f"{failure.errdisplay}")
elif sys.version_info >= (3, 12):
    import _xxsubinterpreters as _interpreters

    def create(isolated=True):
        return _interpreters.create(isolated=isolated)

    def run_string(interp, script):
        # Raises RunFailedError naming the exception.
        _interpreters.run_string(interp, script)
else:
    pytest.skip("interpreters with their own GIL, and the modules that "
                "create them, are new in 3.12", allow_module_level=True)

TIMEOUT = 60  # seconds; only reached if something hangs

# Sets up a subinterpreter like this process (the test extensions are on
# the path conftest.py set), then awaits awaitables of each kind; it writes
# "<id of the awaitable type> <id of the runtime module>" to the pipe.
#
# They run under asyncio.run(), except in an isolated interpreter on 3.12:
# its _asyncio keeps a freelist in a static (python/cpython#91375), and the
# process aborts at exit after an isolated interpreter imported it.  Only
# the main task: on 3.13.15 debug builds every interpreter that created
# another task leaks about 1,300 references when destroyed (plain
# coroutines in asyncio.gather() do too), which refleak mode would blame on
# these tests.
SCRIPT = """\
import sys
sys.path[:] = {path!r}
import os
import types

import _testawaitable as ext


@types.coroutine
def pause():
    # A bare yield: asyncio's task and the loop below both resume it.
    yield


async def twice(x):
    await pause()
    return 2 * x


async def main(n):
    for i in range(n):
        got = await ext.trampoline(twice(i))
        assert got == 2 * i, (i, got)
    got = await ext.chain(5, lambda: twice(1))
    assert got == 5, got
    got = await ext.value("value")
    assert got == "value", got


if {use_asyncio}:
    import asyncio
    asyncio.run(main({count}))
else:
    coro = main({count})
    try:
        while True:
            coro.send(None)
    except StopIteration:
        pass
tp = type(ext.value(None))
assert tp is ext.get_type(), (tp, ext.get_type())
runtime = sys.modules.get("pyawaitable_backport._runtime")
os.write({fd}, f"{{id(tp)}} {{id(runtime)}}".encode())
"""


def awaitable_script(fd, count=100, isolated=True):
    use_asyncio = not isolated or sys.version_info >= (3, 13)
    return SCRIPT.format(path=sys.path, fd=fd, count=count,
                         use_asyncio=use_asyncio)


def run_in_new(script, isolated=True):
    interp = create(isolated)
    try:
        run_string(interp, script)
    finally:
        _interpreters.destroy(interp)


def run_and_read(script, isolated=True):
    """Run script in a new interpreter; return what it wrote to the
    pipe (its file descriptor is {fd} in script)."""
    r, w = os.pipe()
    try:
        run_in_new(script.replace("{fd}", str(w)), isolated)
        os.close(w)
        w = None
        with os.fdopen(r, "rb") as f:
            r = None
            return f.read().decode()
    finally:
        for fd in (r, w):
            if fd is not None:
                os.close(fd)


def main_ids():
    runtime = sys.modules.get("pyawaitable_backport._runtime")
    return id(type(ext.value(None))), id(runtime)


def check_ids(report):
    """The subinterpreter's type and runtime are its own (backport) or the
    interpreter's single static type (native)."""
    sub_type, sub_runtime = (int(word) for word in report.split())
    main_type, main_runtime = main_ids()
    if ext.NATIVE:
        assert sub_type == main_type
        assert sub_runtime == main_runtime == id(None)
    else:
        assert sub_type != main_type
        assert sub_runtime != main_runtime


def test_awaitables_in_own_gil_interpreter():
    check_ids(run_and_read(awaitable_script("{fd}")))


def test_legacy_interpreter():
    # A shared-GIL interpreter also imports extensions that declare no
    # multi-interpreter support, such as _testasync (METH_ASYNC).
    script = awaitable_script("{fd}", isolated=False) + textwrap.dedent("""
        import asyncio
        import _testasync
        got = asyncio.run(_testasync.hello(twice(21)))
        assert got == "Hello, 42!", got
        got = asyncio.run(_testasync.Widget().echo("echo"))
        assert got == "echo", got
    """)
    check_ids(run_and_read(script, isolated=False))


def test_interpreters_in_parallel_threads():
    # Several threads, each creating, using and destroying its own
    # interpreters: imports of the runtime and the extension, and the
    # awaitables, run concurrently (no GIL is shared).
    # A debug build in refleak mode runs it 7 times, each several times
    # slower.
    nthreads, rounds = 4, 1 if hasattr(sys, "gettotalrefcount") else 2
    reports = [[] for _ in range(nthreads)]

    def worker(k):
        for _ in range(rounds):
            reports[k].append(run_and_read(awaitable_script("{fd}", 200)))

    run_threads([lambda k=k: worker(k) for k in range(nthreads)], TIMEOUT)
    for report in (r for rs in reports for r in rs):
        check_ids(report)


def test_destroyed_with_awaitables_alive():
    # An interpreter destroyed while it holds a suspended awaitable, an
    # unstarted one and one in a reference cycle finalizes them as it
    # would coroutines: the suspended item is closed (its finally block
    # reports through the pipe), the unstarted one is discarded without
    # running.  The main interpreter's awaitables are unaffected.
    script = textwrap.dedent(f"""
        import sys
        sys.path[:] = {sys.path!r}
        import os
        import types
        import _testawaitable as ext

        @types.coroutine
        def suspends(name, write=os.write):
            # os.write is bound now: finalization may clear the globals.
            try:
                yield "suspended"
            finally:
                write({{fd}}, name.encode() + b" closed;")

        suspended = ext.trampoline(suspends("suspended"))
        assert suspended.send(None) == "suspended"
        unstarted = ext.trampoline(suspends("unstarted"))
        cycle = ext.trampoline(suspends("cycle"))
        assert cycle.send(None) == "suspended"
        ext.save_values(cycle, cycle)
    """)
    main = ext.value("main")
    for _ in range(3):
        report = run_and_read(script)
        assert sorted(report.split(";")) == ["", "cycle closed",
                                             "suspended closed"]
    with pytest.raises(StopIteration) as stop:
        main.send(None)
    assert stop.value.value == "main"


def test_extension_without_support_is_refused():
    # _testasync declares no per-interpreter-GIL support (its static type
    # is shared): an isolated interpreter refuses it instead of sharing it.
    script = textwrap.dedent(f"""
        import sys
        sys.path[:] = {sys.path!r}
        try:
            import _testasync
        except ImportError as exc:
            assert "does not support loading in subinterpreters" in str(exc)
        else:
            raise AssertionError("_testasync was imported")
    """)
    run_in_new(script)
