"""Never-awaited warnings, garbage collection and reference counts.

Rules 7 and 8 of the foundation issue, and exact refcounts.
"""

import asyncio
import gc
import re
import subprocess
import sys
import textwrap
import weakref

import pytest

import _testawaitable as ext
import build
from harness import add_await, guarded, run


async def returns(value):
    return value


async def suspends(value):
    await asyncio.sleep(0)
    return value


def type_name():
    """The awaitable type's name as its repr() shows it."""
    return "awaitable" if ext.NATIVE else "pyawaitable_backport.awaitable"


def never_awaited_warnings(make):
    """Warnings recorded while an awaitable made by make() is dropped."""
    with pytest.warns() as record:
        aw = make()
        del aw
        gc.collect()
    return [str(w.message) for w in record]


class TestNeverAwaited:
    def test_one_warning_for_queued_items(self):
        coros = [suspends(1), suspends(2)]

        def make():
            aw = ext.new()
            for coro in coros:
                ext.add_await(aw, coro)
            return aw

        messages = never_awaited_warnings(make)
        assert len(messages) == 1
        assert re.fullmatch(rf"<{re.escape(type_name())} object at 0x[0-9a-f]+>"
                            " was never awaited", messages[0])
        # The queued coroutines were closed, so they did not warn too.
        assert all(coro.cr_frame is None for coro in coros)

    @pytest.mark.parametrize("case", ["empty", "result only", "awaited",
                                      "closed", "failed"])
    def test_no_warning(self, case):
        if case == "empty":
            aw = ext.new()
        elif case == "result only":
            aw = ext.value(1)
        else:
            aw = ext.trampoline(suspends(1))
            aw.send(None)
            if case == "awaited":
                with pytest.raises(StopIteration):
                    aw.send(None)
            elif case == "closed":
                aw.close()
            else:
                with pytest.raises(KeyError):
                    aw.throw(KeyError)
        del aw
        gc.collect()  # filterwarnings=error: any warning fails the test

    def test_suspended_awaitable_dropped_closes_inner(self):
        log = []

        aw = ext.trampoline(guarded(log))
        aw.send(None)
        del aw
        assert log == ["finally"]

    def test_exception_pending_at_deallocation(self):
        holder = [ext.trampoline(suspends(1))]
        with pytest.warns(RuntimeWarning, match="was never awaited"):
            with pytest.raises(LookupError, match="pending during dealloc"):
                ext.drop_with_error_set(holder)

    @pytest.mark.refleak_exempt("it builds an extension and runs it in a child "
                                "process, where the parent cannot count")
    @pytest.mark.parametrize("flags", [["-W", "error"], ["-X", "dev"],
                                       ["-X", "dev", "-W", "error"]],
                             ids=" ".join)
    def test_safe_under_strict_flags(self, flags, tmp_path):
        code = textwrap.dedent("""
            import asyncio, gc, sys
            sys.path.insert(0, sys.argv[1])
            import _testawaitable as ext

            async def inner():
                await asyncio.sleep(0)

            seen = []
            sys.unraisablehook = lambda u: seen.append(str(u.exc_value))
            aw = ext.trampoline(inner())
            del aw
            gc.collect()
            print(len(seen), seen)
            holder = [ext.trampoline(inner())]
            try:
                ext.drop_with_error_set(holder)
            except LookupError:
                print("pending kept")
            print(asyncio.run(ext.trampoline(inner())))
        """)
        build_dir = build.build("_testawaitable", tmp_path)
        out = subprocess.run([sys.executable, *flags, "-c", code, str(build_dir)],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        lines = out.stdout.splitlines()
        strict = "error" in flags
        if strict:
            # The warning became an exception with nowhere to go: reported
            # through sys.unraisablehook, never a crash.
            assert lines[0].startswith("1 ") and "never awaited" in lines[0]
        else:
            assert lines[0] == "0 []"
            assert "never awaited" in out.stderr
        assert lines[1:] == ["pending kept", "None"]


class TestGarbageCollection:
    def test_cycle_through_queued_coroutine(self):
        async def holds(ref):
            await asyncio.sleep(0)

        holder = []
        coro = holds(holder)
        aw = ext.trampoline(coro)
        holder.append(aw)           # aw -> coro -> holder -> aw
        alive = weakref.ref(aw)
        del aw, coro, holder
        with pytest.warns(RuntimeWarning, match="was never awaited"):
            gc.collect()
        assert alive() is None

    def test_cycle_through_suspended_item(self):
        log = []

        holder = []
        aw = ext.trampoline(guarded(log, holder))
        holder.append(aw)
        aw.send(None)
        alive = weakref.ref(aw)
        del aw, holder
        gc.collect()
        assert alive() is None
        assert log == ["finally"]

    def test_cycle_through_result_and_values(self):
        aw = ext.new()
        box = [aw]
        ext.set_result(aw, box)
        ext.save_values(aw, box)
        alive = weakref.ref(aw)
        del aw, box
        gc.collect()
        assert alive() is None

    def test_traverse_reports_references(self):
        coro = suspends(1)
        result = object()
        saved = object()
        aw = ext.trampoline(coro)
        ext.set_result(aw, result)
        ext.save_values(aw, saved)
        referents = gc.get_referents(aw)
        assert coro in referents and result in referents and saved in referents
        assert type(aw) in referents
        aw.close()


class TestRefcounts:
    def test_result_not_leaked(self):
        value = object()
        before = sys.getrefcount(value)
        for _ in range(100):
            assert run(ext.trampoline(returns(value))) is value
            assert asyncio.run(ext.trampoline(suspends(value))) is value
        assert sys.getrefcount(value) == before

    def test_set_result_twice_releases_the_first(self):
        first, second = object(), object()
        before = sys.getrefcount(first), sys.getrefcount(second)
        for _ in range(100):
            aw = ext.value(first)
            ext.set_result(aw, second)
            assert run(aw) is second
        del aw
        assert (sys.getrefcount(first), sys.getrefcount(second)) == before

    def test_callback_arguments_not_leaked(self):
        value = object()
        exc = KeyError()
        before = sys.getrefcount(value), sys.getrefcount(exc)

        async def fails():
            raise exc

        for _ in range(100):
            aw = ext.new()
            add_await(aw, returns(value), lambda aw, v: None)
            add_await(aw, fails(), on_error=lambda aw, e: 0)
            run(aw)
        del aw
        exc.__traceback__ = None
        assert (sys.getrefcount(value), sys.getrefcount(exc)) == before

    def test_rejected_items_not_leaked(self):
        obj = object()
        before = sys.getrefcount(obj)
        aw = ext.new()
        for _ in range(100):
            with pytest.raises(TypeError):
                ext.add_await(aw, obj)
            with pytest.raises(TypeError):
                ext.add_expr(aw, obj)
        assert sys.getrefcount(obj) == before

    def test_awaitables_freed(self):
        refs = [weakref.ref(ext.value(i)) for i in range(10)]
        assert all(r() is None for r in refs)


class TestReuse:
    """Freed awaitables may be reused (the backport keeps a freelist); a
    reused object must be indistinguishable from a fresh one."""

    def test_every_dropped_awaitable_warns(self):
        # A finalized object must never come back with its "finalized"
        # mark: the next one would then skip its finalizer and not warn.
        for i in range(5):
            coro = suspends(i)

            def make():
                aw = ext.new()
                ext.add_await(aw, coro)
                return aw

            assert len(never_awaited_warnings(make)) == 1
            assert coro.cr_frame is None

    def test_finalized_in_a_cycle_then_reused(self):
        closed = []

        async def holds(holder):
            try:
                await asyncio.sleep(0)
            finally:
                closed.append(holder)

        for i in range(3):
            aw = ext.new()
            ext.add_await(aw, holds([aw]))
            assert ext.send(aw, None)[0] == "next"  # suspended in sleep(0)
            del aw
            gc.collect()  # finalizes the cycle: the coroutine is closed
            assert len(closed) == i + 1
        closed.clear()  # break the cycles the holders make
        gc.collect()
        # New awaitables still work and are still finalized.
        assert run(ext.trampoline(returns(1))) == 1
        self.test_every_dropped_awaitable_warns()

    def test_reused_object_is_fresh(self):
        for i in range(200):
            aw = ext.trampoline(returns(i))
            assert gc.is_tracked(aw)
            assert weakref.getweakrefcount(aw) == 0
            with pytest.raises(IndexError):
                ext.get_value(aw, 0)
            ref = weakref.ref(aw)
            assert run(aw) == i
            del aw
            assert ref() is None

    def test_many_alive_at_once(self):
        # More than any freelist holds, freed in two orders.
        for index in (0, -1):
            aws = [ext.trampoline(returns(i)) for i in range(300)]
            assert [run(aw) for aw in aws] == list(range(300))
            while aws:
                del aws[index]
        assert run(ext.value("after")) == "after"
