"""Tests of check_pep.py; run them with tools/check-pep --self-test."""

import datetime
import re

import pytest

import check_pep

TODAY = datetime.date(2026, 11, 21)

# A well-formed PEP.  Its preamble lines are numbered 1 (PEP) to 9
# (Post-History); the tests below edit them.  Its C declarations are those
# of HEADER.
GOOD_PEP = """\
PEP: 9999
Title: A C API for asynchronous functions
Author: Jane Doe <jane@example.com>, John Roe
Discussions-To: Pending
Status: Draft
Type: Standards Track
Created: 21-Nov-2026
Python-Version: 3.16
Post-History: Pending


Abstract
========

This PEP lets C functions be :keyword:`async` functions, as :pep:`492`
lets Python ones; see also :rfc:`2119`.


Specification
=============

An awaitable (:c:type:`PyAwaitableObject`) runs callbacks as the items
it awaits finish, the way :func:`asyncio.run` drives a coroutine through
:meth:`~object.__await__` until :exc:`StopIteration`; :mod:`asyncio`,
:class:`asyncio.Future`, :attr:`asyncio.Future.cancelled`, :data:`None`
and :py:func:`len` keep their meaning.  :c:macro:`METH_ASYNC` entries
get one as their second argument, and :c:data:`Py_None` stays itself.

.. c:type:: int (*PyAwaitable_Callback)(PyObject *awaitable, PyObject *result)

   The result callback of :c:func:`PyAwaitable_AddAwait`.

.. c:struct:: PyAwaitableObject

   Opaque.

.. c:function:: int PyAwaitable_Init(void)

.. c:function:: PyObject *PyAwaitable_New(void)

.. c:function:: int PyAwaitable_AddAwait(PyObject *aw, PyObject *coro, \\
                                         PyAwaitable_Callback cb, \\
                                         PyAwaitable_Callback err)

.. c:function:: int PyAwaitable_SaveValues(PyObject *aw, Py_ssize_t n, ...)

.. c:macro:: PyAwaitable_AWAIT(aw, coro)

.. c:macro:: METH_ASYNC

For example:

.. code-block:: c

   static PyObject *
   hello(PyObject *self, PyObject *aw, PyObject *coro)
   {
       return PyAwaitable_AWAIT(aw, coro) < 0 ? NULL : Py_NewRef(Py_None);
   }

=========  ==========
Flag       Signature
=========  ==========
METH_O     one object
=========  ==========


Copyright
=========

This document is placed in the public domain or under the
CC0-1.0-Universal license, whichever is more permissive.
"""

# A miniature pyawaitable.h: both branches, a function in each, the
# C++ wrapper, private names, and the pyawaitable 1.x names.
HEADER = """\
#ifndef PYAWAITABLE_H
#define PYAWAITABLE_H

#include <Python.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int (*PyAwaitable_Callback)(PyObject *awaitable, PyObject *result);
typedef PyAwaitable_Callback awaitcallback;
typedef struct _PyAwaitableObject PyAwaitableObject;

#ifndef Py_HAVE_PYAWAITABLE
#define METH_ASYNC 0x0400
#endif

#ifdef Py_HAVE_PYAWAITABLE
static inline int
PyAwaitable_Init(void)
{
    return 0;
}
#else
typedef struct _PyAwaitable_API {
    PyObject *(*New)(void);
} _PyAwaitable_API;

static const _PyAwaitable_API *_pyawaitable_api = NULL;

static inline int
PyAwaitable_Init(void)
{
    /* A } in a comment, and one in a literal: */
    _pyawaitable_api = PyCapsule_Import("x.}", 0);
    return _pyawaitable_api ? 0 : -1;
}

static inline PyObject *
PyAwaitable_New(void)
{
    return _pyawaitable_api->New();
}

static inline int
PyAwaitable_AddAwait(PyObject *aw, PyObject *coro,
                     PyAwaitable_Callback cb, PyAwaitable_Callback err)
{
    return -1;
}
#endif

#ifndef PYAWAITABLE_NO_1X_NAMES
#  define pyawaitable_new PyAwaitable_New
/* An old name with a new-looking spelling is still an old name. */
typedef PyAwaitable_Callback PyAwaitable_ResultCallback;
#endif

#define PyAwaitable_AWAIT(aw, coro) PyAwaitable_AddAwait((aw), (coro), NULL)

static inline int
PyAwaitable_SaveValues(PyObject *aw, Py_ssize_t n, ...)
{
    return 0;
}

#ifdef __cplusplus
}
#endif
#endif  /* PYAWAITABLE_H */
"""


def edit(text, old, new):
    assert old in text, old
    return text.replace(old, new, 1)


def lines_of(text, needle):
    """The numbers of the lines that contain needle."""
    return [number for number, line in enumerate(text.splitlines(), start=1)
            if needle in line]


def line_of(text, needle):
    return lines_of(text, needle)[0]


def header_line(name):
    """The line where HEADER first declares the function or macro name."""
    return line_of(HEADER, name + "(")


# --- Preamble ----------------------------------------------------------------

def test_good_preamble():
    assert check_pep.check_headers(GOOD_PEP, TODAY) == []


@pytest.mark.parametrize("old, new", [
    ("Discussions-To: Pending",
     "Discussions-To: https://discuss.python.org/t/pep-9999-c-async/104231"),
    ("Discussions-To: Pending",
     "Discussions-To: https://discuss.python.org/t/104231/"),
    ("Discussions-To: Pending", "Discussions-To: python-dev@python.org"),
    ("Discussions-To: Pending",
     "Discussions-To: https://mail.python.org/archives/list/"
     "python-dev@python.org/thread/KX3AS7QAY26QH3WIUAEOCCNXQ4V2TGGV/"),
    ("Post-History: Pending", "Post-History: 21-Nov-2026"),
    ("Post-History: Pending",
     "Post-History: `20-Nov-2026 <https://discuss.python.org/t/pep/1/2>`__,\n"
     "              `21-Nov-2026 <https://discuss.python.org/t/1/2>`__,\n"
     "              01-Dec-2026"),
    ("Python-Version: 3.16", "Python-Version: 3.x"),
    ("Python-Version: 3.16", "Python-Version: 3.16, 3.17"),
    ("Python-Version: 3.16", "Python-Version: 3.16.1"),
    ("Title: A C API for asynchronous functions", "Title: " + "x" * 79),
    ("Author: Jane Doe <jane@example.com>, John Roe",
     "Author: Jane Doe <jane at example.com>,\n"
     "        Łukasz O'Brien-Smith <l.o-b@mail.example.org>\n"
     "Sponsor: Guido van Rossum <guido@python.org>\n"
     "PEP-Delegate: Petr Viktorin <encukou@gmail.com>"),
    ("Type: Standards Track",
     "Type: Standards Track\nTopic: Packaging, Typing\nRequires: 492, 3156"),
    ("Post-History: Pending",
     "Post-History: Pending\nReplaces: 1\nResolution: "
     "`21-Nov-2026 <https://discuss.python.org/t/pep-9999/104231/9>`__"),
])
def test_good_header_variant(old, new):
    assert check_pep.check_headers(edit(GOOD_PEP, old, new), TODAY) == []


@pytest.mark.parametrize("old, new, line, message", [
    ("Type: Standards Track\n", "", 1, "Must have required header: Type"),
    ("Status: Draft\n", "Status: Draft\nFoo: bar\n", 6,
     "Must not have invalid header: Foo"),
    ("Type: Standards Track\n", "Type: Standards Track\nType: Process\n", 7,
     "Must not have duplicate header: Type (first on line 6)"),
    ("Status: Draft\nType: Standards Track\n",
     "Type: Standards Track\nStatus: Draft\n", 5,
     "Headers must be in PEP 12 order: PEP, Title, Author, Discussions-To, "
     "Status, Type"),
    ("PEP: 9999\nTitle: A C API for asynchronous functions\n",
     "Title: A C API for asynchronous functions\nPEP: 9999\n", 1,
     "PEP must begin with the 'PEP:' header"),
    ("Status: Draft\n", "Status: Draft\nstray text\n", 6,
     "Preamble lines must be"),
    ("Status: Draft", "Status:Draft", 5,
     "Headers must have a space after the colon: Status"),
    ("Type: Standards Track",
     "Type: Standards Track\nContent-Type: text/x-rst", 7,
     "Must not have retired header: Content-Type"),
    ("PEP: 9999", "PEP: 9999a", 1, "'PEP:' header must be a number"),
    ("PEP: 9999", "PEP: 09999", 1, "'PEP:' header must be a number"),
    ("PEP: 9999", "PEP: 10000", 1, "'PEP:' header must be a number"),
    ("Title: A C API for asynchronous functions", "Title: " + "x" * 80, 2,
     "PEP title must be at most 79 characters (it has 80)"),
    ("Title: A C API for asynchronous functions", "Title:", 2,
     "PEP must have a title"),
    ("Author: Jane Doe <jane@example.com>", "Author: Jane Doe <jane@>", 3,
     "Author entries must have a valid email address"),
    ("Author: Jane Doe <jane@example.com>", "Author: Jane Doe <jane@example",
     3, "Author entries must be 'Name <email@example.com>'"),
    ("Author: Jane Doe", "Author: J4ne Doe", 3,
     "Author entries must begin with a valid name"),
    (", John Roe", "\n        John Roe", 3,
     "Author continuation lines must end with a comma"),
    (", John Roe", ",\n            John Roe", 4,
     "Author line must not be over-indented"),
    ("Author: Jane Doe <jane@example.com>, John Roe",
     "Author: Jane Doe <jane@example.com>\nSponsor: 42 <guido@python.org>", 4,
     "Sponsor entries must begin with a valid name"),
    ("Discussions-To: Pending", "Discussions-To: pending", 4,
     "Discussions-To must be a thread URL, a mailing list, or 'Pending'"),
    ("Discussions-To: Pending",
     "Discussions-To: https://github.com/python/cpython/issues/1", 4,
     "Discussions-To must be the URL of a thread"),
    ("Discussions-To: Pending",
     "Discussions-To: https://discuss.python.org/t/pep-9999/104231/4", 4,
     "Discussions-To must be the URL of a thread"),
    ("Status: Draft", "Status: Drafty", 5, "Status must be one of"),
    ("Type: Standards Track", "Type: Standard", 6, "Type must be one of"),
    ("Type: Standards Track", "Type: Standards Track\nTopic: Async", 7,
     "Topic must be from"),
    ("Type: Standards Track",
     "Type: Standards Track\nTopic: Typing, Packaging", 7,
     "Topic must be sorted"),
    ("Type: Standards Track", "Type: Standards Track\nRequires: 492,3156", 7,
     "Requires must separate PEP numbers with ', '"),
    ("Type: Standards Track", "Type: Standards Track\nRequires: 0492", 7,
     "Requires entry must be a number"),
    ("Created: 21-Nov-2026", "Created: 2026-11-21", 7,
     "Created must be a 'DD-Mon-YYYY' date"),
    ("Created: 21-Nov-2026", "Created: 1-Nov-2026", 7,
     "Created must be a 'DD-Mon-YYYY' date"),
    ("Created: 21-Nov-2026", "Created: 21-nov-2026", 7,
     "Created must be a 'DD-Mon-YYYY' date"),
    ("Created: 21-Nov-2026", "Created: 31-Nov-2026", 7,
     "Created must be a 'DD-Mon-YYYY' date"),
    ("Created: 21-Nov-2026", "Created: 06-Dec-2026", 7,
     "Created must not be in the future"),
    ("Created: 21-Nov-2026", "Created: 21-Nov-1989", 7,
     "Created must not be before Python was invented"),
    ("Python-Version: 3.16", "Python-Version: 3", 8, "Python-Version must be"),
    ("Python-Version: 3.16", "Python-Version: 3.016", 8,
     "Python-Version must be"),
    ("Python-Version: 3.16", "Python-Version: 4.0", 8,
     "Python-Version must be"),
    ("Python-Version: 3.16", "Python-Version: 3.x.1", 8,
     "Python-Version must be"),
    ("Python-Version: 3.16", "Python-Version: 3.16,3.17", 8,
     "Python-Version must be"),
    ("Post-History: Pending", "Post-History: 21-Nov-2026,\n  2026-11-22", 10,
     "Post-History must be a 'DD-Mon-YYYY' date: '2026-11-22'"),
    ("Post-History: Pending",
     "Post-History: `21-Nov-2026 <https://example.com/t/1>`__", 9,
     "Post-History must link to a thread or post"),
    ("Post-History: Pending",
     "Post-History: `21-Nov-2026 <https://discuss.python.org/t/1>`_", 9,
     "Post-History entries must be"),
    ("Post-History: Pending",
     "Post-History: Pending\nResolution: https://example.com/yes", 10,
     "Resolution must be the URL of a decision"),
])
def test_bad_header(old, new, line, message):
    problems = check_pep.check_headers(edit(GOOD_PEP, old, new), TODAY)
    assert [found for found in problems
            if found[0] == line and found[1].startswith(message)], problems


PEP_ROLE = "Use the :pep:`NNN` role to refer to PEPs"
RFC_ROLE = "Use the :rfc:`NNN` role to refer to RFCs"


@pytest.mark.parametrize("link, message", [
    ("https://peps.python.org/pep-0492/", PEP_ROLE),
    ("https://www.python.org/dev/peps/pep-0492/", PEP_ROLE),
    ("https://www.rfc-editor.org/rfc/rfc2119", RFC_ROLE),
    ("https://datatracker.ietf.org/doc/html/rfc2119", RFC_ROLE),
    ("https://tools.ietf.org/html/rfc2119", RFC_ROLE),
])
def test_direct_link(link, message):
    text = edit(GOOD_PEP, "see also :rfc:`2119`.", f"see `this <{link}>`__.")
    assert check_pep.check_links(GOOD_PEP) == []
    assert check_pep.check_links(text) == [(line_of(text, link), message)]


# --- sphinx-lint and Sphinx --------------------------------------------------

def lint(tmp_path, text):
    path = tmp_path / "pep-9999.rst"
    path.write_text(text, encoding="utf-8")
    return check_pep.sphinx_lint(path)


def test_lint_good(tmp_path):
    assert lint(tmp_path, GOOD_PEP) == []


@pytest.mark.parametrize("old, new, checker", [
    ("lets Python ones", "lets `Python` ones", "(default-role)"),
    ("is more permissive.", "is more permissive. ", "(trailing-whitespace)"),
    ("see also :rfc:`2119`", "see also :rfc:2119", "(role-without-backticks)"),
])
def test_lint_bad(tmp_path, old, new, checker):
    text = edit(GOOD_PEP, old, new)
    problems = lint(tmp_path, text)
    assert [message for line, message in problems
            if line == line_of(text, new)
            and message.startswith("sphinx-lint: ")
            and message.endswith(checker)], problems


def test_blank_preamble_keeps_lines():
    blanked = check_pep.blank_preamble(GOOD_PEP)
    assert blanked.splitlines()[:10] == [""] * 10
    assert blanked.splitlines()[10:] == GOOD_PEP.splitlines()[10:]


def test_render_good():
    assert check_pep.render(GOOD_PEP) == []


@pytest.mark.parametrize("bad, message", [
    (".. frobnicate:: x", 'Unknown directive type "frobnicate"'),
    ("See missing_.", 'Unknown target name: "missing"'),
    ("+---+---+\n| a | b |\n+---+\n", "Malformed table"),
    (".. c:function:: int broken(PyObject *", "Error in declarator"),
])
def test_render_bad(bad, message):
    text = edit(GOOD_PEP, "For example:", bad + "\n\nFor example:")
    problems = check_pep.render(text)
    assert problems, "rendered without warnings"
    assert all(found.startswith("sphinx: ") for _, found in problems)
    assert problems[0][0] == line_of(text, bad.splitlines()[0])
    assert message in problems[0][1]


# --- Consistency with the header ---------------------------------------------

def consistency(pep=GOOD_PEP, header=HEADER):
    return check_pep.check_consistency(pep, header)


def test_consistent():
    assert consistency() == ([], [])


def test_parse_header():
    found = {(entry.name, entry.kind, entry.compat)
             for entry in check_pep.parse_header(HEADER)}
    assert found == {
        ("PYAWAITABLE_H", "macro", False),
        ("PyAwaitable_Callback", "type", False),
        ("awaitcallback", "type", False),
        ("PyAwaitableObject", "type", False),
        ("METH_ASYNC", "macro", False),
        ("PyAwaitable_Init", "function", False),
        ("_PyAwaitable_API", "type", False),
        ("_pyawaitable_api", "var", False),
        ("PyAwaitable_New", "function", False),
        ("PyAwaitable_AddAwait", "function", False),
        ("pyawaitable_new", "macro", True),
        ("PyAwaitable_ResultCallback", "type", True),
        ("PyAwaitable_AWAIT", "macro", False),
        ("PyAwaitable_SaveValues", "function", False),
    }


def test_parse_pep_declarations():
    text = (".. c:function:: int a(int x, \\\n"
            "                      int y)\n"
            "                int b(void)\n"
            "   :no-index:\n"
            "\n"
            "   .. c:macro:: C\n")
    assert [(entry.kind, entry.name, entry.text, entry.line)
            for entry in check_pep.parse_pep_declarations(text)] == [
        ("function", "a", "int a(int x, int y)", 1),
        ("function", "b", "int b(void)", 3),
        ("macro", "C", "C", 6),
    ]


def test_missing_from_pep():
    pep = edit(GOOD_PEP, ".. c:function:: PyObject *PyAwaitable_New(void)\n",
               "")
    assert consistency(pep) == (
        [], [(header_line("PyAwaitable_New"),
              "PyAwaitable_New is not specified in the PEP")])


def test_missing_typedef_from_pep():
    pep = edit(GOOD_PEP, ".. c:struct:: PyAwaitableObject", ".. c:struct:: X")
    assert consistency(pep) == (
        [], [(line_of(HEADER, "PyAwaitableObject;"),
              "PyAwaitableObject is not specified in the PEP")])


def test_missing_from_header():
    pep = edit(GOOD_PEP, ".. c:macro:: METH_ASYNC",
               ".. c:macro:: METH_ASYNC\n\n"
               ".. c:function:: int PyAwaitable_Frobnicate(PyObject *aw)")
    assert consistency(pep) == (
        [(line_of(pep, "Frobnicate"),
          "PyAwaitable_Frobnicate is not in pyawaitable.h")], [])


@pytest.mark.parametrize("old, new", [
    ("PyObject *PyAwaitable_New(void)",
     "PyObject *PyAwaitable_New(int flags)"),
    ("PyObject *PyAwaitable_New(void)", "int PyAwaitable_New(void)"),
    ("PyObject *PyAwaitable_New(void)", "PyObject *PyAwaitable_New()"),
    # Parameter names are part of the contract.
    ("int PyAwaitable_SaveValues(PyObject *aw,",
     "int PyAwaitable_SaveValues(PyObject *awaitable,"),
    ("Py_ssize_t n, ...)", "Py_ssize_t n)"),
    ("PyAwaitable_AWAIT(aw, coro)", "PyAwaitable_AWAIT(aw)"),
    ("int (*PyAwaitable_Callback)(PyObject *awaitable, PyObject *result)",
     "int (*PyAwaitable_Callback)(PyObject *awaitable)"),
    # A function pointer type is declared with its signature.
    ("int (*PyAwaitable_Callback)(PyObject *awaitable, PyObject *result)",
     "PyAwaitable_Callback"),
])
def test_mismatch(old, new):
    pep = edit(GOOD_PEP, old, new)
    pep_problems, header_problems = consistency(pep)
    assert header_problems == []
    assert len(pep_problems) == 1, pep_problems
    line, message = pep_problems[0]
    assert line == line_of(pep, new)
    assert re.fullmatch(r"'.*' does not match pyawaitable\.h:\d+: '.*'",
                        message), message


def test_mismatch_on_continued_line():
    pep = edit(GOOD_PEP, "PyAwaitable_Callback err)", "PyAwaitable_Error err)")
    assert consistency(pep)[0] == [
        (line_of(pep, "int PyAwaitable_AddAwait"),
         "'int PyAwaitable_AddAwait(PyObject *aw, PyObject *coro, "
         "PyAwaitable_Callback cb, PyAwaitable_Error err)' does not match "
         f"pyawaitable.h:{header_line('PyAwaitable_AddAwait')}: "
         "'int PyAwaitable_AddAwait(PyObject *aw, PyObject *coro, "
         "PyAwaitable_Callback cb, PyAwaitable_Callback err)'")]


def test_wrong_kind():
    pep = edit(GOOD_PEP, ".. c:macro:: PyAwaitable_AWAIT(aw, coro)",
               ".. c:function:: int PyAwaitable_AWAIT(PyObject *aw, "
               "PyObject *coro)")
    assert consistency(pep)[0] == [
        (line_of(pep, "PyAwaitable_AWAIT("),
         f"PyAwaitable_AWAIT is a macro in pyawaitable.h:"
         f"{header_line('PyAwaitable_AWAIT')}, not a function")]


@pytest.mark.parametrize("old, new", [
    ("PyObject *PyAwaitable_New(void)", "PyObject* PyAwaitable_New( void )"),
    ("PyObject *PyAwaitable_New(void)", "PyObject  *  PyAwaitable_New(void)"),
    (".. c:struct:: PyAwaitableObject", ".. c:type:: PyAwaitableObject"),
])
def test_spacing_and_spelling_ignored(old, new):
    assert consistency(edit(GOOD_PEP, old, new)) == ([], [])


@pytest.mark.parametrize("declaration", [
    ".. c:macro:: pyawaitable_new", ".. c:type:: awaitcallback"])
def test_compat_name_may_be_declared(declaration):
    pep = edit(GOOD_PEP, "For example:", declaration + "\n\nFor example:")
    assert consistency(pep) == ([], [])


def test_compat_name_declared_wrongly():
    pep = edit(GOOD_PEP, "For example:",
               ".. c:macro:: pyawaitable_new(aw)\n\nFor example:")
    assert consistency(pep) == (
        [(line_of(pep, "pyawaitable_new(aw)"),
          "'pyawaitable_new(aw)' does not match pyawaitable.h:"
          f"{line_of(HEADER, 'define pyawaitable_new')}: 'pyawaitable_new'")],
        [])


def test_branches_disagree():
    native, backport = lines_of(HEADER, "PyAwaitable_Init(void)")
    header = edit(HEADER, "PyAwaitable_Init(void)",
                  "PyAwaitable_Init(int flags)")
    pep_problems, header_problems = consistency(header=header)
    assert header_problems == [
        (backport, f"PyAwaitable_Init: 'int PyAwaitable_Init(void)' differs "
                   f"from line {native}: 'int PyAwaitable_Init(int flags)'")]
    assert pep_problems == [
        (line_of(GOOD_PEP, "PyAwaitable_Init"),
         f"'int PyAwaitable_Init(void)' does not match "
         f"pyawaitable.h:{native}: "
         f"'int PyAwaitable_Init(int flags)'")]


def test_real_header():
    """The parser reads the real header as its comments describe it."""
    text = check_pep.DEFAULT_HEADER.read_text(encoding="utf-8")
    by_name = {}
    for entry in check_pep.parse_header(text):
        by_name.setdefault(entry.name, []).append(entry)
    assert [entry.text for entry in by_name["PyAwaitable_SaveValues"]] == [
        "int PyAwaitable_SaveValues(PyObject *aw, Py_ssize_t n, ...)"]
    assert [entry.text for entry in by_name["PyAwaitable_New"]] == [
        "PyObject *PyAwaitable_New(void)"]
    assert [entry.text for entry in by_name["PyAwaitable_Init"]] == [
        "int PyAwaitable_Init(void)"] * 2
    assert [entry.text for entry in by_name["PyAwaitable_AWAIT"]] == [
        "PyAwaitable_AWAIT(aw, coro)"]
    assert by_name["PyAsyncCMethod"][0].text.startswith(
        "PyObject *(*PyAsyncCMethod)(PyObject *self, PyObject *aw,")
    assert by_name["_PyAwaitable_API"][0].text == "_PyAwaitable_API"
    assert all(entry.compat for entry in by_name["pyawaitable_init"])
    # With no PEP, every public name is missing and nothing else is
    # wrong: in particular, the branches agree.
    pep_problems, header_problems = consistency("", text)
    missing = {message.removesuffix(" is not specified in the PEP")
               for _, message in header_problems}
    assert pep_problems == []
    assert len(missing) == len(header_problems)
    assert {"PyAwaitable_Init", "PyAwaitable_AddMethods", "PyAwaitableObject",
            "PyAsyncCMethod", "METH_ASYNC", "PyAwaitable_MAX_VARARGS",
            "PyAwaitable_UnpackArbValues"} <= missing
    assert not missing & {"pyawaitable_init", "awaitcallback",
                          "PYAWAITABLE_H", "_PyAwaitable_API"}


# --- End to end --------------------------------------------------------------

def run_main(tmp_path, capsys, pep):
    """Run the command line on pep against HEADER; return status, problems.

    Each problem is a (path, line, message) triple; continuation lines of
    Sphinx's warnings, indented, are left out.
    """
    pep_path = tmp_path / "pep-9999.rst"
    pep_path.write_text(pep, encoding="utf-8")
    header_path = tmp_path / "pyawaitable.h"
    header_path.write_text(HEADER, encoding="utf-8")
    status = check_pep.main([str(pep_path), "--header", str(header_path)])
    problems = []
    for output in capsys.readouterr().out.splitlines():
        if not output.startswith(" "):
            match = re.fullmatch(r"(.*?):(\d+): (.*)", output)
            assert match, output
            problems.append((match[1], int(match[2]), match[3]))
    return status, problems


def test_main_good(tmp_path, capsys):
    assert run_main(tmp_path, capsys, GOOD_PEP) == (0, [])


def test_main_bad(tmp_path, capsys):
    pep = edit(GOOD_PEP, "Status: Draft", "Status: Drafty")
    pep = edit(pep, "lets Python ones", "lets `Python` ones")
    pep = edit(pep, "For example:", ".. frobnicate::\n\nFor example:")
    pep = edit(pep, "PyAwaitable_New(void)", "PyAwaitable_New(int flags)")
    status, problems = run_main(tmp_path, capsys, pep)
    assert status == 1
    path = str(tmp_path / "pep-9999.rst")
    expected = [
        ("Status: Drafty", "Status must be one of"),
        ("`Python`", "sphinx-lint: default role used"),
        ("frobnicate", 'sphinx: ERROR: Unknown directive type "frobnicate"'),
        ("PyAwaitable_New(int", "'PyObject *PyAwaitable_New(int flags)' "
                                "does not match pyawaitable.h:"),
    ]
    for needle, start in expected:
        assert [message for where, line, message in problems
                if where == path and line == line_of(pep, needle)
                and message.startswith(start)], (start, problems)
    assert len(problems) == len(expected), problems
