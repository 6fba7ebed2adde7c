/* _testalloc: count the memory allocations a call makes.
 *
 * The fault-injection tests make the allocations of a scenario fail one at
 * a time with _testcapi.set_nomemory(n, n + 1).  To know how many there
 * are, count_allocations() runs the scenario once with hooks on the three
 * allocator domains that count exactly what set_nomemory counts: every
 * malloc, calloc and realloc.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

typedef struct {
    PyMemAllocatorEx wrapped;
    Py_ssize_t *count;
} Hook;

static void *
hook_malloc(void *ctx, size_t size)
{
    Hook *hook = (Hook *)ctx;
    (*hook->count)++;
    return hook->wrapped.malloc(hook->wrapped.ctx, size);
}

static void *
hook_calloc(void *ctx, size_t nelem, size_t elsize)
{
    Hook *hook = (Hook *)ctx;
    (*hook->count)++;
    return hook->wrapped.calloc(hook->wrapped.ctx, nelem, elsize);
}

static void *
hook_realloc(void *ctx, void *ptr, size_t size)
{
    Hook *hook = (Hook *)ctx;
    (*hook->count)++;
    return hook->wrapped.realloc(hook->wrapped.ctx, ptr, size);
}

static void
hook_free(void *ctx, void *ptr)
{
    Hook *hook = (Hook *)ctx;
    hook->wrapped.free(hook->wrapped.ctx, ptr);
}

static const PyMemAllocatorDomain DOMAINS[] = {
    PYMEM_DOMAIN_RAW, PYMEM_DOMAIN_MEM, PYMEM_DOMAIN_OBJ,
};
#define NDOMAINS (sizeof(DOMAINS) / sizeof(DOMAINS[0]))

/* count_allocations(callable) -> (count, result or exception): call it once
 * and count the allocations it made; an exception it raised is returned,
 * not raised, so that both outcomes are counted the same way. */
static PyObject *
count_allocations(PyObject *self, PyObject *callable)
{
    Py_ssize_t count = 0;
    Hook hooks[NDOMAINS];
    for (size_t i = 0; i < NDOMAINS; i++) {
        PyMem_GetAllocator(DOMAINS[i], &hooks[i].wrapped);
        hooks[i].count = &count;
        PyMemAllocatorEx alloc = {
            &hooks[i], hook_malloc, hook_calloc, hook_realloc, hook_free,
        };
        PyMem_SetAllocator(DOMAINS[i], &alloc);
    }
    PyObject *result = PyObject_CallNoArgs(callable);
    for (size_t i = 0; i < NDOMAINS; i++) {
        PyMem_SetAllocator(DOMAINS[i], &hooks[i].wrapped);
    }
    if (result == NULL) {
#if PY_VERSION_HEX >= 0x030C0000
        result = PyErr_GetRaisedException();
#else
        PyObject *type, *tb;
        PyErr_Fetch(&type, &result, &tb);
        PyErr_NormalizeException(&type, &result, &tb);
        if (tb != NULL && result != NULL) {
            PyException_SetTraceback(result, tb);
        }
        Py_XDECREF(type);
        Py_XDECREF(tb);
#endif
    }
    if (result == NULL) {
        return NULL;
    }
    return Py_BuildValue("(nN)", count, result);
}

static PyMethodDef methods[] = {
    {"count_allocations", count_allocations, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot slots[] = {
#ifdef Py_GIL_DISABLED
    {Py_mod_gil, Py_MOD_GIL_NOT_USED},
#endif
    {0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_testalloc",
    .m_doc = "Count the memory allocations a call makes.",
    .m_methods = methods,
    .m_slots = slots,
};

PyMODINIT_FUNC
PyInit__testalloc(void)
{
    return PyModuleDef_Init(&module);
}
