/* greet: async functions written in C with PyAwaitable, built with
 * setuptools.
 *
 *   async def hello(coro):
 *       return f"Hello, {await coro}!"
 *
 *   async def get_or(fetch, default):
 *       try:
 *           return await fetch()
 *       except LookupError:
 *           return default
 */
#include <Python.h>
#include "pyawaitable.h"

/* Called with the value of `await coro`. */
static int
hello_done(PyObject *awaitable, PyObject *name)
{
    PyObject *greeting = PyUnicode_FromFormat("Hello, %S!", name);
    if (greeting == NULL) {
        return -1;
    }
    int rc = PyAwaitable_SetResult(awaitable, greeting);
    Py_DECREF(greeting);
    return rc;
}

static PyObject *
hello(PyObject *module, PyObject *coro)
{
    PyObject *awaitable = PyAwaitable_New();
    if (awaitable == NULL) {
        return NULL;
    }
    if (PyAwaitable_AddAwait(awaitable, coro, hello_done, NULL) < 0) {
        Py_DECREF(awaitable);
        return NULL;
    }
    return awaitable;
}

static int
found(PyObject *awaitable, PyObject *value)
{
    return PyAwaitable_SetResult(awaitable, value);
}

/* Called instead of found() when `await fetch()` raises. */
static int
not_found(PyObject *awaitable, PyObject *exc)
{
    if (!PyErr_GivenExceptionMatches(exc, PyExc_LookupError)) {
        return -1;  /* not ours: re-raise it */
    }
    PyObject *fallback = PyAwaitable_GetValue(awaitable, 0);
    if (fallback == NULL) {
        return -2;  /* raise GetValue's error instead */
    }
    return PyAwaitable_SetResult(awaitable, fallback) < 0 ? -2 : 0;
}

static PyObject *
get_or(PyObject *module, PyObject *args)
{
    PyObject *fetch, *fallback;
    if (!PyArg_ParseTuple(args, "OO:get_or", &fetch, &fallback)) {
        return NULL;
    }
    PyObject *awaitable = PyAwaitable_New();
    if (awaitable == NULL) {
        return NULL;
    }
    /* Callbacks cannot see our locals: keep the default for not_found(). */
    if (PyAwaitable_SaveValues(awaitable, 1, fallback) < 0) {
        Py_DECREF(awaitable);
        return NULL;
    }
    /* AddExpr steals the coroutine and passes on a failed call's error. */
    if (PyAwaitable_AddExpr(awaitable, PyObject_CallNoArgs(fetch),
                            found, not_found) < 0) {
        Py_DECREF(awaitable);
        return NULL;
    }
    return awaitable;
}

static PyMethodDef greet_methods[] = {
    {"hello", hello, METH_O,
     "hello($module, coro, /)\n--\n\nAwait coro and greet its value."},
    {"get_or", get_or, METH_VARARGS,
     "get_or($module, fetch, default, /)\n--\n\n"
     "Await fetch(); default if it raises LookupError."},
    {NULL, NULL, 0, NULL},
};

static int
greet_exec(PyObject *module)
{
    return PyAwaitable_Init();  /* ImportError without the backport */
}

static PyModuleDef_Slot greet_slots[] = {
    {Py_mod_exec, greet_exec},
    {0, NULL},
};

static struct PyModuleDef greet_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "greet",
    .m_doc = "Async functions written in C with PyAwaitable.",
    .m_methods = greet_methods,
    .m_slots = greet_slots,
};

PyMODINIT_FUNC
PyInit_greet(void)
{
    return PyModuleDef_Init(&greet_module);
}
