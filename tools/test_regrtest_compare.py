"""Tests of tools/regrtest_compare.py (run by tools/test)."""

import contextlib
import io
import pathlib
import sys
import tempfile
import unittest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import regrtest_compare  # noqa: E402


def junit(cases):
    """A regrtest-style junit document for {test id: outcome}."""
    body = []
    for test_id, outcome in cases.items():
        classname, name = test_id.rsplit(".", 1)
        inner = {"passed": "",
                 "skipped": "<skipped>no</skipped>",
                 "failed": "<failure>boom</failure>",
                 "error": "<error>boom</error>"}[outcome]
        body.append(f'<testcase classname="{classname}" name="{name}" '
                    f'status="run" result="completed">{inner}</testcase>')
    return ('<testsuites><testsuite tests="%d">%s</testsuite></testsuites>'
            % (len(cases), "".join(body)))


class CompareTest(unittest.TestCase):

    def run_compare(self, stock, patched):
        with tempfile.TemporaryDirectory() as tmp:
            paths = []
            for name, cases in (("stock", stock), ("patched", patched)):
                path = pathlib.Path(tmp, name + ".xml")
                path.write_text(junit(cases))
                paths.append(str(path))
            out = io.StringIO()
            with contextlib.redirect_stdout(out), \
                    contextlib.redirect_stderr(out):
                status = regrtest_compare.main(["compare", *paths])
        return status, out.getvalue()

    def test_outcomes(self):
        stock = {"t.A.a": "passed", "t.A.b": "skipped", "t.A.c": "failed",
                 "t.A.d": "error"}
        with tempfile.TemporaryDirectory() as tmp:
            path = pathlib.Path(tmp, "r.xml")
            path.write_text(junit(stock))
            self.assertEqual(regrtest_compare.outcomes(path), stock)

    def test_same_results_pass(self):
        stock = {"t.A.a": "passed", "t.A.b": "skipped", "t.A.c": "failed"}
        status, out = self.run_compare(stock, dict(stock))
        self.assertEqual(status, 0, out)

    def test_new_tests_must_pass_or_skip(self):
        stock = {"t.A.a": "passed"}
        status, out = self.run_compare(
            stock, {**stock, "t.New.a": "passed", "t.New.b": "skipped"})
        self.assertEqual(status, 0, out)
        self.assertIn("2 only on patched", out)
        for outcome in ("failed", "error"):
            status, out = self.run_compare(stock,
                                           {**stock, "t.New.a": outcome})
            self.assertEqual(status, 1)
            self.assertIn(f"t.New.a: new on patched, {outcome}", out)

    def test_changed_outcome_fails(self):
        status, out = self.run_compare({"t.A.a": "passed"},
                                       {"t.A.a": "failed"})
        self.assertEqual(status, 1)
        self.assertIn("t.A.a: passed on stock, failed on patched", out)
        # A test that now passes is a difference too: the stock failure
        # was not understood.
        status, out = self.run_compare({"t.A.a": "failed"},
                                       {"t.A.a": "passed"})
        self.assertEqual(status, 1)

    def test_missing_test_fails(self):
        status, out = self.run_compare({"t.A.a": "passed", "t.A.b": "passed"},
                                       {"t.A.a": "passed"})
        self.assertEqual(status, 1)
        self.assertIn("t.A.b: passed on stock, missing on patched", out)

    def test_empty_run_fails(self):
        status, out = self.run_compare({}, {"t.A.a": "passed"})
        self.assertEqual(status, 1)
        self.assertIn("recorded no test cases", out)


if __name__ == "__main__":
    unittest.main()
