/* retry: an error callback that tries again, written in C with PyAwaitable
 * and built with scikit-build-core.
 *
 *   async def retry(factory, attempts):
 *       for left in reversed(range(attempts)):
 *           try:
 *               return await factory()
 *           except Exception:
 *               if not left:
 *                   raise
 */
#include <Python.h>
#include "pyawaitable.h"

/* Saved values: 0 is factory, 1 the attempts left after the running one. */
static int attempt(PyObject *awaitable);

static int
succeeded(PyObject *awaitable, PyObject *result)
{
    return PyAwaitable_SetResult(awaitable, result);
}

static int
failed(PyObject *awaitable, PyObject *exc)
{
    /* Only errors are retried: cancellation (a BaseException) goes on. */
    if (!PyErr_GivenExceptionMatches(exc, PyExc_Exception)) {
        return -1;
    }
    PyObject *left = PyAwaitable_GetValue(awaitable, 1);
    if (left == NULL) {
        return -2;
    }
    long n = PyLong_AsLong(left);
    if (n == -1 && PyErr_Occurred()) {
        return -2;
    }
    if (n == 0) {
        return -1;  /* out of attempts: re-raise the last error */
    }
    PyObject *fewer = PyLong_FromLong(n - 1);
    if (fewer == NULL) {
        return -2;
    }
    int rc = PyAwaitable_SetValue(awaitable, 1, fewer);
    Py_DECREF(fewer);
    if (rc < 0) {
        return -2;
    }
    /* 0 swallows the error; the attempt queued here runs next. */
    return attempt(awaitable) < 0 ? -2 : 0;
}

static int
attempt(PyObject *awaitable)
{
    PyObject *factory = PyAwaitable_GetValue(awaitable, 0);
    if (factory == NULL) {
        return -1;
    }
    return PyAwaitable_AddExpr(awaitable, PyObject_CallNoArgs(factory),
                               succeeded, failed);
}

/* METH_VARARGS | METH_ASYNC: the awaitable comes right after self. */
static PyObject *
retry(PyObject *module, PyObject *awaitable, PyObject *args)
{
    PyObject *factory;
    long attempts;
    if (!PyArg_ParseTuple(args, "Ol:retry", &factory, &attempts)) {
        return NULL;
    }
    if (attempts < 1) {
        PyErr_SetString(PyExc_ValueError, "retry: attempts must be >= 1");
        return NULL;
    }
    PyObject *left = PyLong_FromLong(attempts - 1);
    if (left == NULL) {
        return NULL;
    }
    int rc = PyAwaitable_SaveValues(awaitable, 2, factory, left);
    Py_DECREF(left);
    if (rc < 0 || attempt(awaitable) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;  /* succeeded() sets the real result */
}

static PyMethodDef retry_methods[] = {
    {"retry", (PyCFunction)(void (*)(void))retry, METH_VARARGS | METH_ASYNC,
     "retry($module, factory, attempts, /)\n--\n\n"
     "Await factory() until it succeeds, at most attempts times."},
    {NULL, NULL, 0, NULL},
};

static int
retry_exec(PyObject *module)
{
    if (PyAwaitable_Init() < 0) {
        return -1;
    }
    return PyAwaitable_AddFunctions(module, retry_methods);
}

static PyModuleDef_Slot retry_slots[] = {
    {Py_mod_exec, retry_exec},
    {0, NULL},
};

static struct PyModuleDef retry_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "retry",
    .m_doc = "An error callback that tries again, written in C.",
    .m_slots = retry_slots,
};

PyMODINIT_FUNC
PyInit_retry(void)
{
    return PyModuleDef_Init(&retry_module);
}
