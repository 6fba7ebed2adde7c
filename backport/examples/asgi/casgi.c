/* casgi: an ASGI 3 application written in C with PyAwaitable.
 *
 * app(scope, receive, send) is a METH_ASYNC function: every request is
 * handled by queueing awaits of receive() and send() on the awaitable that
 * the call returns.  pyasgi.py is the same application in Python; run
 * either under any ASGI server:
 *
 *     uvicorn casgi:app
 *
 * Routes:
 *     GET /            200 "Hello, world!"
 *     POST /echo       200, the request body streamed back as it arrives
 *                      (one response chunk per request chunk)
 *     GET /items/N     200 "item N" for decimal digits N
 *     anything else    404 (405 for /echo without POST)
 * The lifespan protocol is answered too, so the server reports a clean
 * startup and shutdown.
 */
#include <Python.h>
#include "pyawaitable.h"

/* Interned once per module: dictionary keys and constant values. */
enum {
    S_TYPE, S_PATH, S_METHOD, S_STATUS, S_HEADERS, S_BODY, S_MORE_BODY,
    S_HTTP, S_LIFESPAN, S_POST, S_RESPONSE_START, S_RESPONSE_BODY,
    S_DISCONNECT, S_STARTUP, S_SHUTDOWN, S_STARTUP_COMPLETE,
    S_SHUTDOWN_COMPLETE,
    S_COUNT
};

static const char *const string_values[S_COUNT] = {
    [S_TYPE] = "type",
    [S_PATH] = "path",
    [S_METHOD] = "method",
    [S_STATUS] = "status",
    [S_HEADERS] = "headers",
    [S_BODY] = "body",
    [S_MORE_BODY] = "more_body",
    [S_HTTP] = "http",
    [S_LIFESPAN] = "lifespan",
    [S_POST] = "POST",
    [S_RESPONSE_START] = "http.response.start",
    [S_RESPONSE_BODY] = "http.response.body",
    [S_DISCONNECT] = "http.disconnect",
    [S_STARTUP] = "lifespan.startup",
    [S_SHUTDOWN] = "lifespan.shutdown",
    [S_STARTUP_COMPLETE] = "lifespan.startup.complete",
    [S_SHUTDOWN_COMPLETE] = "lifespan.shutdown.complete",
};

typedef struct {
    PyObject *str[S_COUNT];
    PyObject *hello_body;       /* b"Hello, world!\n" */
    PyObject *hello_headers;    /* its headers, content-length included */
    PyObject *echo_headers;     /* no content-length: the body is chunked */
    PyObject *empty_body;       /* b"" */
} casgi_state;

#define TEXT_PLAIN "text/plain; charset=utf-8"
#define HELLO "Hello, world!\n"

static casgi_state *
get_state(PyObject *module)
{
    return (casgi_state *)PyModule_GetState(module);
}

/* message[key] as a new reference; NULL with KeyError if missing. */
static PyObject *
get_field(PyObject *message, PyObject *key)
{
    PyObject *field = PyDict_GetItemWithError(message, key);
    if (field == NULL) {
        if (!PyErr_Occurred()) {
            PyErr_Format(PyExc_KeyError, "ASGI message without %R", key);
        }
        return NULL;
    }
    /* Held while compared: __eq__ could change the dict. */
    return Py_NewRef(field);
}

/* 1 if message[key] == value, 0 if not, -1 with an exception. */
static int
field_is(PyObject *message, PyObject *key, PyObject *value)
{
    PyObject *field = get_field(message, key);
    if (field == NULL) {
        return -1;
    }
    int rc = PyObject_RichCompareBool(field, value, Py_EQ);
    Py_DECREF(field);
    return rc;
}

static int
check_message(PyObject *message)
{
    if (!PyDict_Check(message)) {
        PyErr_Format(PyExc_TypeError, "ASGI messages are dicts, not %.200s",
                     Py_TYPE(message)->tp_name);
        return -1;
    }
    return 0;
}

/* Queue `await send(message)`; message is a new reference, always
 * released (NULL passes on the error that made it). */
static int
queue_send(PyObject *awaitable, PyObject *send, PyObject *message)
{
    if (message == NULL) {
        return -1;
    }
    PyObject *coro = PyObject_CallOneArg(send, message);
    Py_DECREF(message);
    /* AddExpr steals coro; a NULL coro returns -1 keeping the error. */
    return PyAwaitable_AddExpr(awaitable, coro, NULL, NULL);
}

/* Queue a complete response: the start message, then the whole body. */
static int
queue_response(PyObject *awaitable, casgi_state *st, PyObject *send,
               int status, PyObject *headers, PyObject *body)
{
    PyObject *const *s = st->str;
    if (queue_send(awaitable, send,
                   Py_BuildValue("{O:O,O:i,O:O}",
                                 s[S_TYPE], s[S_RESPONSE_START],
                                 s[S_STATUS], status,
                                 s[S_HEADERS], headers)) < 0) {
        return -1;
    }
    return queue_send(awaitable, send,
                      Py_BuildValue("{O:O,O:O}",
                                    s[S_TYPE], s[S_RESPONSE_BODY],
                                    s[S_BODY], body));
}

/* A text/plain response of a C string. */
static int
queue_text(PyObject *awaitable, casgi_state *st, PyObject *send,
           int status, const char *text)
{
    Py_ssize_t size = (Py_ssize_t)strlen(text);
    PyObject *body = PyBytes_FromStringAndSize(text, size);
    if (body == NULL) {
        return -1;
    }
    PyObject *headers = Py_BuildValue(
        "((y,y),(y,N))",
        "content-type", TEXT_PLAIN,
        "content-length", PyBytes_FromFormat("%zd", size));
    if (headers == NULL) {
        Py_DECREF(body);
        return -1;
    }
    int rc = queue_response(awaitable, st, send, status, headers, body);
    Py_DECREF(headers);
    Py_DECREF(body);
    return rc;
}

/* --- POST /echo ---------------------------------------------------------- */

/* Saved values of an echo and of a lifespan: the module, receive, send. */
static int echo_chunk(PyObject *awaitable, PyObject *message);

static int
echo_receive(PyObject *awaitable, PyObject *receive)
{
    return PyAwaitable_AddExpr(awaitable, PyObject_CallNoArgs(receive),
                               echo_chunk, NULL);
}

/* Called with each message of the request: send its body straight back,
 * and receive the next one while the client says there is more. */
static int
echo_chunk(PyObject *awaitable, PyObject *message)
{
    PyObject *module, *receive, *send;
    if (PyAwaitable_UnpackValues(awaitable, &module, &receive, &send) < 0
        || check_message(message) < 0)
    {
        return -1;
    }
    casgi_state *st = get_state(module);
    PyObject *const *s = st->str;
    int gone = field_is(message, s[S_TYPE], s[S_DISCONNECT]);
    if (gone != 0) {
        return gone < 0 ? -1 : 0;  /* the client left: nothing to send */
    }
    /* Both keys are optional: no body is b"", no more_body is False. */
    int more_body = 0;
    PyObject *more = PyDict_GetItemWithError(message, s[S_MORE_BODY]);
    if (more != NULL) {
        Py_INCREF(more);  /* __bool__ could change the dict */
        more_body = PyObject_IsTrue(more);
        Py_DECREF(more);
    }
    else if (PyErr_Occurred()) {
        return -1;
    }
    if (more_body < 0) {
        return -1;
    }
    PyObject *body = PyDict_GetItemWithError(message, s[S_BODY]);
    if (body == NULL) {
        if (PyErr_Occurred()) {
            return -1;
        }
        body = st->empty_body;
    }
    if (queue_send(awaitable, send,
                   Py_BuildValue("{O:O,O:O,O:O}",
                                 s[S_TYPE], s[S_RESPONSE_BODY],
                                 s[S_BODY], body,
                                 s[S_MORE_BODY],
                                 more_body ? Py_True : Py_False)) < 0) {
        return -1;
    }
    return more_body ? echo_receive(awaitable, receive) : 0;
}

static int
echo(PyObject *awaitable, PyObject *module, PyObject *receive,
     PyObject *send)
{
    casgi_state *st = get_state(module);
    PyObject *const *s = st->str;
    /* The callbacks cannot see these arguments: save them. */
    if (PyAwaitable_SaveValues(awaitable, 3, module, receive, send) < 0) {
        return -1;
    }
    if (queue_send(awaitable, send,
                   Py_BuildValue("{O:O,O:i,O:O}",
                                 s[S_TYPE], s[S_RESPONSE_START],
                                 s[S_STATUS], 200,
                                 s[S_HEADERS], st->echo_headers)) < 0) {
        return -1;
    }
    return echo_receive(awaitable, receive);
}

/* --- the router ---------------------------------------------------------- */

/* 1 if the size bytes at p are ASCII digits (at least one), else 0. */
static int
all_digits(const char *p, Py_ssize_t size)
{
    if (size == 0) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < size; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return 0;
        }
    }
    return 1;
}

#define ITEMS_PREFIX "/items/"

/* Queue the response to a request for path (which the caller holds: p
 * points into it). */
static int
route(PyObject *awaitable, PyObject *module, PyObject *scope, PyObject *path,
      PyObject *receive, PyObject *send)
{
    casgi_state *st = get_state(module);
    if (!PyUnicode_Check(path)) {
        PyErr_Format(PyExc_TypeError, "ASGI path is a str, not %.200s",
                     Py_TYPE(path)->tp_name);
        return -1;
    }
    Py_ssize_t size;
    const char *p = PyUnicode_AsUTF8AndSize(path, &size);
    if (p == NULL) {
        return -1;
    }
    if (size == 1 && p[0] == '/') {
        return queue_response(awaitable, st, send, 200, st->hello_headers,
                              st->hello_body);
    }
    if (size == 5 && memcmp(p, "/echo", 5) == 0) {
        int post = field_is(scope, st->str[S_METHOD], st->str[S_POST]);
        if (post < 0) {
            return -1;
        }
        if (!post) {
            return queue_text(awaitable, st, send, 405,
                              "Method Not Allowed\n");
        }
        return echo(awaitable, module, receive, send);
    }
    const Py_ssize_t prefix = (Py_ssize_t)strlen(ITEMS_PREFIX);
    if (size > prefix && memcmp(p, ITEMS_PREFIX, (size_t)prefix) == 0
        && size - prefix <= 18 && all_digits(p + prefix, size - prefix))
    {
        char text[32];
        PyOS_snprintf(text, sizeof(text), "item %.*s\n",
                      (int)(size - prefix), p + prefix);
        return queue_text(awaitable, st, send, 200, text);
    }
    return queue_text(awaitable, st, send, 404, "Not Found\n");
}

static int
http(PyObject *awaitable, PyObject *module, PyObject *scope,
     PyObject *receive, PyObject *send)
{
    PyObject *const *s = get_state(module)->str;
    PyObject *path = get_field(scope, s[S_PATH]);
    if (path == NULL) {
        return -1;
    }
    int rc = route(awaitable, module, scope, path, receive, send);
    Py_DECREF(path);
    return rc;
}

/* --- lifespan ------------------------------------------------------------ */

static int
lifespan_event(PyObject *awaitable, PyObject *message)
{
    PyObject *module, *receive, *send;
    if (PyAwaitable_UnpackValues(awaitable, &module, &receive, &send) < 0
        || check_message(message) < 0)
    {
        return -1;
    }
    PyObject *const *s = get_state(module)->str;
    int startup = field_is(message, s[S_TYPE], s[S_STARTUP]);
    if (startup < 0) {
        return -1;
    }
    if (startup) {
        if (queue_send(awaitable, send,
                       Py_BuildValue("{O:O}", s[S_TYPE],
                                     s[S_STARTUP_COMPLETE])) < 0) {
            return -1;
        }
    }
    else {
        int shutdown = field_is(message, s[S_TYPE], s[S_SHUTDOWN]);
        if (shutdown < 0) {
            return -1;
        }
        if (shutdown) {
            /* The last message: the application returns after it. */
            return queue_send(awaitable, send,
                              Py_BuildValue("{O:O}", s[S_TYPE],
                                            s[S_SHUTDOWN_COMPLETE]));
        }
    }
    return PyAwaitable_AddExpr(awaitable, PyObject_CallNoArgs(receive),
                               lifespan_event, NULL);
}

static int
lifespan(PyObject *awaitable, PyObject *module, PyObject *receive,
         PyObject *send)
{
    if (PyAwaitable_SaveValues(awaitable, 3, module, receive, send) < 0) {
        return -1;
    }
    return PyAwaitable_AddExpr(awaitable, PyObject_CallNoArgs(receive),
                               lifespan_event, NULL);
}

/* --- the application ----------------------------------------------------- */

/* async def app(scope, receive, send), as METH_FASTCALL | METH_ASYNC. */
static PyObject *
app(PyObject *module, PyObject *awaitable, PyObject *const *args,
    Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_Format(PyExc_TypeError,
                     "app() takes 3 arguments (scope, receive, send), "
                     "%zd given", nargs);
        return NULL;
    }
    PyObject *scope = args[0], *receive = args[1], *send = args[2];
    if (!PyDict_Check(scope)) {
        PyErr_Format(PyExc_TypeError, "ASGI scope is a dict, not %.200s",
                     Py_TYPE(scope)->tp_name);
        return NULL;
    }
    PyObject *const *s = get_state(module)->str;
    PyObject *type = get_field(scope, s[S_TYPE]);
    if (type == NULL) {
        return NULL;
    }
    int rc = PyObject_RichCompareBool(type, s[S_HTTP], Py_EQ);
    if (rc > 0) {
        rc = http(awaitable, module, scope, receive, send);
    }
    else if (rc == 0) {
        rc = PyObject_RichCompareBool(type, s[S_LIFESPAN], Py_EQ);
        if (rc > 0) {
            rc = lifespan(awaitable, module, receive, send);
        }
        else if (rc == 0) {
            /* What the ASGI spec asks of an unknown scope: raise. */
            PyErr_Format(PyExc_NotImplementedError,
                         "unsupported ASGI scope type %R", type);
            rc = -1;
        }
    }
    Py_DECREF(type);
    if (rc < 0) {
        return NULL;
    }
    Py_RETURN_NONE;  /* the value of `await app(...)`, as for async def */
}

static PyMethodDef casgi_methods[] = {
    {"app", (PyCFunction)(void (*)(void))app, METH_FASTCALL | METH_ASYNC,
     "app($module, scope, receive, send, /)\n--\n\n"
     "The ASGI 3 application."},
    {NULL, NULL, 0, NULL},
};

/* --- the module ---------------------------------------------------------- */

static int
casgi_exec(PyObject *module)
{
    casgi_state *st = get_state(module);
    if (PyAwaitable_Init() < 0) {
        return -1;
    }
    for (int i = 0; i < S_COUNT; i++) {
        st->str[i] = PyUnicode_InternFromString(string_values[i]);
        if (st->str[i] == NULL) {
            return -1;
        }
    }
    st->hello_body = PyBytes_FromString(HELLO);
    if (st->hello_body == NULL) {
        return -1;
    }
    /* Tuples, not lists: the same headers go to every response. */
    st->hello_headers = Py_BuildValue(
        "((y,y),(y,N))",
        "content-type", TEXT_PLAIN,
        "content-length",
        PyBytes_FromFormat("%zd", PyBytes_GET_SIZE(st->hello_body)));
    if (st->hello_headers == NULL) {
        return -1;
    }
    st->echo_headers = Py_BuildValue("((y,y))", "content-type",
                                     "application/octet-stream");
    if (st->echo_headers == NULL) {
        return -1;
    }
    st->empty_body = PyBytes_FromStringAndSize(NULL, 0);
    if (st->empty_body == NULL) {
        return -1;
    }
    /* Stock CPython ignores METH_ASYNC: this makes the entries async. */
    return PyAwaitable_AddFunctions(module, casgi_methods);
}

static int
casgi_traverse(PyObject *module, visitproc visit, void *arg)
{
    casgi_state *st = get_state(module);
    for (int i = 0; i < S_COUNT; i++) {
        Py_VISIT(st->str[i]);
    }
    Py_VISIT(st->hello_body);
    Py_VISIT(st->hello_headers);
    Py_VISIT(st->echo_headers);
    Py_VISIT(st->empty_body);
    return 0;
}

static int
casgi_clear(PyObject *module)
{
    casgi_state *st = get_state(module);
    for (int i = 0; i < S_COUNT; i++) {
        Py_CLEAR(st->str[i]);
    }
    Py_CLEAR(st->hello_body);
    Py_CLEAR(st->hello_headers);
    Py_CLEAR(st->echo_headers);
    Py_CLEAR(st->empty_body);
    return 0;
}

static void
casgi_free(void *module)
{
    (void)casgi_clear((PyObject *)module);
}

static PyModuleDef_Slot casgi_slots[] = {
    {Py_mod_exec, casgi_exec},
    {0, NULL},
};

static struct PyModuleDef casgi_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "casgi",
    .m_doc = "An ASGI 3 application written in C with PyAwaitable.",
    .m_size = sizeof(casgi_state),
    .m_slots = casgi_slots,
    .m_traverse = casgi_traverse,
    .m_clear = casgi_clear,
    .m_free = casgi_free,
};

PyMODINIT_FUNC
PyInit_casgi(void)
{
    return PyModuleDef_Init(&casgi_module);
}
