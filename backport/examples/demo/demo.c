/* demo: two async functions written in C with the PyAwaitable API. */
#include <Python.h>
#include "pyawaitable.h"

/* async def double(fetch): return 2 * await fetch() */
static int
store_doubled(PyObject *awaitable, PyObject *result)
{
    PyObject *doubled = PyNumber_Add(result, result);
    if (doubled == NULL) {
        return -1;
    }
    int rc = PyAwaitable_SetResult(awaitable, doubled);
    Py_DECREF(doubled);
    return rc;
}

static PyObject *
double_(PyObject *self, PyObject *fetch)
{
    PyObject *awaitable = PyAwaitable_New();
    if (awaitable == NULL) {
        return NULL;
    }
    /* AddExpr steals the coroutine and passes on a failed call's error. */
    if (PyAwaitable_AddExpr(awaitable, PyObject_CallNoArgs(fetch),
                            store_doubled, NULL) < 0) {
        Py_DECREF(awaitable);
        return NULL;
    }
    return awaitable;
}

/* async def is_reachable(request):
 *     try:
 *         await request()
 *         return True
 *     except TimeoutError:
 *         return False */
static int
reachable(PyObject *awaitable, PyObject *unused)
{
    return PyAwaitable_SetResult(awaitable, Py_True);
}

static int
unreachable(PyObject *awaitable, PyObject *exc)
{
    if (!PyErr_GivenExceptionMatches(exc, PyExc_TimeoutError)) {
        return -1;  /* not ours: re-raise it */
    }
    return PyAwaitable_SetResult(awaitable, Py_False) < 0 ? -2 : 0;
}

static PyObject *
is_reachable(PyObject *self, PyObject *request)
{
    PyObject *awaitable = PyAwaitable_New();
    if (awaitable == NULL) {
        return NULL;
    }
    if (PyAwaitable_AddExpr(awaitable, PyObject_CallNoArgs(request),
                            reachable, unreachable) < 0) {
        Py_DECREF(awaitable);
        return NULL;
    }
    return awaitable;
}

static PyMethodDef methods[] = {
    {"double", double_, METH_O, "double(fetch)\n--\n\nawait fetch(), doubled."},
    {"is_reachable", is_reachable, METH_O,
     "is_reachable(request)\n--\n\nFalse if request() times out."},
    {NULL, NULL, 0, NULL},
};

static int
demo_exec(PyObject *module)
{
    return PyAwaitable_Init();
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, demo_exec},
    {0, NULL},
};

static struct PyModuleDef demo_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "demo",
    .m_methods = methods,
    .m_slots = slots,
};

PyMODINIT_FUNC
PyInit_demo(void)
{
    return PyModuleDef_Init(&demo_module);
}
