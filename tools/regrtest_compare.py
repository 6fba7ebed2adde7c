"""Compare two regrtest runs (their --junit-xml files): stock and patched.

    python tools/regrtest_compare.py STOCK.xml PATCHED.xml

The patched build must give every test case the stock build ran the same
outcome (passed, skipped, failed or errored), and must pass or skip the
test cases only it has (the patch series' new tests).  Prints the counts
and every difference; exits 1 if there is one.
"""

import sys
import xml.etree.ElementTree as ET


def outcomes(path):
    """{test id: outcome} of one junit file written by regrtest."""
    result = {}
    for case in ET.parse(path).iter("testcase"):
        test_id = f"{case.get('classname')}.{case.get('name')}"
        if case.find("error") is not None:
            outcome = "error"
        elif case.find("failure") is not None:
            outcome = "failed"
        elif case.find("skipped") is not None:
            outcome = "skipped"
        else:
            outcome = "passed"
        result[test_id] = outcome
    return result


def count(results):
    totals = {}
    for outcome in results.values():
        totals[outcome] = totals.get(outcome, 0) + 1
    return ", ".join(f"{n} {outcome}" for outcome, n in sorted(totals.items()))


def compare(stock, patched):
    """The differences, as lines; none means the patched run is as good."""
    problems = []
    for test_id, outcome in sorted(stock.items()):
        if test_id not in patched:
            problems.append(f"{test_id}: {outcome} on stock, missing on patched")
        elif patched[test_id] != outcome:
            problems.append(f"{test_id}: {outcome} on stock, "
                            f"{patched[test_id]} on patched")
    for test_id, outcome in sorted(patched.items()):
        if test_id not in stock and outcome not in ("passed", "skipped"):
            problems.append(f"{test_id}: new on patched, {outcome}")
    return problems


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    stock, patched = outcomes(argv[1]), outcomes(argv[2])
    if not stock or not patched:
        print("regrtest_compare: a run recorded no test cases", file=sys.stderr)
        return 1
    new = len(patched.keys() - stock.keys())
    print(f"stock:   {len(stock)} test cases ({count(stock)})")
    print(f"patched: {len(patched)} test cases ({count(patched)}; "
          f"{new} only on patched)")
    problems = compare(stock, patched)
    for line in problems:
        print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
