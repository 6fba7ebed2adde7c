/*
 * pyawaitable.h -- a C API for asynchronous functions.
 *
 * This header is the contract between C extensions and the implementation
 * of the PyAwaitable API.  It has two branches:
 *
 * - On an interpreter that provides the API natively (it defines
 *   Py_HAVE_PYAWAITABLE in Python.h), Python.h declares the API and this
 *   header only adds PyAwaitable_Init() (which does nothing),
 *   PyAwaitable_AddFunctions(), PyAwaitable_AddMethods() and the 1.x names.
 *
 * - On stock CPython 3.10 and newer, PyAwaitable_Init() imports the
 *   pyawaitable_backport runtime and takes its versioned table of function
 *   pointers; every other function is a static inline call through that
 *   table.
 *
 * Call PyAwaitable_Init() once from the module's init or exec function, so
 * that a missing runtime is an ImportError at import time.  Other
 * translation units of the same extension need not call it: each has its
 * own copy of the table pointer, filled on first use.
 *
 * The specification lives in the PEP draft (pep/) and the shared tests.
 */
#ifndef PYAWAITABLE_H
#define PYAWAITABLE_H

#include <Python.h>
#include <stdarg.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef Py_HAVE_PYAWAITABLE
/* A result callback gets a borrowed reference to the awaitable and to the
 * value the awaited item returned.  Return 0 to continue, -1 (exception set)
 * to hand the exception to this item's error callback, -2 (exception set)
 * to propagate it past the error callback. */
typedef int (*PyAwaitable_Callback)(PyObject *awaitable, PyObject *result);

/* An error callback gets a borrowed reference to the awaitable and to the
 * exception; it is called with no exception set.  Return 0 to swallow the
 * exception and continue, -1 to re-raise it, -2 (exception set) to raise a
 * new exception instead. */
typedef int (*PyAwaitable_Error)(PyObject *awaitable, PyObject *exc);

/* A deferred callback runs when the queue reaches it and may queue more
 * items.  Return 0 to continue, or -1 or -2 (exception set) to raise. */
typedef int (*PyAwaitable_Defer)(PyObject *awaitable);

/* Opaque, as in pyawaitable 2.x (whose struct body was never API). */
typedef struct _PyAwaitableObject PyAwaitableObject;

/* METH_ASYNC marks a PyMethodDef entry as an async function: calling it runs
 * the C function at once with a fresh awaitable, passed right after self,
 * and returns that awaitable.  The C function returns the awaitable's result
 * (a new reference; callbacks may replace it later), or NULL with an
 * exception set, which the call raises.  The other flags keep their meaning
 * and select one of the signatures below:
 *
 *   METH_NOARGS                         PyAsyncCFunction(self, aw, NULL)
 *   METH_O                              PyAsyncCFunction(self, aw, arg)
 *   METH_VARARGS                        PyAsyncCFunction(self, aw, args)
 *   METH_VARARGS | METH_KEYWORDS        PyAsyncCFunctionWithKeywords
 *   METH_FASTCALL                       PyAsyncCFunctionFast
 *   METH_FASTCALL | METH_KEYWORDS       PyAsyncCFunctionFastWithKeywords
 *   METH_METHOD | METH_FASTCALL | METH_KEYWORDS          PyAsyncCMethod
 *
 * Stock CPython ignores unknown flag bits, so on it the entries only work
 * once PyAwaitable_AddFunctions() / PyAwaitable_AddMethods() has replaced
 * them (see below).  The patched interpreter defines the flag itself. */
#define METH_ASYNC 0x0400

typedef PyObject *(*PyAsyncCFunction)(PyObject *self, PyObject *aw,
                                      PyObject *arg);
typedef PyObject *(*PyAsyncCFunctionWithKeywords)(PyObject *self,
                                                  PyObject *aw,
                                                  PyObject *args,
                                                  PyObject *kwargs);
typedef PyObject *(*PyAsyncCFunctionFast)(PyObject *self, PyObject *aw,
                                          PyObject *const *args,
                                          Py_ssize_t nargs);
typedef PyObject *(*PyAsyncCFunctionFastWithKeywords)(PyObject *self,
                                                      PyObject *aw,
                                                      PyObject *const *args,
                                                      Py_ssize_t nargs,
                                                      PyObject *kwnames);
typedef PyObject *(*PyAsyncCMethod)(PyObject *self, PyObject *aw,
                                    PyTypeObject *defining_class,
                                    PyObject *const *args, Py_ssize_t nargs,
                                    PyObject *kwnames);
#endif  /* !Py_HAVE_PYAWAITABLE */

#ifdef Py_HAVE_PYAWAITABLE
/* ---------------------------------------------------------------------------
 * Native branch: the interpreter provides every function below.
 * ------------------------------------------------------------------------- */

static inline int
PyAwaitable_Init(void)
{
    return 0;
}

/* The argument checks of the backport's registration calls: 0, or -1 with
 * ValueError (a NULL argument) or TypeError (a target of another type). */
static inline int
_PyAwaitable_CheckTarget(const char *func, PyObject *target,
                         const char *target_name, int want_type,
                         PyMethodDef *defs, const char *defs_name)
{
    if (target == NULL || defs == NULL) {
        PyErr_Format(PyExc_ValueError, "%s: %s is NULL", func,
                     target == NULL ? target_name : defs_name);
        return -1;
    }
    if (want_type ? !PyType_Check(target) : !PyModule_Check(target)) {
        PyErr_Format(PyExc_TypeError, "%s: expected a %s, got %s", func,
                     want_type ? "type" : "module", Py_TYPE(target)->tp_name);
        return -1;
    }
    return 0;
}

/* The interpreter already created the METH_ASYNC entries of m_methods and
 * tp_methods; these only add entries of other arrays, as the backport does. */
static inline int
PyAwaitable_AddFunctions(PyObject *module, PyMethodDef *functions)
{
    if (_PyAwaitable_CheckTarget("PyAwaitable_AddFunctions", module,
                                 "module", 0, functions, "functions") < 0) {
        return -1;
    }
    PyModuleDef *def = PyModule_GetDef(module);
    if (def == NULL && PyErr_Occurred()) {
        return -1;
    }
    if (def != NULL && def->m_methods == functions) {
        return 0;
    }
    return PyModule_AddFunctions(module, functions);
}

static inline int
PyAwaitable_AddMethods(PyTypeObject *type, PyMethodDef *methods)
{
    if (_PyAwaitable_CheckTarget("PyAwaitable_AddMethods", (PyObject *)type,
                                 "type", 1, methods, "methods") < 0) {
        return -1;
    }
    if (methods == type->tp_methods) {
        return 0;
    }
    PyObject *dict = PyType_GetDict(type);
    if (dict == NULL) {
        return -1;
    }
    for (PyMethodDef *meth = methods; meth->ml_name != NULL; meth++) {
        PyObject *descr, *name = PyUnicode_FromString(meth->ml_name);
        if (name == NULL) {
            goto error;
        }
        int found = PyDict_Contains(dict, name);
        Py_DECREF(name);
        if (found < 0) {
            goto error;
        }
        if (found && !(meth->ml_flags & METH_COEXIST)) {
            continue;
        }
        if (meth->ml_flags & METH_CLASS) {
            descr = PyDescr_NewClassMethod(type, meth);
        }
        else if (meth->ml_flags & METH_STATIC) {
            PyObject *func = PyCFunction_NewEx(meth, (PyObject *)type, NULL);
            if (func == NULL) {
                goto error;
            }
            descr = PyStaticMethod_New(func);
            Py_DECREF(func);
        }
        else {
            descr = PyDescr_NewMethod(type, meth);
        }
        if (descr == NULL) {
            goto error;
        }
        int rc = PyDict_SetItemString(dict, meth->ml_name, descr);
        Py_DECREF(descr);
        if (rc < 0) {
            goto error;
        }
    }
    Py_DECREF(dict);
    PyType_Modified(type);
    return 0;
error:
    Py_DECREF(dict);
    return -1;
}

#else
/* ---------------------------------------------------------------------------
 * Backport branch: calls go through the runtime's table of function pointers.
 * ------------------------------------------------------------------------- */

/* The table layout is append-only: a new version only adds fields at the
 * end, so an extension built against version N works with any runtime that
 * provides version N or newer. */
#define _PyAwaitable_API_VERSION 1
#define _PyAwaitable_API_CAPSULE "pyawaitable_backport._runtime._API"

typedef struct _PyAwaitable_API {
    /* Version 1. */
    uint32_t version;   /* the newest version whose fields are present */
    uint32_t size;      /* sizeof(_PyAwaitable_API) in the runtime */
    PyObject *(*New)(void);
    int (*AddAwait)(PyObject *aw, PyObject *coro,
                    PyAwaitable_Callback cb, PyAwaitable_Error err);
    int (*AddExpr)(PyObject *aw, PyObject *expr,
                   PyAwaitable_Callback cb, PyAwaitable_Error err);
    int (*SetResult)(PyObject *aw, PyObject *result);
    void (*Cancel)(PyObject *aw);
    PyTypeObject *(*GetType)(void);
    int (*Check)(PyObject *op);
    int (*SaveValuesArray)(PyObject *aw, Py_ssize_t n,
                           PyObject *const *values);
    int (*UnpackValuesArray)(PyObject *aw, Py_ssize_t n, PyObject **out);
    int (*SetValue)(PyObject *aw, Py_ssize_t index, PyObject *value);
    PyObject *(*GetValue)(PyObject *aw, Py_ssize_t index);
    Py_ssize_t (*ValuesSize)(PyObject *aw);
    int (*SaveArbValuesArray)(PyObject *aw, Py_ssize_t n,
                              void *const *values);
    int (*UnpackArbValuesArray)(PyObject *aw, Py_ssize_t n, void **out);
    int (*SetArbValue)(PyObject *aw, Py_ssize_t index, void *value);
    void *(*GetArbValue)(PyObject *aw, Py_ssize_t index);
    Py_ssize_t (*ArbValuesSize)(PyObject *aw);
    int (*DeferAwait)(PyObject *aw, PyAwaitable_Defer cb);
    int (*AsyncWith)(PyObject *aw, PyObject *ctx,
                     PyAwaitable_Callback body, PyAwaitable_Error err);
    int (*AddFunctions)(PyObject *module, PyMethodDef *functions);
    int (*AddMethods)(PyTypeObject *type, PyMethodDef *methods);
} _PyAwaitable_API;

static const _PyAwaitable_API *_pyawaitable_api = NULL;

/* Raise type(message) with the current exception as its __cause__. */
static inline void
_PyAwaitable_RaiseFromCurrent(PyObject *type, const char *message)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *cause = PyErr_GetRaisedException();
    PyErr_SetString(type, message);
    PyObject *exc = PyErr_GetRaisedException();
    PyException_SetContext(exc, Py_NewRef(cause));
    PyException_SetCause(exc, cause);
    PyErr_SetRaisedException(exc);
#else
    PyObject *ctype, *cause, *ctb, *etype, *exc, *etb;
    PyErr_Fetch(&ctype, &cause, &ctb);
    PyErr_NormalizeException(&ctype, &cause, &ctb);
    if (ctb != NULL) {
        PyException_SetTraceback(cause, ctb);
        Py_DECREF(ctb);
    }
    Py_DECREF(ctype);
    PyErr_SetString(type, message);
    PyErr_Fetch(&etype, &exc, &etb);
    PyErr_NormalizeException(&etype, &exc, &etb);
    Py_INCREF(cause);
    PyException_SetContext(exc, cause);
    PyException_SetCause(exc, cause);
    PyErr_Restore(etype, exc, etb);
#endif
}

/* Import the runtime in the current interpreter and take its table.
 * Returns 0, or -1 with an exception set (ImportError if the runtime is
 * missing or older than this header). */
static inline int
PyAwaitable_Init(void)
{
    const _PyAwaitable_API *api = (const _PyAwaitable_API *)
        PyCapsule_Import(_PyAwaitable_API_CAPSULE, 0);
    if (api == NULL) {
        if (PyErr_ExceptionMatches(PyExc_ImportError)) {
            _PyAwaitable_RaiseFromCurrent(
                PyExc_ImportError,
                "PyAwaitable_Init: the pyawaitable_backport runtime cannot "
                "be imported (pip install pyawaitable-backport)");
        }
        return -1;
    }
    if (api->version < _PyAwaitable_API_VERSION
        || api->size < sizeof(_PyAwaitable_API)) {
        PyErr_Format(PyExc_ImportError,
                     "PyAwaitable_Init: the installed pyawaitable_backport "
                     "runtime provides API version %u, but this extension "
                     "was built for version %d; upgrade pyawaitable-backport",
                     (unsigned int)api->version, _PyAwaitable_API_VERSION);
        return -1;
    }
    _pyawaitable_api = api;
    return 0;
}

/* Every call below works without an explicit PyAwaitable_Init() in this
 * translation unit (as with pyawaitable 2.x, where one call per extension
 * is enough): the first call takes the table, and if that fails it
 * returns the function's error value with ImportError set. */
static inline int
_PyAwaitable_Ready(void)
{
    return _pyawaitable_api != NULL || PyAwaitable_Init() == 0;
}

static inline PyObject *
PyAwaitable_New(void)
{
    return _PyAwaitable_Ready() ? _pyawaitable_api->New() : NULL;
}

static inline int
PyAwaitable_AddAwait(PyObject *aw, PyObject *coro,
                     PyAwaitable_Callback cb, PyAwaitable_Error err)
{
    return _PyAwaitable_Ready() ? _pyawaitable_api->AddAwait(aw, coro, cb, err) : -1;
}

static inline int
PyAwaitable_AddExpr(PyObject *aw, PyObject *expr,
                    PyAwaitable_Callback cb, PyAwaitable_Error err)
{
    return _PyAwaitable_Ready() ? _pyawaitable_api->AddExpr(aw, expr, cb, err) : -1;
}

static inline int
PyAwaitable_SetResult(PyObject *aw, PyObject *result)
{
    return _PyAwaitable_Ready() ? _pyawaitable_api->SetResult(aw, result) : -1;
}

static inline void
PyAwaitable_Cancel(PyObject *aw)
{
    if (_PyAwaitable_Ready()) {
        _pyawaitable_api->Cancel(aw);
    }
}

static inline PyTypeObject *
PyAwaitable_GetType(void)
{
    return _PyAwaitable_Ready() ? _pyawaitable_api->GetType() : NULL;
}

static inline int
PyAwaitable_Check(PyObject *op)
{
    if (!_PyAwaitable_Ready()) {
        /* Without the runtime no awaitable can exist; Check cannot fail. */
        PyErr_Clear();
        return 0;
    }
    return _pyawaitable_api->Check(op);
}

static inline int
PyAwaitable_SaveValuesArray(PyObject *aw, Py_ssize_t n,
                            PyObject *const *values)
{
    return _PyAwaitable_Ready() ? _pyawaitable_api->SaveValuesArray(aw, n, values) : -1;
}

static inline int
PyAwaitable_UnpackValuesArray(PyObject *aw, Py_ssize_t n, PyObject **out)
{
    return _PyAwaitable_Ready() ? _pyawaitable_api->UnpackValuesArray(aw, n, out) : -1;
}

static inline int
PyAwaitable_SetValue(PyObject *aw, Py_ssize_t index, PyObject *value)
{
    return _PyAwaitable_Ready() ? _pyawaitable_api->SetValue(aw, index, value) : -1;
}

static inline PyObject *
PyAwaitable_GetValue(PyObject *aw, Py_ssize_t index)
{
    return _PyAwaitable_Ready() ? _pyawaitable_api->GetValue(aw, index) : NULL;
}

static inline Py_ssize_t
PyAwaitable_ValuesSize(PyObject *aw)
{
    return _PyAwaitable_Ready() ? _pyawaitable_api->ValuesSize(aw) : -1;
}

static inline int
PyAwaitable_SaveArbValuesArray(PyObject *aw, Py_ssize_t n,
                               void *const *values)
{
    return _PyAwaitable_Ready() ? _pyawaitable_api->SaveArbValuesArray(aw, n, values) : -1;
}

static inline int
PyAwaitable_UnpackArbValuesArray(PyObject *aw, Py_ssize_t n, void **out)
{
    return _PyAwaitable_Ready() ? _pyawaitable_api->UnpackArbValuesArray(aw, n, out) : -1;
}

static inline int
PyAwaitable_SetArbValue(PyObject *aw, Py_ssize_t index, void *value)
{
    return _PyAwaitable_Ready() ? _pyawaitable_api->SetArbValue(aw, index, value) : -1;
}

static inline void *
PyAwaitable_GetArbValue(PyObject *aw, Py_ssize_t index)
{
    return _PyAwaitable_Ready() ? _pyawaitable_api->GetArbValue(aw, index) : NULL;
}

static inline Py_ssize_t
PyAwaitable_ArbValuesSize(PyObject *aw)
{
    return _PyAwaitable_Ready() ? _pyawaitable_api->ArbValuesSize(aw) : -1;
}

static inline int
PyAwaitable_DeferAwait(PyObject *aw, PyAwaitable_Defer cb)
{
    return _PyAwaitable_Ready() ? _pyawaitable_api->DeferAwait(aw, cb) : -1;
}

static inline int
PyAwaitable_AsyncWith(PyObject *aw, PyObject *ctx,
                      PyAwaitable_Callback body, PyAwaitable_Error err)
{
    return _PyAwaitable_Ready() ? _pyawaitable_api->AsyncWith(aw, ctx, body, err) : -1;
}

/* Add every entry of a NULL-terminated PyMethodDef array to a module, as
 * PyModule_AddFunctions() does, with METH_ASYNC entries as async functions.
 * Call it from the module's exec function; `functions` may be the module's
 * own m_methods (the interpreter already added its ordinary entries, so only
 * the METH_ASYNC ones are replaced).  Returns 0, or -1 with an exception
 * (SystemError naming the entry for invalid flags). */
static inline int
PyAwaitable_AddFunctions(PyObject *module, PyMethodDef *functions)
{
    return _PyAwaitable_Ready() ? _pyawaitable_api->AddFunctions(module, functions) : -1;
}

/* The same for a type, once, right after it is created: `methods` is
 * usually the type's own tp_methods (Py_tp_methods), whose METH_ASYNC
 * entries become async method descriptors (METH_CLASS and METH_STATIC work
 * as usual).  Entries of another array are added as PyType_Ready() would
 * add them: an existing attribute is kept unless the entry has
 * METH_COEXIST. */
static inline int
PyAwaitable_AddMethods(PyTypeObject *type, PyMethodDef *methods)
{
    return _PyAwaitable_Ready() ? _pyawaitable_api->AddMethods(type, methods) : -1;
}

#endif  /* Py_HAVE_PYAWAITABLE */

/* Spellings from pyawaitable 1.x, kept so that old code compiles. */
typedef PyAwaitable_Callback awaitcallback;
typedef PyAwaitable_Error awaitcallback_err;

/* pyawaitable 1.x function names; define PYAWAITABLE_NO_1X_NAMES to leave
 * them out. */
#ifndef PYAWAITABLE_NO_1X_NAMES
#  define pyawaitable_init PyAwaitable_Init
#  define pyawaitable_new PyAwaitable_New
#  define pyawaitable_await PyAwaitable_AddAwait
#  define pyawaitable_cancel PyAwaitable_Cancel
#  define pyawaitable_set_result PyAwaitable_SetResult
#  define pyawaitable_save PyAwaitable_SaveValues
#  define pyawaitable_save_arb PyAwaitable_SaveArbValues
#  define pyawaitable_unpack PyAwaitable_UnpackValues
#  define pyawaitable_unpack_arb PyAwaitable_UnpackArbValues
#  define pyawaitable_set PyAwaitable_SetValue
#  define pyawaitable_set_arb PyAwaitable_SetArbValue
#  define pyawaitable_get PyAwaitable_GetValue
#  define pyawaitable_get_arb PyAwaitable_GetArbValue
#  define pyawaitable_async_with PyAwaitable_AsyncWith
#  define pyawaitable_defer_await PyAwaitable_DeferAwait
#endif

#ifndef Py_HAVE_PYAWAITABLE
/* ---------------------------------------------------------------------------
 * Convenience forms over the functions above (a native Python.h has them).
 * ------------------------------------------------------------------------- */

/* await coro, ignoring its result: equivalent of `await coro` in Python. */
#define PyAwaitable_AWAIT(aw, coro) PyAwaitable_AddAwait((aw), (coro), NULL, NULL)

/* The most values a variadic Save/Unpack call handles; the array forms have
 * no limit. */
#define PyAwaitable_MAX_VARARGS 64

/* Save n strong references to PyObject * values, after those saved before. */
static inline int
PyAwaitable_SaveValues(PyObject *aw, Py_ssize_t n, ...)
{
    PyObject *values[PyAwaitable_MAX_VARARGS];
    if (n < 0 || n > PyAwaitable_MAX_VARARGS) {
        PyErr_Format(PyExc_ValueError,
                     "PyAwaitable_SaveValues: count must be between 0 and "
                     "%d, got %zd (use PyAwaitable_SaveValuesArray)",
                     PyAwaitable_MAX_VARARGS, n);
        return -1;
    }
    va_list args;
    va_start(args, n);
    for (Py_ssize_t i = 0; i < n; i++) {
        values[i] = va_arg(args, PyObject *);
    }
    va_end(args);
    return PyAwaitable_SaveValuesArray(aw, n, values);
}

/* Unpack every saved value, in save order, into PyObject ** arguments (one
 * per saved value; NULL skips a slot).  The references are borrowed. */
static inline int
PyAwaitable_UnpackValues(PyObject *aw, ...)
{
    PyObject *values[PyAwaitable_MAX_VARARGS];
    Py_ssize_t n = PyAwaitable_ValuesSize(aw);
    if (n < 0) {
        return -1;
    }
    if (n > PyAwaitable_MAX_VARARGS) {
        PyErr_Format(PyExc_ValueError,
                     "PyAwaitable_UnpackValues: %zd values saved, more than "
                     "%d (use PyAwaitable_UnpackValuesArray)",
                     n, PyAwaitable_MAX_VARARGS);
        return -1;
    }
    if (PyAwaitable_UnpackValuesArray(aw, n, values) < 0) {
        return -1;
    }
    va_list args;
    va_start(args, aw);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject **out = va_arg(args, PyObject **);
        if (out != NULL) {
            *out = values[i];
        }
    }
    va_end(args);
    return 0;
}

/* Save n void * values; they are never dereferenced or freed. */
static inline int
PyAwaitable_SaveArbValues(PyObject *aw, Py_ssize_t n, ...)
{
    void *values[PyAwaitable_MAX_VARARGS];
    if (n < 0 || n > PyAwaitable_MAX_VARARGS) {
        PyErr_Format(PyExc_ValueError,
                     "PyAwaitable_SaveArbValues: count must be between 0 "
                     "and %d, got %zd (use PyAwaitable_SaveArbValuesArray)",
                     PyAwaitable_MAX_VARARGS, n);
        return -1;
    }
    va_list args;
    va_start(args, n);
    for (Py_ssize_t i = 0; i < n; i++) {
        values[i] = va_arg(args, void *);
    }
    va_end(args);
    return PyAwaitable_SaveArbValuesArray(aw, n, values);
}

/* Unpack every saved void * value into void ** arguments (NULL skips). */
static inline int
PyAwaitable_UnpackArbValues(PyObject *aw, ...)
{
    void *values[PyAwaitable_MAX_VARARGS];
    Py_ssize_t n = PyAwaitable_ArbValuesSize(aw);
    if (n < 0) {
        return -1;
    }
    if (n > PyAwaitable_MAX_VARARGS) {
        PyErr_Format(PyExc_ValueError,
                     "PyAwaitable_UnpackArbValues: %zd values saved, more "
                     "than %d (use PyAwaitable_UnpackArbValuesArray)",
                     n, PyAwaitable_MAX_VARARGS);
        return -1;
    }
    if (PyAwaitable_UnpackArbValuesArray(aw, n, values) < 0) {
        return -1;
    }
    va_list args;
    va_start(args, aw);
    for (Py_ssize_t i = 0; i < n; i++) {
        void **out = va_arg(args, void **);
        if (out != NULL) {
            *out = values[i];
        }
    }
    va_end(args);
    return 0;
}
#endif  /* !Py_HAVE_PYAWAITABLE */

#ifdef __cplusplus
}
#endif

#endif  /* PYAWAITABLE_H */
