/*
 * _testawaitable: the C side of the shared test suite.
 *
 * Thin wrappers around every PyAwaitable function, in the style of
 * _testcapi, plus C callbacks that dispatch to Python handlers so that the
 * tests can express any callback behaviour in Python (see tests/harness.py).
 * The same source is built against the backport and against a patched
 * interpreter; it only uses what pyawaitable.h declares.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "pyawaitable.h"
#include <string.h>

/* Python callable: dispatcher(aw, slot, kind, value) -> code, where kind is
 * RESULT, ERROR or DEFER (value None).  Each interpreter imports its own
 * harness, so the dispatcher is kept per interpreter, in its state dict (a
 * callback knows its awaitable, not the module). */
enum { RESULT = 0, ERROR = 1, DEFER = 2 };
#define DISPATCHER_KEY "_testawaitable.dispatcher"
/* Error callbacks must be called with no exception set; count violations
 * (atomically: callbacks may run in several threads and interpreters). */
static _Atomic Py_ssize_t protocol_violations = 0;

/* The current interpreter's dispatcher (a new reference), or NULL with an
 * exception set. */
static PyObject *
get_dispatcher(void)
{
    PyObject *dict = PyInterpreterState_GetDict(PyInterpreterState_Get());
    if (dict == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "no interpreter state dict");
        return NULL;
    }
    PyObject *fn;
#if PY_VERSION_HEX >= 0x030D0000
    /* A strong reference: safe against a concurrent set_dispatcher() on
       free-threaded builds. */
    if (PyDict_GetItemStringRef(dict, DISPATCHER_KEY, &fn) < 0) {
        return NULL;
    }
#else
    /* Not PyDict_GetItemString: it would swallow a MemoryError from
       creating the key (test_nomemory fails each allocation in turn). */
    PyObject *key = PyUnicode_FromString(DISPATCHER_KEY);
    if (key == NULL) {
        return NULL;
    }
    fn = Py_XNewRef(PyDict_GetItemWithError(dict, key));
    Py_DECREF(key);
    if (fn == NULL && PyErr_Occurred()) {
        return NULL;
    }
#endif
    if (fn == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "no dispatcher set");
    }
    return fn;
}

/* Interprets what a Python handler returned:
 *   an int code                  -> that code, no exception set
 *   (code, exception or None)    -> set the exception (if any), return code
 *   raised                       -> -1 with the exception set */
static int
handler_code(PyObject *ret)
{
    if (ret == NULL) {
        return -1;
    }
    PyObject *exc = NULL;
    PyObject *code_obj = ret;
    if (PyTuple_Check(ret) && PyTuple_GET_SIZE(ret) == 2) {
        code_obj = PyTuple_GET_ITEM(ret, 0);
        exc = PyTuple_GET_ITEM(ret, 1);
    }
    long code = PyLong_AsLong(code_obj);
    if (code == -1 && PyErr_Occurred()) {
        Py_DECREF(ret);
        return -1;
    }
    if (exc != NULL && exc != Py_None) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    }
    Py_DECREF(ret);
    return (int)code;
}

static int
dispatch(PyObject *aw, int slot, int kind, PyObject *value)
{
    if (kind != RESULT && PyErr_Occurred()) {
        protocol_violations++;
    }
    PyObject *dispatcher = get_dispatcher();
    if (dispatcher == NULL) {
        return -2;
    }
    PyObject *ret = PyObject_CallFunction(dispatcher, "OiiO", aw, slot,
                                          kind, value);
    Py_DECREF(dispatcher);
    return handler_code(ret);
}

#define SLOT(n)                                                     \
    static int result_##n(PyObject *aw, PyObject *v)                \
    { return dispatch(aw, n, RESULT, v); }                          \
    static int error_##n(PyObject *aw, PyObject *e)                 \
    { return dispatch(aw, n, ERROR, e); }                           \
    static int defer_##n(PyObject *aw)                              \
    { return dispatch(aw, n, DEFER, Py_None); }

SLOT(0) SLOT(1) SLOT(2) SLOT(3) SLOT(4) SLOT(5) SLOT(6) SLOT(7)
SLOT(8) SLOT(9) SLOT(10) SLOT(11) SLOT(12) SLOT(13) SLOT(14) SLOT(15)

#define NSLOTS 16
static PyAwaitable_Callback result_slots[NSLOTS] = {
    result_0, result_1, result_2, result_3, result_4, result_5, result_6,
    result_7, result_8, result_9, result_10, result_11, result_12, result_13,
    result_14, result_15,
};
static PyAwaitable_Error error_slots[NSLOTS] = {
    error_0, error_1, error_2, error_3, error_4, error_5, error_6, error_7,
    error_8, error_9, error_10, error_11, error_12, error_13, error_14,
    error_15,
};

static PyAwaitable_Defer defer_slots[NSLOTS] = {
    defer_0, defer_1, defer_2, defer_3, defer_4, defer_5, defer_6, defer_7,
    defer_8, defer_9, defer_10, defer_11, defer_12, defer_13, defer_14,
    defer_15,
};

/* slot < 0 means no callback. */
static int
callbacks_for(int rslot, int eslot, PyAwaitable_Callback *cb,
              PyAwaitable_Error *err)
{
    if (rslot >= NSLOTS || eslot >= NSLOTS) {
        PyErr_SetString(PyExc_ValueError, "callback slot out of range");
        return -1;
    }
    *cb = rslot < 0 ? NULL : result_slots[rslot];
    *err = eslot < 0 ? NULL : error_slots[eslot];
    return 0;
}

static PyObject *
set_dispatcher(PyObject *self, PyObject *fn)
{
    PyObject *dict = PyInterpreterState_GetDict(PyInterpreterState_Get());
    if (dict == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "no interpreter state dict");
        return NULL;
    }
    if (PyDict_SetItemString(dict, DISPATCHER_KEY, fn) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
violations(PyObject *self, PyObject *unused)
{
    return PyLong_FromSsize_t(protocol_violations);
}

/* ---- thin wrappers ---------------------------------------------------- */

static PyObject *
new_awaitable(PyObject *self, PyObject *unused)
{
    return PyAwaitable_New();
}

static PyObject *
add_await(PyObject *self, PyObject *args)
{
    PyObject *aw, *coro;
    int rslot = -1, eslot = -1;
    if (!PyArg_ParseTuple(args, "OO|ii", &aw, &coro, &rslot, &eslot)) {
        return NULL;
    }
    PyAwaitable_Callback cb;
    PyAwaitable_Error err;
    if (callbacks_for(rslot, eslot, &cb, &err) < 0
        || PyAwaitable_AddAwait(aw, coro, cb, err) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* add_expr(aw, expr): an exception instance for expr stands for a failed
 * call: it is raised and NULL is passed, as PyAwaitable_AddExpr(aw,
 * PyObject_Call(...), ...) would. */
static PyObject *
add_expr(PyObject *self, PyObject *args)
{
    PyObject *aw, *expr;
    int rslot = -1, eslot = -1;
    if (!PyArg_ParseTuple(args, "OO|ii", &aw, &expr, &rslot, &eslot)) {
        return NULL;
    }
    PyAwaitable_Callback cb;
    PyAwaitable_Error err;
    if (callbacks_for(rslot, eslot, &cb, &err) < 0) {
        return NULL;
    }
    PyObject *stolen;
    if (PyExceptionInstance_Check(expr)) {
        PyErr_SetObject((PyObject *)Py_TYPE(expr), expr);
        stolen = NULL;
    }
    else {
        stolen = Py_NewRef(expr);
    }
    if (PyAwaitable_AddExpr(aw, stolen, cb, err) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* defer_await(aw, slot): slot < 0 passes NULL. */
static PyObject *
defer_await(PyObject *self, PyObject *args)
{
    PyObject *aw;
    int slot;
    if (!PyArg_ParseTuple(args, "Oi", &aw, &slot)) {
        return NULL;
    }
    if (slot >= NSLOTS) {
        PyErr_SetString(PyExc_ValueError, "callback slot out of range");
        return NULL;
    }
    if (PyAwaitable_DeferAwait(aw, slot < 0 ? NULL : defer_slots[slot]) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* async_with(aw, ctx, body_slot, error_slot) */
static PyObject *
async_with(PyObject *self, PyObject *args)
{
    PyObject *aw, *ctx;
    int rslot = -1, eslot = -1;
    if (!PyArg_ParseTuple(args, "OO|ii", &aw, &ctx, &rslot, &eslot)) {
        return NULL;
    }
    PyAwaitable_Callback body;
    PyAwaitable_Error err;
    if (callbacks_for(rslot, eslot, &body, &err) < 0
        || PyAwaitable_AsyncWith(aw, ctx, body, err) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
set_result(PyObject *self, PyObject *args)
{
    PyObject *aw, *value;
    if (!PyArg_ParseTuple(args, "OO", &aw, &value)) {
        return NULL;
    }
    if (PyAwaitable_SetResult(aw, value) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
cancel(PyObject *self, PyObject *aw)
{
    PyAwaitable_Cancel(aw);
    if (PyErr_Occurred()) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* cancel_with_error_set(aw, exc): PyAwaitable_Cancel(aw) called while exc
 * is set (as a failing function cancels its awaitable); returns NULL
 * with whatever exception is set afterwards. */
static PyObject *
cancel_with_error_set(PyObject *self, PyObject *args)
{
    PyObject *aw, *exc;
    if (!PyArg_ParseTuple(args, "OO", &aw, &exc)) {
        return NULL;
    }
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    PyAwaitable_Cancel(aw);
    return NULL;
}

static PyObject *
check(PyObject *self, PyObject *op)
{
    return PyBool_FromLong(PyAwaitable_Check(op));
}

static PyObject *
get_type(PyObject *self, PyObject *unused)
{
    PyTypeObject *tp = PyAwaitable_GetType();
    return Py_XNewRef((PyObject *)tp);
}

/* call_with_null(name, aw=NULL): PyAwaitable_<name> with a NULL pointer
 * argument, or with a NULL awaitable when aw is not given ("Name:param"
 * picks which pointer when there are several).  Must raise, never crash.
 * Raises what the function raised; None if it did not fail. */
static PyObject *
call_with_null(PyObject *self, PyObject *args)
{
    const char *name;
    PyObject *aw = NULL;
    if (!PyArg_ParseTuple(args, "s|O", &name, &aw)) {
        return NULL;
    }
    int failed;
    if (strcmp(name, "AddAwait") == 0) {
        failed = PyAwaitable_AddAwait(aw, aw ? NULL : Py_None, NULL, NULL) < 0;
    }
    else if (strcmp(name, "AddExpr") == 0) {
        failed = PyAwaitable_AddExpr(aw, NULL, NULL, NULL) < 0;
    }
    else if (strcmp(name, "DeferAwait") == 0) {
        failed = PyAwaitable_DeferAwait(aw, NULL) < 0;
    }
    else if (strcmp(name, "AsyncWith") == 0) {
        failed = PyAwaitable_AsyncWith(aw, NULL, NULL, NULL) < 0;
    }
    else if (strcmp(name, "SetResult") == 0) {
        failed = PyAwaitable_SetResult(aw, aw ? NULL : Py_None) < 0;
    }
    else if (strcmp(name, "Cancel") == 0) {
        PyAwaitable_Cancel(aw);
        failed = PyErr_Occurred() != NULL;
    }
    else if (strcmp(name, "Check") == 0) {
        failed = PyAwaitable_Check(NULL) != 0 || PyErr_Occurred();
    }
    else if (strcmp(name, "SaveValues") == 0) {
        /* The second is NULL: the first must not be saved either. */
        failed = PyAwaitable_SaveValues(aw, 2, Py_None, (PyObject *)NULL) < 0;
    }
    else if (strcmp(name, "SaveValuesArray") == 0) {
        PyObject *values[2] = {Py_None, NULL};
        failed = PyAwaitable_SaveValuesArray(aw, 2, values) < 0;
    }
    else if (strcmp(name, "SaveValuesArray:values") == 0) {
        failed = PyAwaitable_SaveValuesArray(aw, 1, NULL) < 0;
    }
    else if (strcmp(name, "GetValue") == 0) {
        failed = PyAwaitable_GetValue(aw, 0) == NULL;
    }
    else if (strcmp(name, "UnpackValuesArray") == 0) {
        failed = PyAwaitable_UnpackValuesArray(aw, 1, NULL) < 0;
    }
    else if (strcmp(name, "SaveArbValuesArray") == 0) {
        failed = PyAwaitable_SaveArbValuesArray(aw, 1, NULL) < 0;
    }
    else if (strcmp(name, "UnpackArbValuesArray") == 0) {
        failed = PyAwaitable_UnpackArbValuesArray(aw, 1, NULL) < 0;
    }
    else if (strcmp(name, "AddFunctions") == 0) {
        /* aw stands for the module here, and the table is NULL. */
        failed = PyAwaitable_AddFunctions(aw, NULL) < 0;
    }
    else if (strcmp(name, "AddMethods") == 0) {
        failed = PyAwaitable_AddMethods((PyTypeObject *)aw, NULL) < 0;
    }
    else if (strcmp(name, "SetValue") == 0) {
        failed = PyAwaitable_SetValue(aw, 0, NULL) < 0;
    }
    else {
        PyErr_Format(PyExc_ValueError, "unknown function %s", name);
        return NULL;
    }
    if (!failed) {
        Py_RETURN_NONE;
    }
    if (!PyErr_Occurred()) {
        PyErr_Format(PyExc_AssertionError,
                     "PyAwaitable_%s failed without an exception", name);
    }
    return NULL;
}

/* Drive the awaitable through PyIter_Send (its am_send slot) and report
 * ("next" | "return", value); the return path must leave no exception. */
static PyObject *
send(PyObject *self, PyObject *args)
{
    PyObject *aw, *value, *result;
    if (!PyArg_ParseTuple(args, "OO", &aw, &value)) {
        return NULL;
    }
    PySendResult status = PyIter_Send(aw, value, &result);
    if (status == PYGEN_ERROR) {
        return NULL;
    }
    if (PyErr_Occurred()) {
        Py_DECREF(result);
        PyErr_SetString(PyExc_AssertionError,
                        "PyIter_Send succeeded with an exception set");
        return NULL;
    }
    return Py_BuildValue("(sN)", status == PYGEN_NEXT ? "next" : "return",
                         result);
}

static PyObject *
has_am_send(PyObject *self, PyObject *op)
{
    PyAsyncMethods *am = Py_TYPE(op)->tp_as_async;
    return PyBool_FromLong(am != NULL && am->am_send != NULL);
}

/* drop_with_error_set(holder): clear the list holding the only reference
 * to an awaitable while an exception is set, as a C function failing after
 * creating one does.  The exception must survive the deallocation. */
static PyObject *
drop_with_error_set(PyObject *self, PyObject *holder)
{
    if (!PyList_Check(holder)) {
        PyErr_SetString(PyExc_TypeError, "expected a list");
        return NULL;
    }
    PyErr_SetString(PyExc_LookupError, "pending during dealloc");
    Py_ssize_t n = PyList_GET_SIZE(holder);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyList_GET_ITEM(holder, i);
        PyList_SET_ITEM(holder, i, Py_NewRef(Py_None));
        Py_DECREF(item);
    }
    /* The caller checks that the LookupError is what comes out. */
    return NULL;
}

static int
noop_defer(PyObject *aw)
{
    return 0;
}

/* An empty method table, for the registration functions. */
static PyMethodDef no_methods[] = {{NULL}};

/* api(name, aw, number=0, obj=None): calls PyAwaitable_<name> with aw
 * (None passes NULL), number as its count or index, and obj as its object
 * argument (the awaited object, expression, context manager, result or
 * value); arrays and pointers are valid.  Returns what the function
 * returned (as a Python object) or raises what it raised; a failure
 * without an exception is an AssertionError. */
static PyObject *
api(PyObject *self, PyObject *args)
{
    const char *name;
    PyObject *aw, *obj = Py_None;
    Py_ssize_t n = 0;
    if (!PyArg_ParseTuple(args, "sO|nO", &name, &aw, &n, &obj)) {
        return NULL;
    }
    if (aw == Py_None) {
        aw = NULL;
    }
    PyObject *objs[2] = {Py_None, Py_None};
    void *ptrs[2] = {NULL, NULL};
    PyObject *out[2];
    void *arb_out[2];
    if (n > 2 && strstr(name, "Array") != NULL) {
        PyErr_SetString(PyExc_ValueError, "at most 2 in this helper");
        return NULL;
    }
    long rc;
    int failed;
    if (strcmp(name, "AddAwait") == 0) {
        rc = PyAwaitable_AddAwait(aw, obj, NULL, NULL);
        failed = rc < 0;
    }
    else if (strcmp(name, "AddExpr") == 0) {
        /* A new reference, as an expression gives. */
        rc = PyAwaitable_AddExpr(aw, Py_NewRef(obj), NULL, NULL);
        failed = rc < 0;
    }
    else if (strcmp(name, "DeferAwait") == 0) {
        rc = PyAwaitable_DeferAwait(aw, noop_defer);
        failed = rc < 0;
    }
    else if (strcmp(name, "AsyncWith") == 0) {
        rc = PyAwaitable_AsyncWith(aw, obj, NULL, NULL);
        failed = rc < 0;
    }
    else if (strcmp(name, "SetResult") == 0) {
        rc = PyAwaitable_SetResult(aw, obj);
        failed = rc < 0;
    }
    else if (strcmp(name, "Cancel") == 0) {
        PyAwaitable_Cancel(aw);
        rc = 0;
        failed = PyErr_Occurred() != NULL;
    }
    else if (strcmp(name, "SaveValuesArray") == 0) {
        rc = PyAwaitable_SaveValuesArray(aw, n, objs);
        failed = rc < 0;
    }
    else if (strcmp(name, "SaveValues") == 0) {
        rc = PyAwaitable_SaveValues(aw, n, Py_None, Py_None);
        failed = rc < 0;
    }
    else if (strcmp(name, "UnpackValuesArray") == 0) {
        rc = PyAwaitable_UnpackValuesArray(aw, n, out);
        failed = rc < 0;
    }
    else if (strcmp(name, "AddFunctions") == 0) {
        /* aw is the module, with an empty table. */
        rc = PyAwaitable_AddFunctions(aw, no_methods);
        failed = rc < 0;
    }
    else if (strcmp(name, "AddMethods") == 0) {
        /* aw is the type (unchecked here: the function must check it). */
        rc = PyAwaitable_AddMethods((PyTypeObject *)aw, no_methods);
        failed = rc < 0;
    }
    else if (strcmp(name, "UnpackValues") == 0) {
        /* Two outputs: for at most two saved values, or more than the
           variadic limit (refused before any argument is read). */
        PyObject *o[2];
        rc = PyAwaitable_UnpackValues(aw, &o[0], &o[1]);
        failed = rc < 0;
    }
    else if (strcmp(name, "UnpackArbValues") == 0) {
        void *p[2];
        rc = PyAwaitable_UnpackArbValues(aw, &p[0], &p[1]);
        failed = rc < 0;
    }
    else if (strcmp(name, "GetValue") == 0) {
        rc = PyAwaitable_GetValue(aw, n) != NULL;
        failed = rc == 0;
    }
    else if (strcmp(name, "SetValue") == 0) {
        rc = PyAwaitable_SetValue(aw, n, obj);
        failed = rc < 0;
    }
    else if (strcmp(name, "ValuesSize") == 0) {
        rc = PyAwaitable_ValuesSize(aw);
        failed = rc < 0;
    }
    else if (strcmp(name, "SaveArbValuesArray") == 0) {
        rc = PyAwaitable_SaveArbValuesArray(aw, n, ptrs);
        failed = rc < 0;
    }
    else if (strcmp(name, "SaveArbValues") == 0) {
        rc = PyAwaitable_SaveArbValues(aw, n, NULL, NULL);
        failed = rc < 0;
    }
    else if (strcmp(name, "UnpackArbValuesArray") == 0) {
        rc = PyAwaitable_UnpackArbValuesArray(aw, n, arb_out);
        failed = rc < 0;
    }
    else if (strcmp(name, "GetArbValue") == 0) {
        PyAwaitable_GetArbValue(aw, n);
        rc = 0;
        failed = PyErr_Occurred() != NULL;
    }
    else if (strcmp(name, "SetArbValue") == 0) {
        rc = PyAwaitable_SetArbValue(aw, n, NULL);
        failed = rc < 0;
    }
    else if (strcmp(name, "ArbValuesSize") == 0) {
        rc = PyAwaitable_ArbValuesSize(aw);
        failed = rc < 0;
    }
    else {
        PyErr_Format(PyExc_ValueError, "unknown function %s", name);
        return NULL;
    }
    if (!failed) {
        if (PyErr_Occurred()) {
            PyErr_Format(PyExc_AssertionError,
                         "PyAwaitable_%s succeeded with an exception set",
                         name);
            return NULL;
        }
        return PyLong_FromLong(rc);
    }
    if (!PyErr_Occurred()) {
        PyErr_Format(PyExc_AssertionError,
                     "PyAwaitable_%s failed without an exception", name);
    }
    return NULL;
}

/* ---- small async functions written with the API ---------------------- */

/* async def trampoline(coro): return await coro */
static int
return_result(PyObject *aw, PyObject *result)
{
    return PyAwaitable_SetResult(aw, result);
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

/* async def value(v): return v */
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

/* chain(n, factory): await factory() n times, each item queued by the
 * previous item's callback; the result is n. */
static int
chain_next(PyObject *aw, PyObject *unused)
{
    PyObject *factory = PyAwaitable_GetValue(aw, 0);
    intptr_t left = (intptr_t)PyAwaitable_GetArbValue(aw, 0);
    if (factory == NULL || (left == 0 && PyErr_Occurred())) {
        return -2;
    }
    if (left == 0) {
        return 0;
    }
    if (PyAwaitable_SetArbValue(aw, 0, (void *)(left - 1)) < 0) {
        return -2;
    }
    return PyAwaitable_AddExpr(aw, PyObject_CallNoArgs(factory), chain_next,
                               NULL) < 0 ? -2 : 0;
}

static PyObject *
chain(PyObject *self, PyObject *args)
{
    Py_ssize_t n;
    PyObject *factory;
    if (!PyArg_ParseTuple(args, "nO", &n, &factory)) {
        return NULL;
    }
    PyObject *aw = PyAwaitable_New();
    if (aw == NULL) {
        return NULL;
    }
    PyObject *count = PyLong_FromSsize_t(n);
    if (count == NULL
        || PyAwaitable_SaveValues(aw, 1, factory) < 0
        || PyAwaitable_SaveArbValues(aw, 1, (void *)(intptr_t)n) < 0
        || PyAwaitable_SetResult(aw, count) < 0
        || chain_next(aw, NULL) < 0) {
        Py_XDECREF(count);
        Py_DECREF(aw);
        return NULL;
    }
    Py_DECREF(count);
    return aw;
}

/* ---- values ------------------------------------------------------------ */

static PyObject *
save_values(PyObject *self, PyObject *args)
{
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    if (n < 1) {
        PyErr_SetString(PyExc_TypeError, "save_values(aw, *values)");
        return NULL;
    }
    PyObject *aw = PyTuple_GET_ITEM(args, 0);
    if (PyAwaitable_SaveValuesArray(aw, n - 1,
                                    &PyTuple_GET_ITEM(args, 1)) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* unpack_values(aw, n): the first n values through the array form. */
static PyObject *
unpack_values(PyObject *self, PyObject *args)
{
    PyObject *aw;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "On", &aw, &n)) {
        return NULL;
    }
    PyObject *out[8];
    if (n > 8) {
        PyErr_SetString(PyExc_ValueError, "at most 8 in this test helper");
        return NULL;
    }
    if (PyAwaitable_UnpackValuesArray(aw, n, out) < 0) {
        return NULL;
    }
    PyObject *tuple = PyTuple_New(n < 0 ? 0 : n);
    for (Py_ssize_t i = 0; tuple != NULL && i < n; i++) {
        PyTuple_SET_ITEM(tuple, i, Py_NewRef(out[i]));
    }
    return tuple;
}

/* unpack3(aw): the variadic form with three out-pointers (middle one
 * skipped with NULL). */
static PyObject *
unpack3(PyObject *self, PyObject *aw)
{
    PyObject *a = NULL, *c = NULL;
    if (PyAwaitable_UnpackValues(aw, &a, NULL, &c) < 0) {
        return NULL;
    }
    return Py_BuildValue("(OO)", a, c);
}

static PyObject *
get_value(PyObject *self, PyObject *args)
{
    PyObject *aw;
    Py_ssize_t i;
    if (!PyArg_ParseTuple(args, "On", &aw, &i)) {
        return NULL;
    }
    return Py_XNewRef(PyAwaitable_GetValue(aw, i));
}

static PyObject *
set_value(PyObject *self, PyObject *args)
{
    PyObject *aw, *v;
    Py_ssize_t i;
    if (!PyArg_ParseTuple(args, "OnO", &aw, &i, &v)) {
        return NULL;
    }
    if (PyAwaitable_SetValue(aw, i, v) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

/* Arbitrary values, as integers cast to void * (the fuzzer compares them
 * with the model's). */
static PyObject *
save_arb_values(PyObject *self, PyObject *args)
{
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    void *values[8];
    if (n < 1 || n > 9) {
        PyErr_SetString(PyExc_TypeError, "save_arb_values(aw, *ints)");
        return NULL;
    }
    for (Py_ssize_t i = 1; i < n; i++) {
        Py_ssize_t v = PyLong_AsSsize_t(PyTuple_GET_ITEM(args, i));
        if (v == -1 && PyErr_Occurred()) {
            return NULL;
        }
        values[i - 1] = (void *)(intptr_t)v;
    }
    if (PyAwaitable_SaveArbValuesArray(PyTuple_GET_ITEM(args, 0), n - 1,
                                       values) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
unpack_arb_values(PyObject *self, PyObject *args)
{
    PyObject *aw;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "On", &aw, &n)) {
        return NULL;
    }
    void *out[8];
    if (n > 8) {
        PyErr_SetString(PyExc_ValueError, "at most 8 in this test helper");
        return NULL;
    }
    if (PyAwaitable_UnpackArbValuesArray(aw, n, out) < 0) {
        return NULL;
    }
    PyObject *tuple = PyTuple_New(n < 0 ? 0 : n);
    for (Py_ssize_t i = 0; tuple != NULL && i < n; i++) {
        PyObject *v = PyLong_FromSsize_t((Py_ssize_t)(intptr_t)out[i]);
        if (v == NULL) {
            Py_CLEAR(tuple);
            break;
        }
        PyTuple_SET_ITEM(tuple, i, v);
    }
    return tuple;
}

static PyObject *
get_arb_value(PyObject *self, PyObject *args)
{
    PyObject *aw;
    Py_ssize_t i;
    if (!PyArg_ParseTuple(args, "On", &aw, &i)) {
        return NULL;
    }
    void *v = PyAwaitable_GetArbValue(aw, i);
    if (v == NULL && PyErr_Occurred()) {
        return NULL;
    }
    return PyLong_FromSsize_t((Py_ssize_t)(intptr_t)v);
}

static PyObject *
set_arb_value(PyObject *self, PyObject *args)
{
    PyObject *aw;
    Py_ssize_t i, v;
    if (!PyArg_ParseTuple(args, "Onn", &aw, &i, &v)) {
        return NULL;
    }
    if (PyAwaitable_SetArbValue(aw, i, (void *)(intptr_t)v) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"set_dispatcher", set_dispatcher, METH_O, NULL},
    {"violations", violations, METH_NOARGS, NULL},
    {"new", new_awaitable, METH_NOARGS, NULL},
    {"add_await", add_await, METH_VARARGS, NULL},
    {"add_expr", add_expr, METH_VARARGS, NULL},
    {"api", api, METH_VARARGS, NULL},
    {"defer_await", defer_await, METH_VARARGS, NULL},
    {"async_with", async_with, METH_VARARGS, NULL},
    {"set_result", set_result, METH_VARARGS, NULL},
    {"cancel", cancel, METH_O, NULL},
    {"cancel_with_error_set", cancel_with_error_set, METH_VARARGS, NULL},
    {"check", check, METH_O, NULL},
    {"get_type", get_type, METH_NOARGS, NULL},
    {"call_with_null", call_with_null, METH_VARARGS, NULL},
    {"send", send, METH_VARARGS, NULL},
    {"has_am_send", has_am_send, METH_O, NULL},
    {"drop_with_error_set", drop_with_error_set, METH_O, NULL},
    {"trampoline", trampoline, METH_O, NULL},
    {"value", value, METH_O, NULL},
    {"chain", chain, METH_VARARGS, NULL},
    {"save_values", save_values, METH_VARARGS, NULL},
    {"unpack_values", unpack_values, METH_VARARGS, NULL},
    {"unpack3", unpack3, METH_O, NULL},
    {"get_value", get_value, METH_VARARGS, NULL},
    {"set_value", set_value, METH_VARARGS, NULL},
    {"save_arb_values", save_arb_values, METH_VARARGS, NULL},
    {"unpack_arb_values", unpack_arb_values, METH_VARARGS, NULL},
    {"get_arb_value", get_arb_value, METH_VARARGS, NULL},
    {"set_arb_value", set_arb_value, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static int
exec_module(PyObject *module)
{
    if (PyAwaitable_Init() < 0) {
        return -1;
    }
    /* Whether pyawaitable.h compiled its native branch: the interpreter
       implements the API, and where the backport and the interpreter
       legitimately differ (names, where errors are raised) the tests
       expect the interpreter's behaviour. */
#ifdef Py_HAVE_PYAWAITABLE
    return PyModule_AddObjectRef(module, "NATIVE", Py_True);
#else
    return PyModule_AddObjectRef(module, "NATIVE", Py_False);
#endif
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, exec_module},
#if PY_VERSION_HEX >= 0x030C0000
    /* Nothing is shared between interpreters but the violation counter
       (atomic) and the API table: test_subinterpreters imports the module
       into interpreters with their own GIL. */
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
#ifdef Py_GIL_DISABLED
    /* Its functions are safe to call from several threads at once
       (test_threads does); without this the free-threaded build would
       turn the GIL back on when importing it, and the API would not be
       tested without the GIL. */
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_testawaitable",
    .m_methods = methods,
    .m_slots = slots,
};

PyMODINIT_FUNC
PyInit__testawaitable(void)
{
    return PyModuleDef_Init(&module_def);
}
