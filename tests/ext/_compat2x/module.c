/*
 * _compat2x: an extension written the way pyawaitable 2.x documents
 * extensions, compiled unchanged against the backport's pyawaitable.h.
 *
 * Only the include directory differs from a pyawaitable 2.x build.  The
 * module has two translation units; this one calls PyAwaitable_Init() in
 * the module's exec slot, helpers.c never calls it (pyawaitable 2.x needs
 * one call per extension, not per file).
 */
#include <Python.h>
#include <pyawaitable.h>

PyObject *compat_deferred(PyObject *self, PyObject *fn);
PyObject *compat_with(PyObject *self, PyObject *args);
PyObject *compat_legacy(PyObject *self, PyObject *coro);

/* multiply_async(number, coro): number * await coro */
static int
multiply_callback(PyObject *awaitable, PyObject *value)
{
    PyObject *number;
    if (PyAwaitable_UnpackValues(awaitable, &number) < 0) {
        return -1;
    }
    PyObject *product = PyNumber_Multiply(number, value);
    if (product == NULL) {
        return -1;
    }
    int rc = PyAwaitable_SetResult(awaitable, product);
    Py_DECREF(product);
    return rc;
}

static PyObject *
multiply_async(PyObject *self, PyObject *args)
{
    PyObject *number, *coro;
    if (!PyArg_ParseTuple(args, "OO", &number, &coro)) {
        return NULL;
    }
    PyObject *awaitable = PyAwaitable_New();
    if (awaitable == NULL) {
        return NULL;
    }
    if (PyAwaitable_SaveValues(awaitable, 1, number) < 0
        || PyAwaitable_AddAwait(awaitable, coro, multiply_callback,
                                NULL) < 0) {
        Py_DECREF(awaitable);
        return NULL;
    }
    return awaitable;
}

/* is_reachable(fn): True if await fn() returns, False on TimeoutError, any
 * other exception propagates. */
static int
reachable(PyObject *awaitable, PyObject *value)
{
    return PyAwaitable_SetResult(awaitable, Py_True);
}

static int
unreachable(PyObject *awaitable, PyObject *exc)
{
    if (!PyErr_GivenExceptionMatches(exc, PyExc_TimeoutError)) {
        return -1;
    }
    if (PyAwaitable_SetResult(awaitable, Py_False) < 0) {
        return -2;
    }
    return 0;
}

static PyObject *
is_reachable(PyObject *self, PyObject *fn)
{
    PyObject *awaitable = PyAwaitable_New();
    if (awaitable == NULL) {
        return NULL;
    }
    PyObject *coro = PyObject_CallNoArgs(fn);
    if (coro == NULL) {
        Py_DECREF(awaitable);
        return NULL;
    }
    if (PyAwaitable_AddAwait(awaitable, coro, reachable, unreachable) < 0) {
        Py_DECREF(coro);
        Py_DECREF(awaitable);
        return NULL;
    }
    Py_DECREF(coro);
    return awaitable;
}

/* arbitrary_values(): saves three pointers (one NULL), unpacks with a
 * skipped slot, reads one back by index; the never-awaited awaitable is
 * cancelled, which 2.x code does to avoid the warning. */
static PyObject *
arbitrary_values(PyObject *self, PyObject *unused)
{
    static int first = 1, third = 3;
    PyObject *awaitable = PyAwaitable_New();
    if (awaitable == NULL) {
        return NULL;
    }
    void *middle = &first;
    int *last = NULL;
    int ok = PyAwaitable_SaveArbValues(awaitable, 3, &first, NULL, &third) == 0
             && PyAwaitable_UnpackArbValues(awaitable, NULL, &middle,
                                            &last) == 0
             && middle == NULL && last == &third
             && PyAwaitable_GetArbValue(awaitable, 0) == &first;
    PyAwaitable_Cancel(awaitable);
    Py_DECREF(awaitable);
    if (PyErr_Occurred()) {
        return NULL;
    }
    return PyBool_FromLong(ok);
}

static PyMethodDef methods[] = {
    {"multiply_async", multiply_async, METH_VARARGS, NULL},
    {"is_reachable", is_reachable, METH_O, NULL},
    {"arbitrary_values", arbitrary_values, METH_NOARGS, NULL},
    {"deferred", compat_deferred, METH_O, NULL},
    {"with_context", compat_with, METH_VARARGS, NULL},
    {"legacy", compat_legacy, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static int
module_exec(PyObject *module)
{
    return PyAwaitable_Init();
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, module_exec},
#ifdef Py_GIL_DISABLED
    /* The suite uses the module from one thread at a time; without this
       the free-threaded build would turn the GIL back on when importing
       it, and the API would not be tested without the GIL. */
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_compat2x",
    .m_methods = methods,
    .m_slots = slots,
};

PyMODINIT_FUNC
PyInit__compat2x(void)
{
    return PyModuleDef_Init(&module_def);
}
