"""Tests of tools/check_snippets.py on guides written to a temporary tree."""

import pathlib
import sys
import tempfile
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import check_snippets  # noqa: E402

SOURCE = "int\nf(void)\n{\n    return 1;\n}\n"


class CheckTest(unittest.TestCase):
    def setUp(self):
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.root = pathlib.Path(tmp.name)
        (self.root / "f.c").write_text(SOURCE)
        self.addCleanup(setattr, check_snippets, "ROOT", check_snippets.ROOT)
        check_snippets.ROOT = self.root

    def check(self, guide):
        path = self.root / "guide.md"
        path.write_text(guide)
        return check_snippets.check(path)

    def test_verbatim_snippet(self):
        self.assertEqual(self.check(
            "<!-- from: f.c -->\n```c\n{\n    return 1;\n}\n```\n"), (1, []))

    def test_changed_snippet(self):
        count, errors = self.check(
            "<!-- from: f.c -->\n```c\n{\n    return 2;\n}\n```\n")
        self.assertEqual(count, 1)
        self.assertIn("not verbatim in f.c", errors[0])

    def test_part_of_a_line_is_not_enough(self):
        _, errors = self.check("<!-- from: f.c -->\n```c\nreturn 1;\n```\n")
        self.assertEqual(len(errors), 1)

    def test_block_without_source(self):
        _, errors = self.check("text\n\n```c\nint\n```\n")
        self.assertIn("without <!-- from: PATH -->", errors[0])

    def test_missing_source(self):
        _, errors = self.check("<!-- from: g.c -->\n```c\nint\n```\n")
        self.assertIn("g.c does not exist", errors[0])

    def test_shell_blocks_need_no_source(self):
        self.assertEqual(self.check("```sh\nmake\n```\n"), (0, []))


if __name__ == "__main__":
    unittest.main()
