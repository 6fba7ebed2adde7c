/* The floor for tools/bench: the least an awaitable trampoline can do.
 *
 * trampoline(coro) returns an object whose am_send forwards to the
 * coroutine, with no queue, no callbacks, no GC support and no checks.
 * It is not a usable awaitable (no throw, no close, no cycle collection);
 * it only shows how close PyAwaitable gets to the cost of the protocol
 * itself.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef struct {
    PyObject_HEAD
    PyObject *coro;
} Floor;

static PySendResult
floor_send(PyObject *self, PyObject *arg, PyObject **result)
{
    return PyIter_Send(((Floor *)self)->coro, arg, result);
}

static PyObject *
floor_await(PyObject *self)
{
    return Py_NewRef(self);
}

/* 3.12+ drive non-generators through tp_iternext. */
static PyObject *
floor_next(PyObject *self)
{
    PyObject *result;
    switch (PyIter_Send(((Floor *)self)->coro, Py_None, &result)) {
    case PYGEN_NEXT:
        return result;
    case PYGEN_RETURN:
        if (result != Py_None) {
            PyObject *exc = PyObject_CallOneArg(PyExc_StopIteration, result);
            if (exc != NULL) {
                PyErr_SetObject(PyExc_StopIteration, exc);
                Py_DECREF(exc);
            }
        }
        Py_DECREF(result);
        return NULL;
    default:
        return NULL;
    }
}

static void
floor_dealloc(PyObject *self)
{
    Py_XDECREF(((Floor *)self)->coro);
    PyObject_Free(self);
}

static PyAsyncMethods floor_as_async = {
    .am_await = floor_await,
    .am_send = floor_send,
};

static PyTypeObject FloorType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_floor.Floor",
    .tp_basicsize = sizeof(Floor),
    .tp_dealloc = floor_dealloc,
    .tp_as_async = &floor_as_async,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = floor_next,
    .tp_flags = Py_TPFLAGS_DEFAULT,
};

static PyObject *
trampoline(PyObject *module, PyObject *coro)
{
    Floor *self = PyObject_New(Floor, &FloorType);
    if (self == NULL) {
        return NULL;
    }
    self->coro = Py_NewRef(coro);
    return (PyObject *)self;
}

static PyMethodDef methods[] = {
    {"trampoline", trampoline, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_floor",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__floor(void)
{
    if (PyType_Ready(&FloorType) < 0) {
        return NULL;
    }
    return PyModule_Create(&module_def);
}
