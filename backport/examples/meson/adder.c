/* adder: a METH_ASYNC function written in C with PyAwaitable, built with
 * meson-python.
 *
 *   async def add_all(*awaitables):
 *       total = 0
 *       for a in awaitables:
 *           total += await a
 *       return total
 */
#include <Python.h>
#include "pyawaitable.h"

/* Called with the value of each `await a`, in order. */
static int
add_one(PyObject *awaitable, PyObject *value)
{
    PyObject *total = PyAwaitable_GetValue(awaitable, 0);  /* borrowed */
    if (total == NULL) {
        return -1;
    }
    PyObject *sum = PyNumber_Add(total, value);
    if (sum == NULL) {
        return -1;
    }
    /* The saved value carries the total to the next call; the result is
     * what the await gives once the last one has run. */
    int rc = 0;
    if (PyAwaitable_SetValue(awaitable, 0, sum) < 0
        || PyAwaitable_SetResult(awaitable, sum) < 0)
    {
        rc = -1;
    }
    Py_DECREF(sum);
    return rc;
}

/* METH_FASTCALL | METH_ASYNC: the awaitable comes right after self. */
static PyObject *
add_all(PyObject *module, PyObject *awaitable,
        PyObject *const *args, Py_ssize_t nargs)
{
    PyObject *zero = PyLong_FromLong(0);
    if (zero == NULL) {
        return NULL;
    }
    int rc = PyAwaitable_SaveValues(awaitable, 1, zero);
    Py_DECREF(zero);
    if (rc < 0) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        if (PyAwaitable_AddAwait(awaitable, args[i], add_one, NULL) < 0) {
            return NULL;
        }
    }
    return PyLong_FromLong(0);  /* the result if nothing is awaited */
}

static PyMethodDef adder_methods[] = {
    {"add_all", (PyCFunction)(void (*)(void))add_all,
     METH_FASTCALL | METH_ASYNC,
     "add_all($module, /, *awaitables)\n--\n\n"
     "Await each argument in turn and return the sum."},
    {NULL, NULL, 0, NULL},
};

static int
adder_exec(PyObject *module)
{
    if (PyAwaitable_Init() < 0) {
        return -1;
    }
    /* Stock CPython ignores METH_ASYNC: this makes the entries async. */
    return PyAwaitable_AddFunctions(module, adder_methods);
}

static PyModuleDef_Slot adder_slots[] = {
    {Py_mod_exec, adder_exec},
    {0, NULL},
};

static struct PyModuleDef adder_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "adder",
    .m_doc = "A METH_ASYNC function written in C with PyAwaitable.",
    .m_slots = adder_slots,
};

PyMODINIT_FUNC
PyInit_adder(void)
{
    return PyModuleDef_Init(&adder_module);
}
