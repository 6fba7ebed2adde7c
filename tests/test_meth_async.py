"""METH_ASYNC: async functions and methods declared in a PyMethodDef.

The C side is tests/ext/_testasync.c: each entry returns what it was
called with, as ("convention", self, a, b).
"""

import asyncio
import gc
import inspect
import pickle
import sys
import types
import warnings
import weakref

import pytest

import _testasync as m
import _testawaitable as ext
from harness import run

ASYNC = m.METH_ASYNC
METH_VARARGS, METH_KEYWORDS, METH_NOARGS, METH_O = 0x1, 0x2, 0x4, 0x8
METH_CLASS, METH_STATIC, METH_FASTCALL, METH_METHOD = 0x10, 0x20, 0x80, 0x200


async def value(v):
    return v


def test_flag_value():
    assert ASYNC == 0x0400


# ---------------------------------------------------------------------------
# Calling conventions
# ---------------------------------------------------------------------------

def _owners():
    """(self the C function gets, how to reach its entries) for each place
    an entry can live."""
    w, s = m.Widget(), m.StaticWidget()
    return [
        pytest.param(m, m, id="module"),
        pytest.param(w, w, id="heap-instance"),
        pytest.param(s, s, id="static-instance"),
    ]


@pytest.mark.parametrize("slf, owner", _owners())
class TestConventions:
    def test_noargs(self, slf, owner):
        assert run(owner.noargs()) == ("noargs", slf, None, None)

    def test_o(self, slf, owner):
        arg = object()
        assert run(owner.o(arg)) == ("o", slf, arg, None)

    def test_varargs(self, slf, owner):
        assert run(owner.varargs()) == ("varargs", slf, (), None)
        assert run(owner.varargs(1, 2)) == ("varargs", slf, (1, 2), None)

    def test_varargs_keywords(self, slf, owner):
        assert run(owner.varargs_kw(1)) == ("varargs_kw", slf, (1,), None)
        assert (run(owner.varargs_kw(1, a=2, b=3))
                == ("varargs_kw", slf, (1,), {"a": 2, "b": 3}))
        assert (run(owner.varargs_kw(**{"x": 1}))
                == ("varargs_kw", slf, (), {"x": 1}))

    def test_fastcall(self, slf, owner):
        assert run(owner.fast()) == ("fast", slf, (), None)
        assert run(owner.fast(1, 2, 3)) == ("fast", slf, (1, 2, 3), None)

    def test_fastcall_keywords(self, slf, owner):
        assert run(owner.fast_kw(1)) == ("fast_kw", slf, (1,), None)
        assert (run(owner.fast_kw(1, 2, k=3))
                == ("fast_kw", slf, (1, 2), {"k": 3}))

    def test_through_call(self, slf, owner):
        # tp_call (no vectorcall at the call site) reaches the same code.
        f = owner.fast_kw
        assert (run(type(f).__call__(f, 1, k=2))
                == ("fast_kw", slf, (1,), {"k": 2}))


@pytest.mark.parametrize("cls", [m.Widget, m.StaticWidget], ids=["heap", "static"])
class TestMethods:
    def test_unbound_call(self, cls):
        obj = cls()
        assert run(cls.o(obj, 1)) == ("o", obj, 1, None)
        assert run(cls.noargs(obj)) == ("noargs", obj, None, None)

    def test_unbound_call_checks_self(self, cls):
        with pytest.raises(TypeError, match="needs an argument"):
            cls.o()
        with pytest.raises(TypeError,
                           match="descriptor 'o' for '_testasync.*' objects "
                                 "doesn't apply to a 'int' object"):
            cls.o(1, 2)
        with pytest.raises(TypeError, match="doesn't apply to a 'int'"):
            cls.__dict__["o"].__get__(1, int)

    def test_class_method(self, cls):
        assert run(cls.klass(1)) == ("o", cls, 1, None)
        assert run(cls().klass(2)) == ("o", cls, 2, None)
        descr = cls.__dict__["klass"]
        assert run(descr(cls, 3)) == ("o", cls, 3, None)
        assert run(descr.__get__(None, cls)(4)) == ("o", cls, 4, None)

    @pytest.mark.parametrize("misuse", [
        lambda d, cls: d(), lambda d, cls: d(k=1), lambda d, cls: d(1, 2),
        lambda d, cls: d(int, 2), lambda d, cls: d(object, 2),
        lambda d, cls: type(d).__call__(d),
        lambda d, cls: type(d).__call__(d, int, 2),
        lambda d, cls: d.__get__(None, int), lambda d, cls: d.__get__(1),
        lambda d, cls: d.__get__(1, None), lambda d, cls: d.__get__(None, 1),
        lambda d, cls: d.__get__(cls(), 1), lambda d, cls: d.__get__(None),
    ], ids=["no args", "only keywords", "not a type", "not a subtype",
            "a base type", "tp_call no args", "tp_call not a subtype",
            "get not a subtype", "get instance of another type",
            "get instance and None", "get not a type",
            "get own instance and not a type", "get None None"])
    def test_class_method_checks_class(self, cls, misuse):
        # The errors of CPython's classmethod_descriptor for the same
        # misuse of a plain METH_CLASS entry of the same type.
        def error(name):
            with pytest.raises(TypeError) as info:
                misuse(cls.__dict__[name], cls)
            return str(info.value)

        expected = error("sync_klass").replace("'sync_klass'", "'klass'")
        assert error("klass") == expected

    def test_static_method(self, cls):
        # As CPython's own METH_STATIC: self is the type.
        assert run(cls.static(1)) == ("o", cls, 1, None)
        assert run(cls().static(2)) == ("o", cls, 2, None)
        assert isinstance(cls.__dict__["static"], staticmethod)

    def test_coexist(self, cls):
        # Without METH_COEXIST the slot wrapper stays; with it, the entry
        # replaces it.
        obj = cls()
        assert len(obj) == 7
        assert type(cls.__dict__["__len__"]).__name__ == "wrapper_descriptor"
        assert run(obj.__contains__(5)) == ("o", obj, 5, None)
        assert 5 in obj  # the slot itself is unchanged

    def test_sync_entries_untouched(self, cls):
        obj = cls()
        assert type(cls.__dict__["sync"]).__name__ == "method_descriptor"
        assert obj.sync(1) == ("sync", 1)


class TestDefiningClass:
    def test_subclass_instance(self):
        sub = type("Sub", (m.Widget,), {})()
        assert run(sub.o(1)) == ("o", sub, 1, None)

    def test_instance_method(self):
        w = m.Widget()
        assert (run(w.defining_class(1, k=2))
                == ("method", w, m.Widget, (1,), {"k": 2}))
        assert (run(m.Widget.defining_class(w))
                == ("method", w, m.Widget, (), None))

    def test_through_subclass(self):
        # The class that defined the method, not the instance's class.
        Sub = type("Sub", (m.Widget,), {})
        sub = Sub()
        assert run(sub.defining_class()) == ("method", sub, m.Widget, (), None)
        assert (run(Sub.klass_method(1))
                == ("method", Sub, m.Widget, (1,), None))


class TestAddFromOtherArrays:
    def test_module(self):
        assert run(m.extra_async(1)) == ("o", m, 1, None)
        assert m.extra_sync(2) == ("sync", 2)
        assert type(m.extra_sync) is types.BuiltinFunctionType

    def test_type(self):
        w = m.Widget()
        assert run(w.extra(1)) == ("o", w, 1, None)
        assert w.extra_sync(2) == ("sync", 2)
        # An existing attribute stays unless the entry has METH_COEXIST.
        assert w.kept(3) == ("sync", 3)
        assert run(w.replaced(4)) == ("o", w, 4, None)


# ---------------------------------------------------------------------------
# What a call does
# ---------------------------------------------------------------------------

class TestCall:
    def test_example_from_the_proposal(self):
        # hello(self, awaitable, args) with METH_VARARGS | METH_ASYNC.
        async def main():
            return await m.hello(value("world"))
        assert asyncio.run(main()) == "Hello, world!"

    def test_returns_a_pyawaitable(self):
        aw = m.echo(1)
        assert ext.check(aw)
        assert inspect.isawaitable(aw)
        assert run(aw) == 1

    def test_runs_eagerly(self):
        before = len(m.get_kept())
        aw = m.keep_awaitable()
        kept = m.get_kept()
        assert len(kept) == before + 1
        assert kept[-1] is aw  # the caller gets the function's awaitable
        assert run(aw) is None
        del kept[-1]

    @pytest.mark.parametrize("result", [
        None, 0, "text", (1, 2), (), [3], ValueError("a value"),
        StopIteration(5),
    ], ids=repr)
    def test_result_exact(self, result):
        assert run(m.echo(result)) is result

    def test_result_under_asyncio(self):
        async def main():
            return await m.echo((1, 2))
        assert asyncio.run(main()) == (1, 2)

    def test_callbacks_replace_result(self):
        assert run(m.then_await("first", value("second"))) == "second"

    def test_fresh_awaitable_per_call(self):
        a, b = m.echo(1), m.echo(2)
        assert a is not b
        assert (run(a), run(b)) == (1, 2)

    def test_error_raised_from_call(self):
        coro = value(1)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(ValueError, match="queue_then_fail failed"):
                m.queue_then_fail(coro)
            gc.collect()
        # The queued coroutine was closed, without a never-awaited warning.
        assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED

    def test_null_without_exception(self):
        with pytest.raises(SystemError,
                           match=r"_testasync.null_without_exception\(\) "
                                 "returned NULL without setting an exception"):
            m.null_without_exception()

    def test_result_with_exception(self):
        with pytest.raises(SystemError,
                           match="returned a result with an exception set"
                           ) as info:
            m.result_with_exception()
        assert isinstance(info.value.__context__, KeyError)

    def test_returning_own_awaitable(self):
        with pytest.raises(SystemError, match="returned its own awaitable"):
            m.return_awaitable()

    def test_unawaited_result_does_not_warn(self):
        # Like PyAwaitable_New(): only queued items make it "never awaited".
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            m.echo(1)
            gc.collect()

    def test_unawaited_items_warn(self):
        coro = value(1)
        with pytest.warns(RuntimeWarning, match="was never awaited"):
            m.hello(coro)
            gc.collect()
        assert inspect.getcoroutinestate(coro) == inspect.CORO_CLOSED

    def test_recursion_is_an_error(self):
        def again(module):
            return module.call_arg(again)
        with pytest.raises(RecursionError):
            m.call_arg(again)

    def test_no_reference_leaks(self):
        arg = object()
        w = m.Widget()
        for f in (m.echo, w.o, m.Widget.klass, m.Widget.static, w.echo):
            run(f(arg))
            before = sys.getrefcount(arg)
            for _ in range(1000):
                run(f(arg))
            assert sys.getrefcount(arg) == before, f
        for _ in range(1000):
            with pytest.raises(TypeError):
                m.o(arg, arg)
            with pytest.raises(ValueError):
                m.queue_then_fail(value(arg))
        assert sys.getrefcount(arg) == before


class TestArgumentErrors:
    @pytest.mark.parametrize("call, message", [
        (lambda: m.noargs(1),
         r"_testasync.noargs\(\) takes no arguments \(1 given\)"),
        (lambda: m.o(),
         r"_testasync.o\(\) takes exactly one argument \(0 given\)"),
        (lambda: m.o(1, 2),
         r"_testasync.o\(\) takes exactly one argument \(2 given\)"),
        (lambda: m.noargs(k=1),
         r"_testasync.noargs\(\) takes no keyword arguments"),
        (lambda: m.o(1, k=1), r"o\(\) takes no keyword arguments"),
        (lambda: m.varargs(k=1), r"varargs\(\) takes no keyword arguments"),
        (lambda: m.fast(k=1), r"fast\(\) takes no keyword arguments"),
        (lambda: m.Widget().o(),
         r"Widget.o\(\) takes exactly one argument \(0 given\)"),
        (lambda: m.Widget.klass(1, 2),
         r"Widget.klass\(\) takes exactly one argument \(2 given\)"),
    ])
    def test_type_error_at_call_time(self, call, message):
        with pytest.raises(TypeError, match=message):
            call()

    def test_no_awaitable_is_created(self):
        # The error comes before the C function runs.
        before = len(m.get_kept())
        with pytest.raises(TypeError):
            m.keep_awaitable(1)
        assert len(m.get_kept()) == before


# ---------------------------------------------------------------------------
# Introspection: they look like builtins
# ---------------------------------------------------------------------------

class TestIntrospection:
    def test_module_function(self):
        f = m.echo
        assert f.__name__ == "echo"
        assert f.__qualname__ == "echo"
        assert f.__module__ == "_testasync"
        assert f.__self__ is m
        assert f.__doc__ == "Return value, asynchronously."
        assert f.__text_signature__ == "($module, value, /)"
        assert repr(f) == "<built-in async function echo>"
        assert str(inspect.signature(f)) == "(value, /)"

    def test_no_docstring(self):
        assert m.o.__doc__ is None
        assert m.o.__text_signature__ is None
        # The backport's function type answers __signature__ (None) so that
        # inspect reads __text_signature__; a builtin has no such attribute.
        assert getattr(m.o, "__signature__", None) is None
        # Like a builtin without one: "no signature".  From 3.13 on,
        # inspect gives the backport's function type the generic signature
        # of type(f).__call__, as for any callable object.
        try:
            sig = inspect.signature(m.o)
        except ValueError:
            assert ext.NATIVE or sys.version_info < (3, 13)
        else:
            assert not ext.NATIVE and sys.version_info >= (3, 13)
            assert str(sig) == "(*args, **kwargs)"

    def test_docstring_without_bound_parameter(self):
        assert m.extra_async.__text_signature__ == "(value)"
        assert str(inspect.signature(m.extra_async)) == "(value)"

    @pytest.mark.parametrize("cls", [m.Widget, m.StaticWidget])
    def test_method_descriptor(self, cls):
        d = cls.__dict__["noargs"]
        assert cls.noargs is d
        assert d.__name__ == "noargs"
        assert d.__qualname__ == f"{cls.__name__}.noargs"
        assert d.__objclass__ is cls
        assert d.__doc__ == "An async method without arguments."
        assert d.__text_signature__ == "($self, /)"
        assert repr(d) == f"<async method 'noargs' of '{cls.__module__}.{cls.__name__}' objects>"
        assert inspect.ismethoddescriptor(d)
        assert str(inspect.signature(d)) == "(self, /)"

    @pytest.mark.parametrize("cls", [m.Widget, m.StaticWidget])
    def test_bound_method(self, cls):
        obj = cls()
        f = obj.noargs
        assert f.__self__ is obj
        assert f.__name__ == "noargs"
        assert f.__qualname__ == f"{cls.__name__}.noargs"
        assert f.__module__ is None
        assert repr(f).startswith(
            f"<built-in async method noargs of {cls.__module__}.{cls.__name__} object at 0x")
        assert str(inspect.signature(f)) == "()"

    def test_class_and_static_methods(self):
        d = m.Widget.__dict__["klass"]
        assert repr(d) == "<async classmethod 'klass' of '_testasync.Widget' objects>"
        assert str(inspect.signature(d)) == "(type, value, /)"
        bound = m.Widget.klass
        assert bound.__self__ is m.Widget
        assert bound.__qualname__ == "Widget.klass"
        assert str(inspect.signature(bound)) == "(value, /)"
        static = m.Widget.static
        assert static.__qualname__ == "Widget.static"
        assert str(inspect.signature(static)) == "(value, /)"

    def test_module_attribute_is_writable(self):
        f = m.Widget().o
        f.__module__ = "elsewhere"
        assert f.__module__ == "elsewhere"

    def test_pickle_by_reference(self):
        assert pickle.loads(pickle.dumps(m.echo)) is m.echo
        d = m.Widget.__dict__["o"]
        assert pickle.loads(pickle.dumps(d)) is d
        bound = pickle.loads(pickle.dumps(m.Widget.klass))
        assert bound == m.Widget.klass

    def test_equality_and_hash(self):
        a, b = m.Widget(), m.Widget()
        assert a.o == a.o and hash(a.o) == hash(a.o)
        assert a.o != b.o
        assert a.o != a.noargs
        assert m.echo == m.echo
        assert {a.o: 1}[a.o] == 1

    def test_weakref(self):
        f = m.Widget().o
        r = weakref.ref(f)
        assert r() is f
        del f
        gc.collect()
        assert r() is None

    def test_cannot_instantiate(self):
        for obj in (m.echo, m.Widget.__dict__["o"], m.Widget.__dict__["klass"]):
            with pytest.raises(TypeError):
                type(obj)()

    def test_not_a_coroutine_function_attribute_by_accident(self):
        with pytest.raises(AttributeError):
            m.echo.no_such_attribute
        with pytest.raises(AttributeError):
            m.Widget.__dict__["o"].no_such_attribute


def _all_async():
    w = m.Widget()
    return [m.echo, w.o, m.Widget.o, m.Widget.klass, m.Widget.static,
            m.StaticWidget().o]


class TestCoroutineFunction:
    @pytest.mark.parametrize("f", _all_async(), ids=repr)
    def test_asyncio(self, f):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # 3.14+
            assert asyncio.iscoroutinefunction(f)

    @pytest.mark.parametrize("f", _all_async(), ids=repr)
    def test_inspect(self, f):
        # inspect only learned its marker in 3.12.
        assert inspect.iscoroutinefunction(f) == (sys.version_info >= (3, 12))

    def test_sync_entries_are_not(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            assert not asyncio.iscoroutinefunction(m.extra_sync)
        assert not inspect.iscoroutinefunction(m.Widget().sync)


# ---------------------------------------------------------------------------
# Registration errors
# ---------------------------------------------------------------------------

def fresh_module():
    return types.ModuleType("fresh")


def creator(target, flags):
    """The function that reports an invalid entry: the backport checks
    entries in PyAwaitable_AddFunctions/AddMethods, the interpreter where it
    creates the function or descriptor (as the PEP specifies)."""
    if not ext.NATIVE:
        if isinstance(target, types.ModuleType):
            return "PyAwaitable_AddFunctions"
        return "PyAwaitable_AddMethods"
    if isinstance(target, types.ModuleType):
        return "PyModule_AddFunctions"
    if flags & METH_CLASS:
        return "PyDescr_NewClassMethod"
    if flags & METH_STATIC:
        return "PyCMethod_New"
    return "PyDescr_NewMethod"


class TestRegistration:
    @pytest.mark.parametrize("flags, problem", [
        (METH_O | METH_CLASS, "cannot be METH_CLASS or METH_STATIC"),
        (METH_O | METH_STATIC, "cannot be METH_CLASS or METH_STATIC"),
        (METH_METHOD | METH_FASTCALL | METH_KEYWORDS, "cannot be METH_METHOD"),
        (0, "invalid combination of calling-convention flags"),
        (METH_KEYWORDS, "invalid combination"),
        (METH_NOARGS | METH_O, "invalid combination"),
        (METH_O | 0x0100, "unknown flag bits"),
        (METH_O | 0x10000, "unknown flag bits"),
    ])
    def test_module_entry(self, flags, problem):
        mod = fresh_module()
        with pytest.raises(SystemError,
                           match=rf"{creator(mod, flags)}: entry 'bad' "
                                 rf"\(ml_flags 0x{flags | ASYNC:x}\) .*{problem}"):
            m.bad_entry(mod, flags | ASYNC)
        assert not hasattr(mod, "bad")

    @pytest.mark.parametrize("flags, problem", [
        (METH_O | METH_CLASS | METH_STATIC, "both METH_CLASS and METH_STATIC"),
        (METH_METHOD | METH_FASTCALL | METH_KEYWORDS | METH_STATIC,
         "both METH_STATIC and METH_METHOD"),
        (METH_VARARGS | METH_O, "invalid combination"),
        (METH_METHOD | METH_FASTCALL, "invalid combination"),
        (METH_O | 0x0100, "unknown flag bits"),
    ])
    def test_type_entry(self, flags, problem):
        cls = type("Fresh", (), {})
        with pytest.raises(SystemError,
                           match=rf"{creator(cls, flags)}: entry 'bad' "
                                 rf"\(ml_flags 0x{flags | ASYNC:x}\) .*{problem}"):
            m.bad_entry(cls, flags | ASYNC)
        assert not hasattr(cls, "bad")

    def test_valid_entries(self):
        mod = fresh_module()
        m.bad_entry(mod, METH_O | ASYNC)
        assert run(mod.bad(1)) == ("o", mod, 1, None)
        assert mod.bad.__module__ == "fresh"
        cls = type("Fresh", (), {})
        m.bad_entry(cls, METH_O | ASYNC)
        obj = cls()
        assert run(obj.bad(2)) == ("o", obj, 2, None)

    def test_wrong_targets(self):
        with pytest.raises(TypeError,
                           match="PyAwaitable_AddFunctions: expected a module, got int"):
            m.bad_entry(1, METH_O | ASYNC)
        with pytest.raises(ValueError,
                           match="PyAwaitable_AddFunctions: functions is NULL"):
            m.add_functions_null(fresh_module())
