/* The pyawaitable 2.0.1 peer for tools/bench: the bench scenarios written
 * with pyawaitable 2.x, compiled against the header its PyPI package
 * vendors (the whole implementation is in that header).
 *
 *   value(v)          async def value(v): return v
 *   trampoline(coro)  async def trampoline(coro): return await coro
 *   chain10(f)        one awaitable with ten PyAwaitable_AddAwait items
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pyawaitable.h>

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
        PyObject *coro = PyObject_CallNoArgs(factory);
        if (coro == NULL) {
            Py_DECREF(aw);
            return NULL;
        }
        /* 2.x's AddAwait takes a new reference of its own. */
        int rc = PyAwaitable_AddAwait(aw, coro,
                                      i == CHAIN - 1 ? return_result : NULL,
                                      NULL);
        Py_DECREF(coro);
        if (rc < 0) {
            Py_DECREF(aw);
            return NULL;
        }
    }
    return aw;
}

static PyMethodDef methods[] = {
    {"value", value, METH_O, NULL},
    {"trampoline", trampoline, METH_O, NULL},
    {"chain10", chain10, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static int
exec_module(PyObject *module)
{
    return PyAwaitable_Init();
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, exec_module},
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_peer_pyawaitable2",
    .m_methods = methods,
    .m_slots = slots,
};

PyMODINIT_FUNC
PyInit__peer_pyawaitable2(void)
{
    return PyModuleDef_Init(&module_def);
}
