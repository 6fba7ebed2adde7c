/* _bench: tools/bench's scenarios written with this project's API.
 *
 * Built by tests/build.py like the test extensions, so the same source
 * runs on the backport and natively (pyawaitable.h's native branch).  Each
 * function is the C counterpart of an `async def` in tools/bench.py:
 *
 *   value(v)          async def value(v): return v
 *   trampoline(coro)  async def trampoline(coro): return await coro
 *   chain10(f)        one awaitable with ten AddAwait items, f() each;
 *                     its result is the last one's
 *   echo(v)           the same as value(v), as a METH_O | METH_ASYNC function
 *
 * It also carries callgrind's client requests, so that tools/bench
 * --callgrind can count the instructions of one case at a time.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "pyawaitable.h"

#if defined(__has_include)
#  if __has_include(<valgrind/callgrind.h>)
#    include <valgrind/callgrind.h>
#    define HAVE_CALLGRIND 1
#  endif
#endif

#define CHAIN 10

static int
return_result(PyObject *aw, PyObject *result)
{
    return PyAwaitable_SetResult(aw, result);
}

static PyObject *
value(PyObject *self, PyObject *v)
{
    PyObject *aw = PyAwaitable_New();
    if (aw == NULL) {
        return NULL;
    }
    if (PyAwaitable_SetResult(aw, v) < 0) {
        Py_DECREF(aw);
        return NULL;
    }
    return aw;
}

static PyObject *
trampoline(PyObject *self, PyObject *coro)
{
    PyObject *aw = PyAwaitable_New();
    if (aw == NULL) {
        return NULL;
    }
    if (PyAwaitable_AddAwait(aw, coro, return_result, NULL) < 0) {
        Py_DECREF(aw);
        return NULL;
    }
    return aw;
}

static PyObject *
chain10(PyObject *self, PyObject *factory)
{
    PyObject *aw = PyAwaitable_New();
    if (aw == NULL) {
        return NULL;
    }
    for (int i = 0; i < CHAIN; i++) {
        /* Only the last result is kept: no callback for the others. */
        PyAwaitable_Callback cb = i == CHAIN - 1 ? return_result : NULL;
        if (PyAwaitable_AddExpr(aw, PyObject_CallNoArgs(factory), cb,
                                NULL) < 0) {
            Py_DECREF(aw);
            return NULL;
        }
    }
    return aw;
}

static PyObject *
echo(PyObject *self, PyObject *aw, PyObject *arg)
{
    return Py_NewRef(arg);
}

/* ---- callgrind client requests (no-ops outside valgrind) ------------- */

static PyObject *
callgrind_zero(PyObject *self, PyObject *unused)
{
#ifdef HAVE_CALLGRIND
    CALLGRIND_ZERO_STATS;
#endif
    Py_RETURN_NONE;
}

static PyObject *
callgrind_dump(PyObject *self, PyObject *name)
{
    const char *label = PyUnicode_AsUTF8(name);
    if (label == NULL) {
        return NULL;
    }
#ifdef HAVE_CALLGRIND
    CALLGRIND_DUMP_STATS_AT(label);
#endif
    Py_RETURN_NONE;
}

static PyObject *
on_valgrind(PyObject *self, PyObject *unused)
{
#ifdef HAVE_CALLGRIND
    return PyBool_FromLong(RUNNING_ON_VALGRIND);
#else
    Py_RETURN_FALSE;
#endif
}

static PyMethodDef methods[] = {
    {"value", value, METH_O, NULL},
    {"trampoline", trampoline, METH_O, NULL},
    {"chain10", chain10, METH_O, NULL},
    {"echo", (PyCFunction)(void (*)(void))echo, METH_O | METH_ASYNC, NULL},
    {"callgrind_zero", callgrind_zero, METH_NOARGS, NULL},
    {"callgrind_dump", callgrind_dump, METH_O, NULL},
    {"on_valgrind", on_valgrind, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static int
exec_module(PyObject *module)
{
    if (PyAwaitable_Init() < 0) {
        return -1;
    }
    /* Registers echo as an async function on the backport; on a patched
       interpreter the flag is the interpreter's and this adds nothing. */
    return PyAwaitable_AddFunctions(module, methods);
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, exec_module},
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_bench",
    .m_slots = slots,
};

PyMODINIT_FUNC
PyInit__bench(void)
{
    return PyModuleDef_Init(&module_def);
}
