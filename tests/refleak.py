"""Refleak mode for the shared suite, like ``regrtest -R 3:3``.

``pytest --refleak`` (needs a debug build: ``sys.gettotalrefcount``) runs
every test 3 times to warm up and 3 more times counted, each run with its
function-scoped fixtures set up and torn down, and records the change in
``sys.gettotalrefcount()`` and ``sys.getallocatedblocks()`` over each counted
run.  A test whose every counted run grew one of them fails, with the deltas
in the message; then it runs once more, reported as usual.

``--refleak-runs=W:C`` picks other warm-up and counted run counts.  A test
marked ``@pytest.mark.refleak_exempt(reason)`` runs once, as usual.
"""

import gc
import sys

import pytest
from _pytest.runner import runtestprotocol

_LEAK = pytest.StashKey[str]()


def pytest_addoption(parser):
    parser.addoption(
        "--refleak", action="store_true",
        help="repeat each test to find reference and memory block leaks, "
             "like regrtest -R (debug builds only)")
    parser.addoption(
        "--refleak-runs", default="3:3", metavar="W:C",
        help="with --refleak: W warm-up and C counted runs (default 3:3)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "refleak_exempt(reason): run this test only once in "
                   "refleak mode; the reason says why its leaks are not ours")
    if not config.getoption("refleak"):
        return
    if not hasattr(sys, "gettotalrefcount"):
        raise pytest.UsageError("--refleak needs a debug build of Python "
                                "(sys.gettotalrefcount is missing)")
    try:
        spec = config.getoption("refleak_runs")
        warmups, counted = (int(n) for n in spec.split(":"))
    except ValueError:
        raise pytest.UsageError(
            f"--refleak-runs: expected W:C, got {spec!r}") from None
    if warmups < 0 or counted < 1:
        raise pytest.UsageError(f"--refleak-runs: bad run counts {spec!r}")
    config.pluginmanager.register(_RefleakHunter(warmups, counted),
                                  "refleak-hunter")


def _snapshot():
    # What regrtest clears too: anything cached lazily would otherwise
    # look like a leak in the run that first filled it.
    sys._clear_type_cache()
    gc.collect()
    return sys.gettotalrefcount(), sys.getallocatedblocks()


# Keeping a fresh int per delta would itself count as a leak, so deltas are
# taken from a pool filled before anything is measured.
_int_pool = {n: n for n in range(-1000, 1000)}


def _pooled(n):
    return _int_pool.get(n, n)


def _leaking(deltas):
    # regrtest's rule (bpo-30776): a leak grows in every counted run;
    # noise such as [3, 0, 0] or [8, -8, 1] does not.
    return all(delta >= 1 for delta in deltas)


class _RefleakHunter:

    def __init__(self, warmups, counted):
        self.warmups = warmups
        self.counted = counted

    def _run_quietly(self, item):
        # Tearing down only up to the parent keeps module- and session-scoped
        # fixtures alive, so only what one run of this test creates counts.
        reports = runtestprotocol(item, log=False, nextitem=item.parent)
        # The capture plugin appends each run's output to the item.
        item._report_sections.clear()
        return all(report.passed or report.skipped for report in reports)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item, nextitem):
        if item.get_closest_marker("refleak_exempt") is not None:
            return None
        # Every run is measured the same way, as in regrtest, so that the
        # measuring itself is warmed up too; only the last ones are judged.
        # The lists are allocated up front, as growing them would count.
        runs = self.warmups + self.counted
        refs = [0] * runs
        blocks = [0] * runs
        refs_before, blocks_before = _snapshot()
        for run in range(runs):
            if not self._run_quietly(item):
                # Failing or skipped tests are reported by the normal run.
                return None
            refs_after, blocks_after = _snapshot()
            refs[run] = _pooled(refs_after - refs_before)
            blocks[run] = _pooled(blocks_after - blocks_before)
            refs_before, blocks_before = refs_after, blocks_after
        refs, blocks = refs[self.warmups:], blocks[self.warmups:]
        leaks = []
        if _leaking(refs):
            leaks.append(f"leaked {refs} references")
        if _leaking(blocks):
            leaks.append(f"leaked {blocks} memory blocks")
        if leaks:
            item.stash[_LEAK] = (
                f"{item.nodeid} {', '.join(leaks)} over "
                f"{self.counted} runs after {self.warmups} warm-up runs")
        return None  # the normal protocol now runs it once more, logged

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        leak = item.stash.get(_LEAK, None)
        if leak is not None and call.when == "call" and report.passed:
            report.outcome = "failed"
            report.longrepr = leak
        return report
