/*
 * What Python.h declares on an interpreter that implements the PEP, as the
 * PEP specifies it: tools/check-headers force-includes this with
 * Py_HAVE_PYAWAITABLE defined, so that pyawaitable.h's native branch and the
 * test extensions are compiled as they will be against the patched
 * interpreter.  Declarations only; nothing links against them.
 */
#include <Python.h>

#define Py_HAVE_PYAWAITABLE 1

typedef struct _PyAwaitableObject PyAwaitableObject;
typedef int (*PyAwaitable_Callback)(PyObject *awaitable, PyObject *result);
typedef int (*PyAwaitable_Error)(PyObject *awaitable, PyObject *exc);
typedef int (*PyAwaitable_Defer)(PyObject *awaitable);

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

PyAPI_FUNC(PyObject *) PyAwaitable_New(void);
PyAPI_FUNC(PyTypeObject *) PyAwaitable_GetType(void);
PyAPI_FUNC(int) PyAwaitable_Check(PyObject *op);
PyAPI_FUNC(int) PyAwaitable_AddAwait(PyObject *aw, PyObject *coro,
                                     PyAwaitable_Callback cb,
                                     PyAwaitable_Error err);
PyAPI_FUNC(int) PyAwaitable_AddExpr(PyObject *aw, PyObject *expr,
                                    PyAwaitable_Callback cb,
                                    PyAwaitable_Error err);
PyAPI_FUNC(int) PyAwaitable_DeferAwait(PyObject *aw, PyAwaitable_Defer cb);
PyAPI_FUNC(int) PyAwaitable_AsyncWith(PyObject *aw, PyObject *ctx,
                                      PyAwaitable_Callback body,
                                      PyAwaitable_Error err);
PyAPI_FUNC(void) PyAwaitable_Cancel(PyObject *aw);
PyAPI_FUNC(int) PyAwaitable_SetResult(PyObject *aw, PyObject *result);
PyAPI_FUNC(int) PyAwaitable_SaveValuesArray(PyObject *aw, Py_ssize_t n,
                                            PyObject *const *values);
PyAPI_FUNC(int) PyAwaitable_UnpackValuesArray(PyObject *aw, Py_ssize_t n,
                                              PyObject **out);
PyAPI_FUNC(PyObject *) PyAwaitable_GetValue(PyObject *aw, Py_ssize_t index);
PyAPI_FUNC(int) PyAwaitable_SetValue(PyObject *aw, Py_ssize_t index,
                                     PyObject *value);
PyAPI_FUNC(Py_ssize_t) PyAwaitable_ValuesSize(PyObject *aw);
PyAPI_FUNC(int) PyAwaitable_SaveArbValuesArray(PyObject *aw, Py_ssize_t n,
                                               void *const *values);
PyAPI_FUNC(int) PyAwaitable_UnpackArbValuesArray(PyObject *aw, Py_ssize_t n,
                                                 void **out);
PyAPI_FUNC(void *) PyAwaitable_GetArbValue(PyObject *aw, Py_ssize_t index);
PyAPI_FUNC(int) PyAwaitable_SetArbValue(PyObject *aw, Py_ssize_t index,
                                        void *value);
PyAPI_FUNC(Py_ssize_t) PyAwaitable_ArbValuesSize(PyObject *aw);

#define PyAwaitable_AWAIT(aw, coro) PyAwaitable_AddAwait((aw), (coro), NULL, NULL)
#define PyAwaitable_MAX_VARARGS 64
PyAPI_FUNC(int) PyAwaitable_SaveValues(PyObject *aw, Py_ssize_t n, ...);
PyAPI_FUNC(int) PyAwaitable_UnpackValues(PyObject *aw, ...);
PyAPI_FUNC(int) PyAwaitable_SaveArbValues(PyObject *aw, Py_ssize_t n, ...);
PyAPI_FUNC(int) PyAwaitable_UnpackArbValues(PyObject *aw, ...);
