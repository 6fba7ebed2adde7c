/*
 * _testasync: METH_ASYNC functions and methods for the shared test suite.
 *
 * Every entry reports what it was called with, so the tests can check each
 * calling convention's arguments exactly.  The same source is built against
 * the backport (where PyAwaitable_AddFunctions / PyAwaitable_AddMethods
 * replace the entries stock CPython made) and against a patched interpreter
 * (where the interpreter handles METH_ASYNC itself and those calls only add
 * entries of other arrays).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "pyawaitable.h"

#define ASYNC_FUNC(f) ((PyCFunction)(void (*)(void))(f))

/* A tuple of the arguments as Python objects; NULL becomes None. */
static PyObject *
report(const char *convention, PyObject *self, PyObject *aw, PyObject *a,
       PyObject *b)
{
    if (!PyAwaitable_Check(aw)) {
        PyErr_SetString(PyExc_AssertionError,
                        "the awaitable argument is not a PyAwaitable");
        return NULL;
    }
    return Py_BuildValue("(sOOO)", convention,
                         self ? self : Py_None,
                         a ? a : Py_None,
                         b ? b : Py_None);
}

/* args[0:nargs] as a tuple, and the keyword arguments as a dict (or None). */
static int
fast_args(PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
          PyObject **pos, PyObject **kw)
{
    *kw = NULL;
    *pos = PyTuple_New(nargs);
    if (*pos == NULL) {
        return -1;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        PyTuple_SET_ITEM(*pos, i, Py_NewRef(args[i]));
    }
    if (kwnames == NULL) {
        return 0;
    }
    *kw = PyDict_New();
    if (*kw == NULL) {
        return -1;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(kwnames); i++) {
        if (PyDict_SetItem(*kw, PyTuple_GET_ITEM(kwnames, i),
                           args[nargs + i]) < 0) {
            return -1;
        }
    }
    return 0;
}

static PyObject *
async_noargs(PyObject *self, PyObject *aw, PyObject *unused)
{
    if (unused != NULL) {
        PyErr_SetString(PyExc_AssertionError, "METH_NOARGS got an argument");
        return NULL;
    }
    return report("noargs", self, aw, NULL, NULL);
}

static PyObject *
async_o(PyObject *self, PyObject *aw, PyObject *arg)
{
    return report("o", self, aw, arg, NULL);
}

static PyObject *
async_varargs(PyObject *self, PyObject *aw, PyObject *args)
{
    return report("varargs", self, aw, args, NULL);
}

static PyObject *
async_varargs_kw(PyObject *self, PyObject *aw, PyObject *args,
                 PyObject *kwargs)
{
    return report("varargs_kw", self, aw, args, kwargs);
}

static PyObject *
async_fast(PyObject *self, PyObject *aw, PyObject *const *args,
           Py_ssize_t nargs)
{
    PyObject *pos, *kw;
    if (fast_args(args, nargs, NULL, &pos, &kw) < 0) {
        return NULL;
    }
    PyObject *res = report("fast", self, aw, pos, NULL);
    Py_DECREF(pos);
    return res;
}

static PyObject *
async_fast_kw(PyObject *self, PyObject *aw, PyObject *const *args,
              Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *pos, *kw;
    if (fast_args(args, nargs, kwnames, &pos, &kw) < 0) {
        Py_XDECREF(pos);
        return NULL;
    }
    PyObject *res = report("fast_kw", self, aw, pos, kw);
    Py_DECREF(pos);
    Py_XDECREF(kw);
    return res;
}

static PyObject *
async_method(PyObject *self, PyObject *aw, PyTypeObject *defining_class,
             PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *pos, *kw;
    if (fast_args(args, nargs, kwnames, &pos, &kw) < 0) {
        Py_XDECREF(pos);
        return NULL;
    }
    PyObject *res = Py_BuildValue("(sOOOO)", "method", self,
                                  (PyObject *)defining_class, pos,
                                  kw ? kw : Py_None);
    Py_DECREF(pos);
    Py_XDECREF(kw);
    return res;
}

/* ---------------------------------------------------------------------------
 * The example from the proposal, and functions that use their awaitable.
 * ------------------------------------------------------------------------- */

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
hello(PyObject *self, PyObject *awaitable, PyObject *args)
{
    PyObject *coro;
    if (!PyArg_ParseTuple(args, "O:hello", &coro)) {
        return NULL;
    }
    if (PyAwaitable_AddAwait(awaitable, coro, hello_done, NULL) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* METH_O: the argument is the result; the bench's echo. */
static PyObject *
echo(PyObject *self, PyObject *aw, PyObject *arg)
{
    return Py_NewRef(arg);
}

/* Queues coro (its value replaces the result), returns `first`. */
static int
replace_result(PyObject *awaitable, PyObject *value)
{
    return PyAwaitable_SetResult(awaitable, value);
}

static PyObject *
then_await(PyObject *self, PyObject *aw, PyObject *const *args,
           Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "then_await(first, coro)");
        return NULL;
    }
    if (PyAwaitable_AddAwait(aw, args[1], replace_result, NULL) < 0) {
        return NULL;
    }
    return Py_NewRef(args[0]);
}

/* Queues coro, then fails with ValueError: the call raises it. */
static PyObject *
queue_then_fail(PyObject *self, PyObject *aw, PyObject *coro)
{
    if (PyAwaitable_AddAwait(aw, coro, NULL, NULL) < 0) {
        return NULL;
    }
    PyErr_SetString(PyExc_ValueError, "queue_then_fail failed");
    return NULL;
}

static PyObject *
null_without_exception(PyObject *self, PyObject *aw, PyObject *unused)
{
    return NULL;
}

static PyObject *
result_with_exception(PyObject *self, PyObject *aw, PyObject *unused)
{
    PyErr_SetString(PyExc_KeyError, "left set");
    Py_RETURN_NONE;
}

static PyObject *
return_awaitable(PyObject *self, PyObject *aw, PyObject *unused)
{
    return Py_NewRef(aw);
}

/* Keeps its awaitable in a module-level list, to check identity. */
static PyObject *kept = NULL;

static PyObject *
keep_awaitable(PyObject *self, PyObject *aw, PyObject *unused)
{
    if (PyList_Append(kept, aw) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
get_kept(PyObject *self, PyObject *unused)
{
    return Py_NewRef(kept);
}

/* Recurses through Python: f(g) calls g(f) from C, for the recursion
 * limit. */
static PyObject *
call_arg(PyObject *self, PyObject *aw, PyObject *arg)
{
    PyObject *res = PyObject_CallOneArg(arg, self);
    if (res == NULL) {
        return NULL;
    }
    Py_DECREF(res);
    Py_RETURN_NONE;
}

/* ---------------------------------------------------------------------------
 * Registration with invalid flags: bad_entry(target, flags) adds one entry
 * named "bad" to a module (with AddFunctions) or a type (AddMethods).
 * ------------------------------------------------------------------------- */

/* A registered entry must outlive its functions, so an accepted array is
 * kept for good, one per flags value, so that repeating a test (refleak
 * mode) allocates nothing new.  A rejected one is freed. */
#define KEPT_ENTRIES 16
static PyMethodDef *kept_entries[KEPT_ENTRIES];

static PyObject *
bad_entry(PyObject *self, PyObject *args)
{
    PyObject *target;
    int flags;
    if (!PyArg_ParseTuple(args, "Oi:bad_entry", &target, &flags)) {
        return NULL;
    }
    int slot = 0;
    while (slot < KEPT_ENTRIES && kept_entries[slot] != NULL
           && kept_entries[slot][0].ml_flags != flags) {
        slot++;
    }
    PyMethodDef *defs = slot < KEPT_ENTRIES ? kept_entries[slot] : NULL;
    int fresh = defs == NULL;
    if (fresh) {
        defs = PyMem_Calloc(2, sizeof(PyMethodDef));
        if (defs == NULL) {
            return PyErr_NoMemory();
        }
        defs[0].ml_name = "bad";
        defs[0].ml_meth = ASYNC_FUNC(async_o);
        defs[0].ml_flags = flags;
    }
    int rc = PyType_Check(target)
        ? PyAwaitable_AddMethods((PyTypeObject *)target, defs)
        : PyAwaitable_AddFunctions(target, defs);
    if (rc < 0) {
        if (fresh) {
            PyMem_Free(defs);
        }
        return NULL;
    }
    if (fresh && slot < KEPT_ENTRIES) {
        kept_entries[slot] = defs;
    }
    /* With no slot left it stays allocated all the same. */
    Py_RETURN_NONE;
}

static PyObject *
add_functions_null(PyObject *self, PyObject *module)
{
    if (PyAwaitable_AddFunctions(module, NULL) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* ---------------------------------------------------------------------------
 * Types: a heap type and a static type with the same methods.
 * ------------------------------------------------------------------------- */

static Py_ssize_t
widget_length(PyObject *self)
{
    return 7;
}

static int
widget_contains(PyObject *self, PyObject *value)
{
    return 1;
}

static PyObject *
sync_method(PyObject *self, PyObject *arg)
{
    return Py_BuildValue("(sO)", "sync", arg);
}

#define CONVENTIONS                                               \
    {"noargs", ASYNC_FUNC(async_noargs), METH_NOARGS | METH_ASYNC,        \
     "noargs($self, /)\n--\n\nAn async method without arguments."},       \
    {"o", ASYNC_FUNC(async_o), METH_O | METH_ASYNC, NULL},                \
    {"varargs", ASYNC_FUNC(async_varargs), METH_VARARGS | METH_ASYNC,     \
     NULL},                                                               \
    {"varargs_kw", ASYNC_FUNC(async_varargs_kw),                          \
     METH_VARARGS | METH_KEYWORDS | METH_ASYNC, NULL},                    \
    {"fast", ASYNC_FUNC(async_fast), METH_FASTCALL | METH_ASYNC, NULL},   \
    {"fast_kw", ASYNC_FUNC(async_fast_kw),                                \
     METH_FASTCALL | METH_KEYWORDS | METH_ASYNC, NULL}

/* What only types have. */
#define TYPE_ONLY                                                         \
    {"klass", ASYNC_FUNC(async_o), METH_O | METH_CLASS | METH_ASYNC,      \
     "klass($type, value, /)\n--\n\nAn async class method."},             \
    {"static", ASYNC_FUNC(async_o), METH_O | METH_STATIC | METH_ASYNC,    \
     "static(value, /)\n--\n\nAn async static method."},                  \
    {"sync", sync_method, METH_O, NULL},                                  \
    /* CPython's own classmethod_descriptor, to compare errors with. */   \
    {"sync_klass", sync_method, METH_O | METH_CLASS, NULL},               \
    {"kept", sync_method, METH_O, NULL},                                  \
    {"replaced", sync_method, METH_O, NULL},                              \
    /* A slot wrapper wins over an entry without METH_COEXIST... */       \
    {"__len__", ASYNC_FUNC(async_noargs), METH_NOARGS | METH_ASYNC,       \
     NULL},                                                               \
    /* ...and loses to one with it. */                                    \
    {"__contains__", ASYNC_FUNC(async_o),                                 \
     METH_O | METH_COEXIST | METH_ASYNC, NULL}

static PyMethodDef widget_methods[] = {
    CONVENTIONS,
    TYPE_ONLY,
    {"defining_class", ASYNC_FUNC(async_method),
     METH_METHOD | METH_FASTCALL | METH_KEYWORDS | METH_ASYNC, NULL},
    {"klass_method", ASYNC_FUNC(async_method),
     METH_METHOD | METH_FASTCALL | METH_KEYWORDS | METH_CLASS | METH_ASYNC,
     NULL},
    {"echo", ASYNC_FUNC(echo), METH_O | METH_ASYNC, NULL},
    {NULL},
};

/* Added afterwards with PyAwaitable_AddMethods(type, extra_methods). */
static PyMethodDef extra_methods[] = {
    {"extra", ASYNC_FUNC(async_o), METH_O | METH_ASYNC, NULL},
    {"extra_sync", sync_method, METH_O, NULL},
    /* Exists already: kept... */
    {"kept", ASYNC_FUNC(async_o), METH_O | METH_ASYNC, NULL},
    /* ...unless METH_COEXIST. */
    {"replaced", ASYNC_FUNC(async_o), METH_O | METH_COEXIST | METH_ASYNC,
     NULL},
    {NULL},
};

static PyType_Slot widget_slots[] = {
    {Py_tp_methods, widget_methods},
    {Py_sq_length, widget_length},
    {Py_sq_contains, widget_contains},
    {Py_tp_doc, "A heap type with METH_ASYNC methods."},
    {0, NULL},
};

static PyType_Spec widget_spec = {
    .name = "_testasync.Widget",
    .basicsize = sizeof(PyObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .slots = widget_slots,
};

static PyMethodDef static_widget_methods[] = {
    CONVENTIONS,
    TYPE_ONLY,
    {NULL},
};

static PySequenceMethods static_widget_as_sequence = {
    .sq_length = widget_length,
    .sq_contains = widget_contains,
};

static PyTypeObject StaticWidget = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_testasync.StaticWidget",
    .tp_basicsize = sizeof(PyObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A static type with METH_ASYNC methods.",
    .tp_methods = static_widget_methods,
    .tp_as_sequence = &static_widget_as_sequence,
    .tp_new = PyType_GenericNew,
};

/* ---------------------------------------------------------------------------
 * Module
 * ------------------------------------------------------------------------- */

static PyMethodDef module_methods[] = {
    CONVENTIONS,
    {"hello", ASYNC_FUNC(hello), METH_VARARGS | METH_ASYNC,
     "hello($module, coro, /)\n--\n\nAwait coro; greet its value."},
    {"echo", ASYNC_FUNC(echo), METH_O | METH_ASYNC,
     "echo($module, value, /)\n--\n\nReturn value, asynchronously."},
    {"then_await", ASYNC_FUNC(then_await), METH_FASTCALL | METH_ASYNC,
     NULL},
    {"queue_then_fail", ASYNC_FUNC(queue_then_fail), METH_O | METH_ASYNC,
     NULL},
    {"null_without_exception", ASYNC_FUNC(null_without_exception),
     METH_NOARGS | METH_ASYNC, NULL},
    {"result_with_exception", ASYNC_FUNC(result_with_exception),
     METH_NOARGS | METH_ASYNC, NULL},
    {"return_awaitable", ASYNC_FUNC(return_awaitable),
     METH_NOARGS | METH_ASYNC, NULL},
    {"keep_awaitable", ASYNC_FUNC(keep_awaitable), METH_NOARGS | METH_ASYNC,
     NULL},
    {"call_arg", ASYNC_FUNC(call_arg), METH_O | METH_ASYNC, NULL},
    {"get_kept", get_kept, METH_NOARGS, NULL},
    {"bad_entry", bad_entry, METH_VARARGS, NULL},
    {"add_functions_null", add_functions_null, METH_O, NULL},
    {NULL},
};

/* Not in m_methods: added by PyAwaitable_AddFunctions(module, ...). */
static PyMethodDef extra_functions[] = {
    {"extra_async", ASYNC_FUNC(async_o), METH_O | METH_ASYNC,
     "extra_async(value)\n--\n\nAdded from a second array."},
    {"extra_sync", sync_method, METH_O, NULL},
    {NULL},
};

static int
exec_module(PyObject *module)
{
    if (PyAwaitable_Init() < 0) {
        return -1;
    }
    /* The one line a module with METH_ASYNC entries in m_methods adds. */
    if (PyAwaitable_AddFunctions(module, module_methods) < 0) {
        return -1;
    }
    if (PyAwaitable_AddFunctions(module, extra_functions) < 0) {
        return -1;
    }

    PyObject *widget = PyType_FromSpec(&widget_spec);
    if (widget == NULL) {
        return -1;
    }
    /* The one line a type with METH_ASYNC entries adds. */
    if (PyAwaitable_AddMethods((PyTypeObject *)widget, widget_methods) < 0
        || PyAwaitable_AddMethods((PyTypeObject *)widget, extra_methods) < 0
        || PyModule_AddObjectRef(module, "Widget", widget) < 0) {
        Py_DECREF(widget);
        return -1;
    }
    Py_DECREF(widget);

    if (PyType_Ready(&StaticWidget) < 0
        || PyAwaitable_AddMethods(&StaticWidget, static_widget_methods) < 0
        || PyModule_AddObjectRef(module, "StaticWidget",
                                 (PyObject *)&StaticWidget) < 0) {
        return -1;
    }

    /* Once per process: a legacy subinterpreter (sharing the GIL) that
       imports the module again uses the same list. */
    if (kept == NULL) {
        kept = PyList_New(0);
        if (kept == NULL) {
            return -1;
        }
    }
    return PyModule_AddIntConstant(module, "METH_ASYNC", METH_ASYNC);
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, exec_module},
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
    .m_name = "_testasync",
    .m_doc = "METH_ASYNC functions and methods for the shared tests.",
    .m_size = 0,
    .m_methods = module_methods,
    .m_slots = slots,
};

PyMODINIT_FUNC
PyInit__testasync(void)
{
    return PyModuleDef_Init(&module_def);
}
