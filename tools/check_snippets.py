"""Check that every code snippet of a guide is taken from a tested file.

Each fenced code block must follow a comment naming its source,

    <!-- from: backport/examples/setuptools/greet.c -->

and appear in that file verbatim (a contiguous run of its lines), so that
the guide shows only code that tools/test builds and runs.  Shell blocks
(sh) are commands, not code, and need no source.

    python3 tools/check_snippets.py [GUIDE.md ...]   (default backport/README.md)
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```(\w*)\s*$")
SOURCE = re.compile(r"^<!-- from: (\S+) -->$")
COMMANDS = {"sh", "console"}


def blocks(text):
    """Yield (line number, language, code, source or None) per fenced block."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match or not match.group(1):
            i += 1
            continue
        start = i
        source = None
        previous = start - 1
        while previous >= 0 and not lines[previous].strip():
            previous -= 1
        if previous >= 0 and (found := SOURCE.match(lines[previous])):
            source = found.group(1)
        end = start + 1
        while end < len(lines) and lines[end] != "```":
            end += 1
        yield start + 1, match.group(1), "\n".join(lines[start + 1:end]), source
        i = end + 1


def check(guide):
    errors = []
    text = guide.read_text()
    count = 0
    for line, language, code, source in blocks(text):
        where = f"{guide.relative_to(ROOT)}:{line}"
        if language in COMMANDS:
            continue
        count += 1
        if source is None:
            errors.append(f"{where}: a {language} block without <!-- from: PATH -->")
            continue
        path = ROOT / source
        if not path.is_file():
            errors.append(f"{where}: {source} does not exist")
            continue
        # Whole lines only: a snippet may not cut a line of its source.
        if "\n" + code + "\n" not in "\n" + path.read_text() + "\n":
            errors.append(f"{where}: the {language} block is not verbatim in {source}")
    return count, errors


def main(argv):
    guides = [pathlib.Path(a).resolve() for a in argv] or [ROOT / "backport" / "README.md"]
    failed = False
    for guide in guides:
        count, errors = check(guide)
        for error in errors:
            print(error, file=sys.stderr)
        failed |= bool(errors)
        print(f"{guide.relative_to(ROOT)}: {count} snippets, {len(errors)} not from a tested file")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
