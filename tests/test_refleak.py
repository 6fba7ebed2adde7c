"""The refleak mode (refleak.py) finds leaks, names them, and nothing else."""

import subprocess
import sys
import textwrap

import pytest

pytestmark = [
    pytest.mark.skipif(not hasattr(sys, "gettotalrefcount"),
                       reason="refleak mode needs a debug build"),
    pytest.mark.refleak_exempt("it runs its own refleak session in a child "
                               "process"),
]

SAMPLE = textwrap.dedent("""
    import pytest

    kept = []

    def test_clean():
        [object() for _ in range(100)]

    def test_leaks_references():
        kept.append(object())

    def test_leaks_blocks_only():
        # Raw memory, no object: only sys.getallocatedblocks() sees it.
        import ctypes
        ctypes.pythonapi.PyMem_Malloc.restype = ctypes.c_void_p
        ctypes.pythonapi.PyMem_Malloc(16)

    def test_fails():
        assert False, "a plain failure"

    @pytest.mark.refleak_exempt("measured elsewhere")
    def test_exempt():
        kept.append(object())

    calls = []

    def test_runs():
        calls.append(None)

    def test_ran_warmups_counted_and_reported():
        # test_runs ran 3 + 2 times quietly and once logged.
        assert len(calls) == 6
""")


def run_refleak(tmp_path, *args):
    (tmp_path / "test_sample.py").write_text(SAMPLE)
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["refleak"]\n')
    here = __file__.rpartition("/")[0]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rf",
         "--refleak", *args, str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path,
        env={"PYTHONPATH": here, "PATH": ""})


def test_finds_and_names_leaks(tmp_path):
    out = run_refleak(tmp_path, "--refleak-runs=3:2")
    report = out.stdout
    assert out.returncode == 1, report + out.stderr
    failed = sorted(line.split()[1].split("::")[1].split(" ")[0]
                    for line in report.splitlines()
                    if line.startswith("FAILED "))
    assert failed == ["test_fails", "test_leaks_blocks_only",
                      "test_leaks_references"], report
    assert ("test_sample.py::test_leaks_references leaked [1, 1] "
            "references, leaked [1, 1] memory blocks over 2 runs after 3 "
            "warm-up runs") in report
    assert ("test_sample.py::test_leaks_blocks_only leaked [1, 1] memory "
            "blocks over 2 runs after 3 warm-up runs") in report
    assert "a plain failure" in report
    assert "4 passed" in report


@pytest.mark.parametrize("runs", ["3", "3:0", "a:b", "-1:3"])
def test_bad_run_counts(tmp_path, runs):
    out = run_refleak(tmp_path, f"--refleak-runs={runs}")
    assert out.returncode == 4, out.stdout + out.stderr
    assert "--refleak-runs" in out.stderr
