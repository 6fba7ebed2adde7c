/*
 * The second translation unit of _compat2x: it uses the API without
 * calling PyAwaitable_Init() itself, and uses the 1.x spellings.
 */
#include <Python.h>
#include <pyawaitable.h>

PyObject *compat_deferred(PyObject *self, PyObject *fn);
PyObject *compat_with(PyObject *self, PyObject *args);
PyObject *compat_legacy(PyObject *self, PyObject *coro);

static int
store_result(PyObject *awaitable, PyObject *value)
{
    return PyAwaitable_SetResult(awaitable, value);
}

/* Queue `await value0(*args)`, value0 being the first saved value, with
 * its result as the awaitable's. */
static int
await_saved_call(PyObject *awaitable, PyObject *const *args, size_t nargs)
{
    PyObject *fn = PyAwaitable_GetValue(awaitable, 0);
    if (fn == NULL) {
        return -1;
    }
    PyObject *coro = PyObject_Vectorcall(fn, args, nargs, NULL);
    if (coro == NULL) {
        return -1;
    }
    int rc = PyAwaitable_AddAwait(awaitable, coro, store_result, NULL);
    Py_DECREF(coro);
    return rc;
}

/* deferred(fn): await fn(), with fn called only when the queue gets there */
static int
call_saved(PyObject *awaitable)
{
    return await_saved_call(awaitable, NULL, 0);
}

PyObject *
compat_deferred(PyObject *self, PyObject *fn)
{
    PyObject *awaitable = PyAwaitable_New();
    if (awaitable == NULL) {
        return NULL;
    }
    if (PyAwaitable_SaveValues(awaitable, 1, fn) < 0
        || PyAwaitable_DeferAwait(awaitable, call_saved) < 0) {
        Py_DECREF(awaitable);
        return NULL;
    }
    return awaitable;
}

/* with_context(ctx, fn): async with ctx as value: return await fn(value) */
static int
with_body(PyObject *awaitable, PyObject *value)
{
    return await_saved_call(awaitable, &value, 1);
}

PyObject *
compat_with(PyObject *self, PyObject *args)
{
    PyObject *ctx, *fn;
    if (!PyArg_ParseTuple(args, "OO", &ctx, &fn)) {
        return NULL;
    }
    PyObject *awaitable = PyAwaitable_New();
    if (awaitable == NULL) {
        return NULL;
    }
    if (PyAwaitable_SaveValues(awaitable, 1, fn) < 0
        || PyAwaitable_AsyncWith(awaitable, ctx, with_body, NULL) < 0) {
        Py_DECREF(awaitable);
        return NULL;
    }
    return awaitable;
}

/* legacy(coro): await coro and return its result, in 1.x spellings */
static awaitcallback legacy_callback = store_result;

PyObject *
compat_legacy(PyObject *self, PyObject *coro)
{
    PyObject *awaitable = pyawaitable_new();
    if (awaitable == NULL) {
        return NULL;
    }
    awaitcallback_err no_error_callback = NULL;
    if (pyawaitable_await(awaitable, coro, legacy_callback,
                          no_error_callback) < 0) {
        Py_DECREF(awaitable);
        return NULL;
    }
    return awaitable;
}
