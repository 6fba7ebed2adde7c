"""Misuse details beyond the table of test_misuse.py; saved
values; the package and PyAwaitable_Init()."""

import pathlib
import subprocess
import sys
import textwrap

import pytest

import _testawaitable as ext
import build
from harness import add_await, run


async def returns(value):
    return value


class TestMisuse:
    """The table of misuse is tests/test_misuse.py; these are the details
    it does not show."""

    def test_null_expr_without_exception(self):
        # Checked before the awaitable: NULL means "an exception is set".
        with pytest.raises(ValueError, match="PyAwaitable_AddExpr: expr is NULL"):
            ext.call_with_null("AddExpr")

    def test_null_value_saves_nothing(self):
        aw = ext.new()
        with pytest.raises(ValueError,
                           match="PyAwaitable_SaveValuesArray: value 1 is NULL"):
            ext.call_with_null("SaveValues", aw)
        with pytest.raises(ValueError, match=r"cannot unpack 1 values \(0 saved"):
            ext.unpack_values(aw, 1)


class TestValues:
    def test_save_order_across_calls(self):
        a, b, c = object(), object(), object()
        aw = ext.new()
        ext.save_values(aw, a)
        ext.save_values(aw, b, c)
        assert ext.unpack_values(aw, 3) == (a, b, c)
        assert ext.unpack_values(aw, 1) == (a,)
        assert ext.unpack3(aw) == (a, c)
        assert [ext.get_value(aw, i) for i in range(3)] == [a, b, c]

    def test_values_live_until_callbacks(self):
        kept = object()
        seen = []
        aw = ext.new()
        ext.save_values(aw, kept)
        add_await(aw, returns(1), lambda aw, v: seen.append(ext.get_value(aw, 0)))
        del kept
        run(aw)
        assert len(seen) == 1 and type(seen[0]) is object

    def test_set_value_refcounts(self):
        old, new = object(), object()
        before = sys.getrefcount(old), sys.getrefcount(new)
        aw = ext.new()
        ext.save_values(aw, old)
        ext.set_value(aw, 0, new)
        assert ext.get_value(aw, 0) is new
        assert sys.getrefcount(old) == before[0]
        del aw
        assert (sys.getrefcount(old), sys.getrefcount(new)) == before

    @pytest.mark.parametrize("index", [-1, 1, 2**40])
    def test_bad_index(self, index):
        aw = ext.new()
        ext.save_values(aw, 1)
        with pytest.raises(IndexError, match="PyAwaitable_GetValue: index"):
            ext.get_value(aw, index)
        with pytest.raises(IndexError, match="PyAwaitable_SetValue: index"):
            ext.set_value(aw, index, 2)

    def test_unpack_more_than_saved(self):
        aw = ext.new()
        ext.save_values(aw, 1)
        with pytest.raises(ValueError, match="cannot unpack 2 values"):
            ext.unpack_values(aw, 2)
        with pytest.raises(ValueError, match="non-negative"):
            ext.unpack_values(aw, -1)


class TestPackage:
    def test_get_include(self):
        pyawaitable_backport = pytest.importorskip("pyawaitable_backport")
        include = pathlib.Path(pyawaitable_backport.get_include())
        assert (include / "pyawaitable.h").is_file()

    def test_main_include(self):
        pyawaitable_backport = pytest.importorskip("pyawaitable_backport")
        out = subprocess.run(
            [sys.executable, "-m", "pyawaitable_backport", "--include"],
            capture_output=True, text=True, check=True)
        assert out.stdout.strip() == pyawaitable_backport.get_include()

    @pytest.mark.refleak_exempt("it builds an extension and runs it in a child "
                                "process, where the parent cannot count")
    def test_init_without_runtime(self, tmp_path):
        pytest.importorskip("pyawaitable_backport")
        code = textwrap.dedent("""
            import sys
            sys.path.insert(0, sys.argv[1])
            sys.modules["pyawaitable_backport._runtime"] = None
            try:
                import _testawaitable
            except ImportError as exc:
                print(exc)
                print(type(exc.__cause__).__name__)
        """)
        out = subprocess.run(
            [sys.executable, "-c", code,
             str(build.build("_testawaitable", tmp_path))],
            capture_output=True, text=True, check=True)
        message, cause = out.stdout.splitlines()
        assert message.startswith("PyAwaitable_Init: the pyawaitable_backport "
                                  "runtime cannot be imported")
        assert cause in ("ImportError", "ModuleNotFoundError")

    def test_one_type_per_interpreter(self):
        pyawaitable_backport = pytest.importorskip("pyawaitable_backport")
        import importlib
        import pyawaitable_backport._runtime as runtime
        sys.modules.pop("pyawaitable_backport._runtime")
        try:
            again = importlib.import_module("pyawaitable_backport._runtime")
        finally:
            sys.modules["pyawaitable_backport._runtime"] = runtime
        assert again is not runtime
        assert again.awaitable is runtime.awaitable is ext.get_type()
        assert pyawaitable_backport.awaitable is ext.get_type()


class TestEveryFunction:
    def test_sizes(self):
        aw = ext.new()
        assert ext.api("ValuesSize", aw) == ext.api("ArbValuesSize", aw) == 0
        ext.api("SaveValues", aw, 2)
        ext.api("SaveArbValuesArray", aw, 1)
        assert ext.api("ValuesSize", aw) == 2
        assert ext.api("ArbValuesSize", aw) == 1


class TestValueReferences:
    def cycle(self, a, b):
        aw = ext.new()
        ext.save_values(aw, a, a)
        ext.set_value(aw, 1, b)
        add_await(aw, returns(None),
                  lambda aw, v: ext.set_result(aw, ext.get_value(aw, 1)))
        assert run(aw) is b

    def test_no_leak_over_10000_cycles(self):
        a, b = object(), object()
        self.cycle(a, b)
        before = sys.getrefcount(a), sys.getrefcount(b)
        total = getattr(sys, "gettotalrefcount", lambda: 0)
        start = total()
        for _ in range(10_000):
            self.cycle(a, b)
        # Debug builds count every reference; allow interpreter noise.
        assert abs(total() - start) < 100
        assert (sys.getrefcount(a), sys.getrefcount(b)) == before
