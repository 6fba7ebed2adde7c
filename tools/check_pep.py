#!/usr/bin/env python3
"""Check a PEP draft the way the peps repository does, and against the header.

Usage: check_pep.py [--header HEADER] [PEP.rst ...]

Each PEP file (default: pep/pep-9999.rst) goes through four checks:

1. the preamble and body rules of the peps repository's check-peps.py
   (written anew here from PEP 1 and PEP 12);
2. sphinx-lint, with the default-role check standing in for the peps
   repository's "no single backticks" pre-commit hook;
3. a Sphinx build of the PEP alone, with warnings as errors;
4. the PEP's C declarations against those of pyawaitable.h (--header).

Problems are printed as "path:line: message", line 0 meaning the whole file,
and make the exit status 1.  It needs the packages of pep-requirements.txt;
tools/check-pep runs it in a venv that has them.
"""

import argparse
import datetime
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PEP = ROOT / "pep" / "pep-9999.rst"
DEFAULT_HEADER = (ROOT / "backport" / "python" / "pyawaitable_backport"
                  / "include" / "pyawaitable.h")

# --- Preamble and body rules (after check-peps.py) ---------------------------

# PEP 12's order.  BDFL-Delegate is the older name of PEP-Delegate.
HEADER_ORDER = (
    "PEP", "Title", "Author", "Sponsor", "BDFL-Delegate", "PEP-Delegate",
    "Discussions-To", "Status", "Type", "Topic", "Requires", "Created",
    "Python-Version", "Post-History", "Replaces", "Superseded-By",
    "Resolution",
)
REQUIRED_HEADERS = ("PEP", "Title", "Author", "Status", "Type", "Created")
# Dropped from PEP 12 and from check-peps.py in 2025: the peps repository
# now rejects them, whatever their value.
RETIRED_HEADERS = ("Version", "Last-Modified", "Content-Type")
STATUSES = frozenset({
    "Accepted", "Active", "April Fool!", "Deferred", "Draft", "Final",
    "Provisional", "Rejected", "Superseded", "Withdrawn",
})
TYPES = frozenset({"Standards Track", "Informational", "Process"})
TOPICS = ("Governance", "Packaging", "Release", "Typing")
MAX_TITLE_LENGTH = 79

HEADER_LINE = re.compile(r"([A-Za-z][A-Za-z-]*):(.*)")
PEP_NUMBER = re.compile(r"0|[1-9][0-9]{0,3}")
DATE = re.compile(r"[0-9]{2}-[A-Z][a-z]{2}-[0-9]{4}")
# X.Y or X.Y.Z; a minor part of "x" stands for "any", and takes no micro.
PYTHON_VERSION = re.compile(
    r"[123]\.(?:x|(?:0|[1-9][0-9]*)(?:\.[1-9][0-9]*)?)")
PERSON = re.compile(r"(?P<name>[^<>]*?)(?: <(?P<email>[^<>]*)>)?")
NAME = re.compile(r"[^\W\d_](?:[^\W\d_]|[ '.-])*")
EMAIL = re.compile(
    r"[\w!#$%&'*+/=?^{|}~.-]+(?:@| at )(?:[a-z0-9-]+\.)+[a-z0-9]+",
    re.ASCII | re.IGNORECASE)
MAILING_LIST = re.compile(r"[\w-]+@(?:python\.org|googlegroups\.com)")
# `DD-Mon-YYYY <URL>`__, as Post-History entries and Resolution may be.
DATED_LINK = re.compile(r"`(?P<date>[^`<]*) <(?P<url>[^`<>]*)>`__")

# Where discussions happen, as check-peps.py accepts them.  A Discourse
# topic's slug must have a letter, or it would read as a topic number.
_SLUG = r"[\w-]*[^\W\d_][\w-]*"
_DISCOURSE_THREAD = rf"https://discuss\.python\.org/t/(?:{_SLUG}/)?[0-9]+/?"
_DISCOURSE_POST = (
    rf"https://discuss\.python\.org/t/(?:{_SLUG}/)?[0-9]+(?:/[0-9]+)?/?")
_MAILMAN = "https://mail\\.python\\.org/"
_MAILMAN2_THREAD = _MAILMAN + r"pipermail/[\w-]+/[0-9]{4}-[a-z]+/[0-9]+\.html"
_MAILMAN3_THREAD = (_MAILMAN + r"archives/list/[\w-]+@python\.org"
                    r"/thread/[a-z0-9]+/?")
_MAILMAN3_MESSAGE = (_MAILMAN + r"archives/list/[\w-]+@python\.org"
                     r"/message/[a-z0-9]+/?(?:#[a-z0-9]+)?")


def _urls(*patterns):
    return re.compile("|".join(patterns), re.IGNORECASE)


# Discussions-To names a thread; Post-History may link a post in one;
# Resolution may also link a single mailing-list message.
THREAD_URL = _urls(_DISCOURSE_THREAD, _MAILMAN2_THREAD, _MAILMAN3_THREAD)
POST_URL = _urls(_DISCOURSE_POST, _MAILMAN2_THREAD, _MAILMAN3_THREAD)
RESOLUTION_URL = _urls(_DISCOURSE_POST, _MAILMAN2_THREAD, _MAILMAN3_THREAD,
                       _MAILMAN3_MESSAGE)

DIRECT_LINKS = (
    (re.compile(r"peps\.python\.org/pep-|dev/peps/pep-", re.IGNORECASE),
     "Use the :pep:`NNN` role to refer to PEPs"),
    (re.compile(r"rfc-editor\.org/rfc/|ietf\.org/(?:doc/)?html/rfc",
                re.IGNORECASE),
     "Use the :rfc:`NNN` role to refer to RFCs"),
)


@dataclass
class Field:
    """One preamble header: its name, line, and value lines as written."""

    name: str
    line: int
    lines: list[str]

    @property
    def value(self):
        return " ".join(line.strip() for line in self.lines).strip()


def parse_preamble(lines):
    """Return the preamble's fields and the problems of its shape.

    The preamble is everything before the first blank line.  A field's
    first value line is the text after "Name:", stripped; continuation
    lines are kept as written (Author cares about their indentation).
    """
    fields = []
    problems = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            break
        if line[0] in " \t" and fields:
            fields[-1].lines.append(line)
        elif match := HEADER_LINE.fullmatch(line):
            name, value = match.groups()
            if value and not value.startswith(" "):
                problems.append(
                    (number, f"Headers must have a space after the colon: "
                             f"{name}"))
            fields.append(Field(name, number, [value.strip()]))
        else:
            problems.append(
                (number, "Preamble lines must be 'Name: value' headers or "
                         "indented continuation lines"))
    return fields, problems


def check_headers(text, today=None):
    """Check the RFC 2822 preamble against PEP 1, PEP 12 and check-peps."""
    today = today or datetime.date.today()
    lines = text.splitlines()
    fields, problems = parse_preamble(lines)
    if not lines or not lines[0].startswith("PEP: "):
        problems.append((1, "PEP must begin with the 'PEP:' header"))
    seen = {}
    for field in fields:
        if field.name in RETIRED_HEADERS:
            problems.append(
                (field.line, f"Must not have retired header: {field.name} "
                             f"(PEP 12 no longer has it)"))
        elif field.name not in HEADER_ORDER:
            problems.append(
                (field.line, f"Must not have invalid header: {field.name}"))
        elif field.name in seen:
            problems.append(
                (field.line, f"Must not have duplicate header: {field.name} "
                             f"(first on line {seen[field.name].line})"))
        else:
            seen[field.name] = field
            problems.extend(VALIDATORS[field.name](field, today))
    for name in REQUIRED_HEADERS:
        if name not in seen:
            problems.append((1, f"Must have required header: {name}"))
    found = list(seen.values())
    expected = sorted(found, key=lambda field: HEADER_ORDER.index(field.name))
    for actual, wanted in zip(found, expected):
        if actual is not wanted:
            order = ", ".join(field.name for field in expected)
            problems.append(
                (actual.line, f"Headers must be in PEP 12 order: {order}"))
            break
    return sorted(problems)


def check_links(text):
    """PEPs and RFCs are referred to with roles, not direct links."""
    return [(number, message)
            for number, line in enumerate(text.splitlines(), start=1)
            for pattern, message in DIRECT_LINKS
            if pattern.search(line)]


def _pep_number(line, text, what):
    if not PEP_NUMBER.fullmatch(text):
        yield (line, f"{what} must be a number from 0 to 9999 without "
                     f"leading zeros: {text!r}")


def _date(line, text, header, today):
    try:
        date = datetime.datetime.strptime(text, "%d-%b-%Y").date()
    except ValueError:
        date = None
    # strptime also takes "1-Nov-2026" and "01-nov-2026".
    if date is None or not DATE.fullmatch(text):
        yield line, f"{header} must be a 'DD-Mon-YYYY' date: {text!r}"
    elif date.year < 1990:
        yield (line, f"{header} must not be before Python was invented: "
                     f"{text!r}")
    # A fortnight's slack, as in check-peps.py, for time zones and for
    # dates set a little ahead of a planned posting.
    elif date > today + datetime.timedelta(days=14):
        yield line, f"{header} must not be in the future: {text!r}"


def _people(line, entries, header):
    for entry in entries:
        match = PERSON.fullmatch(entry.strip())
        if match is None:
            yield (line, f"{header} entries must be 'Name <email@example.com>'"
                         f" or 'Name': {entry.strip()!r}")
        elif not NAME.fullmatch(match["name"]):
            yield (line, f"{header} entries must begin with a valid name: "
                         f"{entry.strip()!r}")
        elif match["email"] and not EMAIL.fullmatch(match["email"]):
            yield (line, f"{header} entries must have a valid email address: "
                         f"{entry.strip()!r}")


def _validate_pep(field, today):
    yield from _pep_number(field.line, field.value, "'PEP:' header")


def _validate_title(field, today):
    if not field.value:
        yield field.line, "PEP must have a title"
    elif len(field.value) > MAX_TITLE_LENGTH:
        yield (field.line, f"PEP title must be at most {MAX_TITLE_LENGTH} "
                           f"characters (it has {len(field.value)})")


def _validate_author(field, today):
    last = len(field.lines) - 1
    for offset, text in enumerate(field.lines):
        line = field.line + offset
        # Continuation lines line up with the first name, after "Author: ".
        if offset and text[:len("Author: ") + 1].isspace():
            yield line, "Author line must not be over-indented"
        if offset < last and not text.rstrip().endswith(","):
            yield line, "Author continuation lines must end with a comma"
        entries = text.strip().removesuffix(",").split(", ")
        yield from _people(line, entries, "Author")


def _validate_sponsor(field, today):
    yield from _people(field.line, [field.value], field.name)


def _validate_delegate(field, today):
    if field.value:
        entries = field.value.removesuffix(",").split(", ")
        yield from _people(field.line, entries, field.name)


def _validate_discussions_to(field, today):
    value = field.value
    if value == "Pending" or MAILING_LIST.fullmatch(value):
        return
    if value.startswith("https://"):
        if not THREAD_URL.fullmatch(value):
            yield (field.line, "Discussions-To must be the URL of a thread on "
                               "discuss.python.org or mail.python.org")
    else:
        yield (field.line, "Discussions-To must be a thread URL, a mailing "
                           "list, or 'Pending'")


def _validate_status(field, today):
    if field.value not in STATUSES:
        yield (field.line, f"Status must be one of "
                           f"{', '.join(sorted(STATUSES))}: {field.value!r}")


def _validate_type(field, today):
    if field.value not in TYPES:
        yield (field.line, f"Type must be one of "
                           f"{', '.join(sorted(TYPES))}: {field.value!r}")


def _validate_topic(field, today):
    topics = field.value.split(", ")
    if len(set(topics)) != len(topics):
        yield field.line, "Topic must not contain duplicates"
    if not set(topics) <= set(TOPICS):
        yield field.line, f"Topic must be from {', '.join(TOPICS)}"
    if topics != sorted(topics):
        yield field.line, "Topic must be sorted lexicographically"


def _validate_pep_references(field, today):
    value = field.value.removesuffix(",").rstrip()
    if value.count(",") != value.count(", "):
        yield (field.line, f"{field.name} must separate PEP numbers with "
                           f"', '")
        return
    for number in value.split(", "):
        yield from _pep_number(field.line, number, f"{field.name} entry")


def _validate_created(field, today):
    yield from _date(field.line, field.value, "Created", today)


def _validate_python_version(field, today):
    for version in field.value.split(", "):
        if not PYTHON_VERSION.fullmatch(version):
            yield (field.line, f"Python-Version must be 'X.Y' or 'X.Y.Z' "
                               f"without leading zeros: {version!r}")


def _validate_post_history(field, today):
    if field.value in ("", "Pending"):
        return
    for offset, text in enumerate(field.lines):
        line = field.line + offset
        for entry in text.strip().removesuffix(",").split(", "):
            if match := DATED_LINK.fullmatch(entry):
                yield from _date(line, match["date"], "Post-History", today)
                if not POST_URL.fullmatch(match["url"]):
                    yield (line, f"Post-History must link to a thread or "
                                 f"post: {match['url']!r}")
            elif "`" in entry:
                yield (line, f"Post-History entries must be 'DD-Mon-YYYY' "
                             f"or '`DD-Mon-YYYY <URL>`__': {entry!r}")
            else:
                yield from _date(line, entry, "Post-History", today)


def _validate_resolution(field, today):
    url = field.value
    if match := DATED_LINK.fullmatch(field.value):
        yield from _date(field.line, match["date"], "Resolution", today)
        url = match["url"]
    if not RESOLUTION_URL.fullmatch(url):
        yield (field.line, "Resolution must be the URL of a decision (thread, "
                           "post or message), or '`DD-Mon-YYYY <URL>`__'")


VALIDATORS = {
    "PEP": _validate_pep,
    "Title": _validate_title,
    "Author": _validate_author,
    "Sponsor": _validate_sponsor,
    "BDFL-Delegate": _validate_delegate,
    "PEP-Delegate": _validate_delegate,
    "Discussions-To": _validate_discussions_to,
    "Status": _validate_status,
    "Type": _validate_type,
    "Topic": _validate_topic,
    "Requires": _validate_pep_references,
    "Created": _validate_created,
    "Python-Version": _validate_python_version,
    "Post-History": _validate_post_history,
    "Replaces": _validate_pep_references,
    "Superseded-By": _validate_pep_references,
    "Resolution": _validate_resolution,
}


# --- sphinx-lint and Sphinx --------------------------------------------------

# The roles of the peps repository's conf.py that need no network.  Its
# intersphinx inventories resolve :keyword: and :term: references to the
# Python docs; offline they cannot resolve, so they may not warn.
SPHINX_CONF = """\
root_doc = "pep"
extensions = ["sphinx.ext.extlinks"]
extlinks = {
    "cpython-issue": ("https://github.com/python/cpython/issues/%s",
                      "python/cpython#%s"),
    "cpython-pr": ("https://github.com/python/cpython/pull/%s",
                   "python/cpython#%s"),
    "pypi": ("https://pypi.org/project/%s/", "%s"),
}
suppress_warnings = ["ref.keyword", "ref.term"]
"""
SPHINX_WARNING = re.compile(
    r"(?:(?P<path>.*?):(?P<line>[0-9]*): )?"
    r"(?P<message>(?:WARNING|ERROR|SEVERE|CRITICAL): .*)")


def _warnings(output, pattern):
    """Return [match, message] for each warning in a tool's output.

    A line that does not start a warning continues the one before, like
    the caret under the bad spot of a C declaration.
    """
    found = []
    for text in output.splitlines():
        if match := pattern.fullmatch(text):
            found.append([match, match["message"]])
        elif found and text.strip():
            found[-1][1] += "\n    " + text
    return found


def sphinx_lint(path):
    """Run sphinx-lint on the file, default-role check included."""
    result = subprocess.run(
        [sys.executable, "-m", "sphinxlint", "--enable", "default-role",
         "--jobs", "1", os.fspath(path)],
        capture_output=True, text=True)
    error = re.compile(
        re.escape(os.fspath(path)) + r":(?P<line>[0-9]+): (?P<message>.*)")
    problems = [(int(match["line"]), f"sphinx-lint: {message}")
                for match, message in _warnings(result.stderr, error)]
    if result.returncode and not problems:
        problems.append((0, f"sphinx-lint failed: "
                            f"{(result.stderr or result.stdout).strip()}"))
    return problems


def blank_preamble(text):
    """Return the text with its preamble turned into blank lines.

    The preamble is not reST; docutils would read it as a paragraph.
    Blanking it keeps every other line where it was, so Sphinx's line
    numbers are the source's.
    """
    lines = text.splitlines(keepends=True)
    if not lines or not HEADER_LINE.fullmatch(lines[0].rstrip("\n")):
        return text
    length = next((index for index, line in enumerate(lines)
                   if not line.strip()), len(lines))
    return "\n" * length + "".join(lines[length:])


def render(text):
    """Build the PEP alone with Sphinx, warnings as errors; return those.

    Not nitpicky: references to CPython's own API cannot resolve without
    its inventory.
    """
    with tempfile.TemporaryDirectory(prefix="check-pep-") as tmp:
        source = Path(tmp, "source")
        source.mkdir()
        (source / "conf.py").write_text(SPHINX_CONF, encoding="utf-8")
        document = source / "pep.rst"
        document.write_text(blank_preamble(text), encoding="utf-8")
        # With -W, a warning that the parsing below misses still fails
        # the build, and so the check.
        result = subprocess.run(
            [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-N",
             "-W", "--keep-going", os.fspath(source),
             os.path.join(tmp, "out")],
            capture_output=True, text=True)
        problems = []
        for match, message in _warnings(result.stderr, SPHINX_WARNING):
            # Only the PEP's own lines mean anything to its author.
            ours = Path(match["path"] or "").name == document.name
            line = int(match["line"] or 0) if ours else 0
            problems.append((line, f"sphinx: {message}"))
        if result.returncode and not problems:
            problems.append(
                (0, f"sphinx failed: {result.stderr.strip()[-2000:]}"))
    return problems


# --- Consistency with pyawaitable.h ------------------------------------------

PUBLIC_NAME = re.compile(r"(?:PyAwaitable|PyAsync)\w*|METH_ASYNC")
COMPAT_GUARD = "ifndef PYAWAITABLE_NO_1X_NAMES"
CPLUSPLUS_GUARD = "ifdef __cplusplus"
PEP_DIRECTIVE = re.compile(
    r"(?P<indent> *)\.\.\s+c:(?P<kind>function|macro|type|struct|var)::"
    r"(?P<text>.*)")
COMMENT_OR_LITERAL = re.compile(
    r"/\*.*?\*/|//[^\n]*|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'",
    re.DOTALL)
DIRECTIVE = re.compile(r"\s*#\s*(?P<word>\w+)\s*(?P<rest>.*)")
DEFINE = re.compile(r"(?P<name>\w+)(?P<params>\([^)]*\))?")
STORAGE = re.compile(r"^(?:(?:static|inline|extern)\s+)+")
FUNCTION_POINTER = re.compile(r"\(\s*\*\s*(?P<name>\w+)\s*\)\s*\(")
FUNCTION = re.compile(r"(?P<name>\w+)\s*\(.*\)", re.DOTALL)
LAST_NAME = re.compile(r"(?P<name>\w+)\W*$")


@dataclass
class Declaration:
    """A declared C name.

    kind is "function", "macro", "type" or "var"; text is what the PEP
    would declare for it: a function's or variable's declaration without
    storage class, a macro's name and parameters, a function pointer
    type's declaration or another type's name.
    """

    kind: str
    name: str
    text: str
    line: int
    compat: bool = False

    @property
    def key(self):
        return normalize(self.text)


def normalize(declaration):
    """Drop the spacing that C ignores: 'PyObject* x' is 'PyObject *x'."""
    spaced = re.sub(r"\s*([^\w\s])\s*", r"\1", declaration.strip())
    return re.sub(r"\s+", " ", spaced)


def _collapse(text):
    return " ".join(text.split())


def _blank(match):
    """Empty a literal, and turn a comment into its newlines."""
    text = match.group()
    if text[0] in "\"'":
        return text[0] * 2
    return " " + "\n" * text.count("\n")


def parse_header(text):
    """Return the declarations of a hand-written header like pyawaitable.h.

    Not a C parser: it tracks #if nesting by line, skips function bodies
    by brace depth, and splits the rest at top-level semicolons.
    """
    lines = COMMENT_OR_LITERAL.sub(_blank, text).split("\n")
    declarations = []
    code = list(lines)
    compat_lines = set()
    guards = []
    index = 0
    while index < len(lines):
        start = index
        match = DIRECTIVE.fullmatch(lines[index])
        if match is None:
            if CPLUSPLUS_GUARD in guards:
                code[index] = ""      # only the extern "C" wrapper
            elif COMPAT_GUARD in guards:
                compat_lines.add(index + 1)
            index += 1
            continue
        directive = match["word"] + " " + match["rest"].strip()
        while lines[index].endswith("\\") and index + 1 < len(lines):
            index += 1
            directive = directive[:-1] + " " + lines[index].strip()
        for blank in range(start, index + 1):
            code[blank] = ""
        index += 1
        word, _, rest = directive.partition(" ")
        if word in ("if", "ifdef", "ifndef"):
            guards.append(directive)
        elif word in ("elif", "else"):
            guards[-1] = f"{directive} of {guards[-1]}"
        elif word == "endif":
            guards.pop()
        elif word == "define" and (define := DEFINE.match(rest)):
            declarations.append(Declaration(
                "macro", define["name"],
                define["name"] + (define["params"] or ""), start + 1,
                COMPAT_GUARD in guards))
    for line, statement in _statements("\n".join(code)):
        declarations.append(_classify(statement, line, line in compat_lines))
    return sorted(declarations, key=lambda declaration: declaration.line)


def _statements(code):
    """Yield (line, text) of each top-level statement or function head."""
    depth = 0
    start = 0
    in_function = False
    for match in re.finditer(r"[{};]", code):
        char = match.group()
        text = code[start:match.start()]
        if char == "{":
            if (depth == 0 and text.rstrip().endswith(")")
                    and not text.lstrip().startswith("typedef")):
                yield _line_of(code, start), text
                in_function = True
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0 and in_function:
                in_function = False
                start = match.end()
        elif depth == 0:
            if text.strip():
                yield _line_of(code, start), text
            start = match.end()


def _line_of(code, start):
    """The line of the first non-blank character at or after start."""
    first = re.compile(r"\S").search(code, start).start()
    return code.count("\n", 0, first) + 1


def _classify(statement, line, compat):
    statement = statement.strip()
    # Spaced as the PEP would write it: "PyObject *\nPyAwaitable_New(void)"
    # reads "PyObject *PyAwaitable_New(void)".
    text = re.sub(r"\* +", "*", _collapse(STORAGE.sub("", statement)))
    # A struct's body may hold function pointers; only its name counts.
    text = re.sub(r" ?\{.*\}", "", text)
    if text.startswith("typedef "):
        text = text.removeprefix("typedef ")
        if pointer := FUNCTION_POINTER.search(text):
            kind, name = "type", pointer["name"]
        else:
            kind, name = "type", LAST_NAME.search(text)["name"]
            text = name
    elif "=" not in text and text.endswith(")"):
        kind, name = "function", FUNCTION.search(text)["name"]
    else:
        text = text.partition("=")[0].strip()
        kind, name = "var", LAST_NAME.search(text)["name"]
    # Point at the name, not at the "static inline" line above it.
    at = re.search(rf"\b{name}\b", statement).start()
    line += statement.count("\n", 0, at)
    return Declaration(kind, name, text, line, compat)


def parse_pep_declarations(text):
    """Return the C declarations of the PEP's c: directives.

    As Sphinx reads them: the arguments run to the first blank or option
    line, a trailing backslash joins a line to the next, and each line
    left is one signature.
    """
    lines = text.splitlines()
    declarations = []
    for number, line in enumerate(lines, start=1):
        match = PEP_DIRECTIVE.fullmatch(line)
        if match is None:
            continue
        parts = [match["text"]]
        for more in lines[number:]:
            indent = len(more) - len(more.lstrip())
            if (not more.strip() or indent <= len(match["indent"])
                    or more.lstrip().startswith(":")):
                break
            parts.append(more)
        # A typedef'd struct is a type to the header.
        kind = "type" if match["kind"] == "struct" else match["kind"]
        joined = []     # the lines of one signature, backslashes dropped
        for offset, part in enumerate(parts):
            joined.append(part.rstrip())
            if joined[-1].endswith("\\") and offset < len(parts) - 1:
                joined[-1] = joined[-1][:-1]
                continue
            first = number + offset + 1 - len(joined)
            if declaration := _pep_declaration(kind, "".join(joined), first):
                declarations.append(declaration)
            joined = []
    return declarations


def _pep_declaration(kind, signature, line):
    text = _collapse(signature)
    pointer = FUNCTION_POINTER.search(text)
    call = FUNCTION.search(text)
    last = LAST_NAME.search(text)
    if kind == "type" and pointer:
        return Declaration(kind, pointer["name"], text, line)
    if kind in ("function", "macro") and call:
        return Declaration(kind, call["name"], text, line)
    if last:
        # A plain type or an object-like macro is declared by its name.
        name = last["name"]
        return Declaration(kind, name, text if kind == "var" else name, line)
    return None     # an empty directive, which Sphinx reports


def check_consistency(pep_text, header_text, header_name="pyawaitable.h"):
    """Compare the PEP's C declarations with the header's.

    Returns (problems at PEP lines, problems at header lines).  Every
    public header name (PyAwaitable*, PyAsync*, METH_ASYNC) is in the
    PEP; every such name in the PEP is in the header, as the same kind
    and with the same declaration, parameter names included, in every
    #if branch that has it.  The pyawaitable 1.x spellings are
    compatibility names: the PEP need not declare them, but if it does,
    it must do so as the header does.
    """
    header = {}
    for declaration in parse_header(header_text):
        if not declaration.name.startswith("_"):
            header.setdefault(declaration.name, []).append(declaration)
    pep = parse_pep_declarations(pep_text)
    pep_problems = []
    header_problems = []
    for name, found in header.items():
        for other in found[1:]:
            if (other.kind, other.key) != (found[0].kind, found[0].key):
                header_problems.append(
                    (other.line, f"{name}: {other.text!r} differs from line "
                                 f"{found[0].line}: {found[0].text!r}"))
        public = PUBLIC_NAME.fullmatch(name) and not found[0].compat
        if public and not any(entry.name == name for entry in pep):
            header_problems.append(
                (found[0].line, f"{name} is not specified in the PEP"))
    for entry in pep:
        if entry.name not in header:
            if PUBLIC_NAME.fullmatch(entry.name):
                pep_problems.append(
                    (entry.line, f"{entry.name} is not in {header_name}"))
            continue
        for declared in header[entry.name]:
            where = f"{header_name}:{declared.line}"
            if declared.kind != entry.kind:
                pep_problems.append(
                    (entry.line, f"{entry.name} is a {declared.kind} in "
                                 f"{where}, not a {entry.kind}"))
            elif declared.key != entry.key:
                pep_problems.append(
                    (entry.line, f"{entry.text!r} does not match {where}: "
                                 f"{declared.text!r}"))
    return pep_problems, header_problems


# --- Command line ------------------------------------------------------------

def check_file(path, header_path):
    """Run every check; return (path, line, message) triples."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        header_text = Path(header_path).read_text(encoding="utf-8")
    except OSError as error:
        return [(path, 0, f"cannot read: {error}")]
    found = (check_headers(text) + check_links(text) + sphinx_lint(path)
             + render(text))
    pep_problems, header_problems = check_consistency(
        text, header_text, os.path.basename(header_path))
    return ([(path, line, message) for line, message in found + pep_problems]
            + [(header_path, line, message)
               for line, message in header_problems])


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Check PEP drafts like the peps repository does, and "
                    "against pyawaitable.h.")
    parser.add_argument("files", nargs="*", metavar="PEP.rst",
                        help="default: pep/pep-9999.rst")
    parser.add_argument("--header",
                        help="the C header the PEP specifies (default: "
                             "the backport's pyawaitable.h)")
    args = parser.parse_args(argv)
    files = args.files or [os.path.relpath(DEFAULT_PEP)]
    header = args.header or os.path.relpath(DEFAULT_HEADER)
    count = 0
    for path in files:
        for where, line, message in check_file(path, header):
            print(f"{where}:{line}: {message}")
            count += 1
    if count:
        print(f"check-pep: {count} problem{'s' * (count != 1)}",
              file=sys.stderr)
    return 1 if count else 0


if __name__ == "__main__":
    sys.exit(main())
