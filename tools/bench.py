"""Per-await cost of PyAwaitable and its peers against pure-Python ``async def``.

Run by tools/bench in a venv where the backport (unless the interpreter
implements the API) and the bench extensions are importable, with the
peers tools/peers/build.py built in ``--peers DIR``.

Scenarios, each an ``await`` in a loop inside one coroutine that times
itself, run as a task on the event loop (``--loop``, asyncio's default
loop or uvloop), so only the awaiting is timed:

- noawait: ``await f(1)``, an async function that returns its argument;
- trampoline: ``await f(inner())``, ``async def f(c): return await c``;
- sleep: the same with an inner that suspends once (``asyncio.sleep(0)``);
- chain10: ``await f(inner)``, one awaitable awaiting ``inner()`` ten times;
- meth_async: ``await echo(1)``, a METH_O | METH_ASYNC function;
- tasks: 100,000 trampolines of the sleeping inner as asyncio tasks,
  gathered (wall time; the peak RSS in a process of its own);
- pending: memory per pending trampoline whose inner awaits a future that
  never completes, as tasks, less the tasks of the bare inner coroutines
  (RSS in a process of its own).

Implementations: pure Python (the reference of every ratio), this
project's API (the backport, or the interpreter's own on a patched build),
the minimal hand-written ``am_send`` trampoline (tools/floor/_floor.c, the
floor any awaitable type can reach), and the peers: pyawaitable 2.0.1,
Cython 3.3.1 ``async def``, PyO3 0.30.1 ``async fn`` with
pyo3-async-runtimes.  A peer that did not build, or has no counterpart of
a scenario, is reported as such.

The machines are noisy and their speed drifts within seconds, so cases
run interleaved, ``--repeat`` rounds of every case, and each ratio is the
median over the rounds of that round's ratio: both sides of a ratio are
timed within milliseconds of each other.  ``--callgrind`` instead counts
instructions per await under valgrind, which has no noise at all.
"""

import argparse
import asyncio
import gc
import importlib.util
import json
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from build import build  # noqa: E402

import bench_report  # noqa: E402

# The bench extensions: built (once, then stamp-cached) beside the test
# extension, like it against pyawaitable.h.
EXT_DIR = pathlib.Path(os.environ.get("PYAWAITABLE_BENCH_EXT")
                       or tempfile.gettempdir() + "/pyawaitable-bench-ext")
for _name in ("_floor", "_bench"):
    build(_name, EXT_DIR, HERE / "floor" / f"{_name}.c")
sys.path.insert(0, str(EXT_DIR))
import _bench  # noqa: E402
import _floor  # noqa: E402

# Without the backport, the interpreter is a patched one: the API is its own.
OURS = ("PyAwaitable backport" if importlib.util.find_spec("pyawaitable_backport")
        else "PyAwaitable core")


async def inner():
    return 1


async def inner_sleep():
    await asyncio.sleep(0)
    return 1


async def py_value(value):
    return value


async def py_trampoline(coro):
    return await coro


async def py_chain10(f):
    await f()
    await f()
    await f()
    await f()
    await f()
    await f()
    await f()
    await f()
    await f()
    return await f()


# Scenario: (statement awaited per iteration, its `inner`, n divisor).
# The per-iteration statement is compiled into a loop of its own for each
# case: a shared loop calling a function per iteration would add that call
# to every timing.
SCENARIOS = {
    "noawait": ("await f(1)", None, 1),
    "trampoline": ("await f(inner())", inner, 1),
    "sleep": ("await f(inner())", inner_sleep, 10),
    "chain10": ("await f(inner)", inner, 10),
    "meth_async": ("await f(1)", None, 1),
}
# Baselines for the overhead ratios: the loop without the layer under test.
BASELINES = {
    "noawait": "pass",
    "trampoline": "await inner()",
}
HOT_PATHS = ["noawait", "trampoline", "chain10", "meth_async"]

TEMPLATE = """\
def make(f, inner, perf_counter):
    async def body(n):
        start = perf_counter()
        for _ in range(n):
            {stmt}
        return perf_counter() - start
    return body
"""

NO_METH_ASYNC = "no METH_ASYNC: its async functions are the no-await row"


def peer_modules(peers_dir):
    """{peer: module or reason it is missing}, from tools/peers/build.py."""
    if peers_dir is None:
        return {name: "skipped (--no-peers)" for name in bench_report.PEERS}
    status = json.loads((peers_dir / "status.json").read_text())
    sys.path.insert(0, str(peers_dir))
    found = {}
    for name in bench_report.PEERS:
        entry = status.get(name, {"built": False, "reason": "not built"})
        if not entry["built"]:
            found[name] = "build failed: " + entry["reason"]
            continue
        try:
            found[name] = __import__(f"_peer_{name}")
        except ImportError as exc:
            found[name] = f"import failed: {exc}"
    return found


def implementations(peers):
    """{impl: {scenario: f or reason it is n/a}}, pure Python first."""
    impls = {
        "python": {"noawait": py_value, "trampoline": py_trampoline,
                   "sleep": py_trampoline, "chain10": py_chain10,
                   "meth_async": py_value},
        "ours": {"noawait": _bench.value, "trampoline": _bench.trampoline,
                 "sleep": _bench.trampoline, "chain10": _bench.chain10,
                 "meth_async": _bench.echo},
        "floor": {"noawait": "a trampoline only",
                  "trampoline": _floor.trampoline,
                  "sleep": _floor.trampoline,
                  "chain10": "a trampoline only",
                  "meth_async": "a trampoline only",
                  # Not a coroutine (no send/throw/close): no task.
                  "tasks": "not a coroutine, cannot be a task"},
    }
    for name, module in peers.items():
        if isinstance(module, str):
            impls[name] = {scenario: module for scenario in SCENARIOS}
            impls[name]["tasks"] = module
            continue
        impls[name] = {"noawait": module.value,
                       "trampoline": module.trampoline,
                       "sleep": module.trampoline,
                       "chain10": module.chain10,
                       "meth_async": NO_METH_ASYNC}
    for funcs in impls.values():
        funcs.setdefault("tasks", funcs["sleep"])
    return impls


# PyO3 schedules every awaited coroutine as an asyncio Task: two orders of
# magnitude slower, so it runs fewer iterations to keep the rounds short.
SLOW = {("pyo3", "trampoline"): 50, ("pyo3", "sleep"): 5,
        ("pyo3", "chain10"): 50}


def make_cases(impls, n):
    """[(scenario, impl, body, n)] for every case that exists."""
    cases = []
    for scenario, (stmt, inner_fn, divisor) in SCENARIOS.items():
        for impl, funcs in impls.items():
            f = funcs[scenario]
            if isinstance(f, str):
                continue
            namespace = {}
            exec(TEMPLATE.format(stmt=stmt), namespace)
            body = namespace["make"](f, inner_fn, time.perf_counter)
            count = max(1, n // divisor // SLOW.get((impl, scenario), 1))
            cases.append((scenario, impl, body, count))
        if scenario in BASELINES:
            namespace = {}
            exec(TEMPLATE.format(stmt=BASELINES[scenario]), namespace)
            body = namespace["make"](None, inner, time.perf_counter)
            cases.append((scenario, "baseline", body, n // divisor))
    return cases


async def gather_tasks(f, n):
    start = time.perf_counter()
    create_task = asyncio.get_running_loop().create_task
    await asyncio.gather(*[create_task(f(inner_sleep())) for _ in range(n)])
    return time.perf_counter() - start


def new_loop(kind):
    if kind == "uvloop":
        import uvloop
        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def measure(loop, impls, n, repeat, tasks, task_repeat):
    """Per-round ns per await (per chain for chain10, per batch of tasks
    for tasks): {scenario: {impl: [ns, ...] or error string}}."""
    cases = make_cases(impls, n)
    samples = {}
    for scenario, impl, body, count in cases:  # warm up
        try:
            loop.run_until_complete(body(max(1, count // 10)))
        except Exception as exc:  # reported in the table
            samples.setdefault(scenario, {})[impl] = (
                f"error: {type(exc).__name__}: {exc}")
            continue
        samples.setdefault(scenario, {})[impl] = []
    for _ in range(repeat):
        for scenario, impl, body, count in cases:
            if isinstance(samples[scenario][impl], str):
                continue
            elapsed = loop.run_until_complete(body(count))
            samples[scenario][impl].append(elapsed / count * 1e9)
    task_impls = {impl: funcs["tasks"] for impl, funcs in impls.items()
                  if not isinstance(funcs["tasks"], str)}
    samples["tasks"] = {}
    for impl, f in task_impls.items():  # warm up
        try:
            loop.run_until_complete(gather_tasks(f, tasks // 100))
            samples["tasks"][impl] = []
        except Exception as exc:
            samples["tasks"][impl] = f"error: {type(exc).__name__}: {exc}"
    for _ in range(task_repeat):
        for impl, f in task_impls.items():
            if isinstance(samples["tasks"][impl], str):
                continue
            gc.collect()  # each batch starts from the same heap
            samples["tasks"][impl].append(
                loop.run_until_complete(gather_tasks(f, tasks)) * 1e9)
    return samples


def round_ratio(a, b, base_a=None, base_b=None):
    """Median over rounds of a/b (after subtracting a baseline)."""
    ratios = []
    for i in range(min(len(a), len(b))):
        num = a[i] - (base_a[i] if base_a else 0)
        den = b[i] - (base_b[i] if base_b else 0)
        ratios.append(num / den)
    return statistics.median(ratios)


def summarize(samples, impls):
    """{scenario: {impl: cell}} where a cell is a dict with status "ok"
    (ns median/min, ratio to pure Python) or "n/a"/"error" and a reason."""
    table = {}
    for scenario in [*SCENARIOS, "tasks"]:
        row = table[scenario] = {}
        per_impl = samples.get(scenario, {})
        reference = per_impl.get("python")
        for impl, funcs in impls.items():
            f = funcs[scenario]
            if isinstance(f, str):
                row[impl] = {"status": bench_report.status_of(f), "reason": f}
                continue
            got = per_impl.get(impl)
            if isinstance(got, str):
                row[impl] = {"status": "error", "reason": got}
                continue
            cell = row[impl] = {
                "status": "ok",
                "ns_median": statistics.median(got),
                "ns_min": min(got),
            }
            if isinstance(reference, list):
                cell["ratio"] = round_ratio(got, reference)
                # Unequal iteration counts are fine: both are per await.
            base = per_impl.get("baseline")
            if isinstance(base, list) and isinstance(reference, list):
                cell["overhead_ratio"] = round_ratio(got, reference, base, base)
    return table


# ---- memory, each measurement in a process of its own ----------------------

def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def pending_child(f, n):
    """RSS growth for n tasks each pending in f(inner awaiting a future
    that never completes); f None for the bare inner coroutines."""
    loop = asyncio.get_running_loop()

    async def inner_pending(future):
        return await future

    def spawn(future):
        coro = inner_pending(future)
        return loop.create_task(coro if f is None else f(coro))

    # Warm up on a future of its own: cancelling a task cancels the
    # future it waits for.
    warm_future = loop.create_future()
    warm = [spawn(warm_future) for _ in range(100)]
    await asyncio.sleep(0)
    for task in warm:
        task.cancel()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    del warm, warm_future
    gc.collect()
    never = loop.create_future()
    before = rss_bytes()
    tasks = [spawn(never) for _ in range(n)]
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # PyO3's inner task starts one step later
    after = rss_bytes()
    if any(task.done() for task in tasks):
        raise RuntimeError("a pending awaitable finished")
    return after - before


def peak_rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def peak_child(loop, f, n):
    """Peak RSS growth while n tasks of f(inner_sleep()) are gathered.
    VmHWM, not ru_maxrss: a child's ru_maxrss starts at its parent's RSS
    at fork time."""
    loop.run_until_complete(gather_tasks(f, 100))
    gc.collect()
    before = rss_bytes()
    with open("/proc/self/clear_refs", "w") as f_refs:
        f_refs.write("5")  # reset the high-water mark to the current RSS
    loop.run_until_complete(gather_tasks(f, n))
    return peak_rss_bytes() - before


def child(args):
    """--child KIND IMPL: print one memory measurement (bytes)."""
    kind, impl = args.child
    peers = peer_modules(args.peers)
    f = None if impl == "none" else implementations(peers)[impl]["tasks"]
    loop = new_loop(args.loop[0])
    if kind == "pending":
        result = loop.run_until_complete(pending_child(f, args.pending))
    else:
        result = peak_child(loop, f, args.tasks)
    print(json.dumps(result))
    sys.stdout.flush()
    os._exit(0)  # tearing down 100,000 tasks is not part of any measurement


def run_child(args, loop_kind, kind, impl):
    cmd = [sys.executable, __file__, "--child", kind, impl,
           "--loop", loop_kind, "--tasks", str(args.tasks),
           "--pending", str(args.pending)]
    if args.peers:
        cmd += ["--peers", str(args.peers)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"error: {last}"
    return json.loads(done.stdout)


def measure_memory(args, loop_kind, impls, table):
    """Add the tasks_peak and pending rows to table (median of runs)."""
    for kind in ("tasks_peak", "pending"):
        runs = args.memory_runs
        baseline = None
        if kind == "pending":
            values = [run_child(args, loop_kind, "pending", "none")
                      for _ in range(runs)]
            baseline = statistics.median(values) if all(
                isinstance(v, int) for v in values) else None
        got = {}
        for impl, funcs in impls.items():
            if isinstance(funcs["tasks"], str):
                got[impl] = funcs["tasks"]
                continue
            values = [run_child(args, loop_kind,
                                "peak" if kind == "tasks_peak" else "pending",
                                impl) for _ in range(runs)]
            errors = [v for v in values if isinstance(v, str)]
            if errors:
                got[impl] = errors[0]
                continue
            value = statistics.median(values)
            if kind == "pending":
                if baseline is None:
                    got[impl] = "error: no baseline"
                    continue
                value = (value - baseline) / args.pending
            got[impl] = value
        row = table[kind] = {}
        reference = got.get("python")
        for impl, value in got.items():
            if isinstance(value, str):
                row[impl] = {"status": bench_report.status_of(value),
                             "reason": value}
                continue
            row[impl] = {"status": "ok", "bytes": value}
            if isinstance(reference, (int, float)) and reference > 0:
                row[impl]["ratio"] = value / reference


# ---- callgrind ---------------------------------------------------------------

def callgrind_child(args):
    """Under valgrind: every hot-path case with n and with 0 iterations,
    each between a zeroing and a dump of callgrind's counters."""
    peers = peer_modules(args.peers)
    impls = implementations(peers)
    loop = new_loop("asyncio")
    for scenario, impl, body, count in make_cases(impls, args.n):
        if scenario not in HOT_PATHS or impl == "baseline":
            continue
        try:
            loop.run_until_complete(body(200))  # warm up (specialize)
        except Exception:
            continue
        for iterations in (0, args.n):
            _bench.callgrind_zero()
            loop.run_until_complete(body(iterations))
            _bench.callgrind_dump(f"{scenario}/{impl}/{iterations}")


def callgrind(args):
    """Instructions per await of each hot-path case, from valgrind."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = ["valgrind", "--tool=callgrind", "--dump-instr=no",
               f"--callgrind-out-file={tmp}/cg.%p",
               sys.executable, __file__, "--callgrind-child", "-n", str(args.n)]
        if args.peers:
            cmd += ["--peers", str(args.peers)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        counts = {}
        for path in pathlib.Path(tmp).iterdir():
            text = path.read_text(errors="replace")
            label = re.search(r"^desc: Trigger: Client Request: (\S+)$",
                              text, re.M)
            total = re.search(r"^(?:totals|summary): (\d+)", text, re.M)
            if label and total:
                counts[label.group(1)] = int(total.group(1))
    table = {}
    for label in counts:
        scenario, impl, iterations = label.rsplit("/", 2)
        if iterations == "0":
            continue
        base = counts.get(f"{scenario}/{impl}/0")
        if base is None:
            continue
        table.setdefault(scenario, {})[impl] = (
            (counts[label] - base) / int(iterations))
    for row in table.values():
        reference = row.get("python")
        for impl, value in list(row.items()):
            row[impl] = {"instructions": value,
                         "ratio": value / reference if reference else None}
    return table


# ---- main --------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=None,
                        help="awaits per run (fewer where one is slow; "
                        "default 50,000, 2,000 with --callgrind)")
    parser.add_argument("--repeat", type=int, default=41)
    parser.add_argument("--tasks", type=int, default=100_000,
                        help="tasks per batch of the tasks scenario")
    parser.add_argument("--task-repeat", type=int, default=5)
    parser.add_argument("--pending", type=int, default=50_000,
                        help="pending awaitables per memory measurement")
    parser.add_argument("--memory-runs", type=int, default=3)
    parser.add_argument("--loop", action="append",
                        choices=["asyncio", "uvloop"],
                        help="event loop (repeatable; default both)")
    parser.add_argument("--peers", type=pathlib.Path,
                        help="directory of the peers tools/peers/build.py built")
    parser.add_argument("--label", default=None,
                        help="the interpreter's name in the results")
    parser.add_argument("--out", type=pathlib.Path,
                        help="write LABEL.json here")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--callgrind", action="store_true",
                        help="count instructions per await under valgrind")
    parser.add_argument("--callgrind-child", action="store_true",
                        help=argparse.SUPPRESS)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.loop = args.loop or ["asyncio", "uvloop"]
    if args.n is None:
        args.n = 2_000 if args.callgrind or args.callgrind_child else 50_000
    if args.child:
        return child(args)
    if args.callgrind_child:
        return callgrind_child(args)

    label = args.label or sys.version.split()[0]
    peers = peer_modules(args.peers)
    impls = implementations(peers)
    report = {
        "label": label,
        "python": sys.version.split()[0],
        "ours": OURS,
        "peers": {name: getattr(module, "__name__", module)
                  for name, module in peers.items()},
        "peer_versions": bench_report.peer_versions(args.peers),
        "n": args.n, "repeat": args.repeat, "tasks": args.tasks,
        "task_repeat": args.task_repeat, "pending": args.pending,
        "loops": {},
    }
    if args.callgrind:
        report["callgrind"] = callgrind(args)
        if args.n:
            print(bench_report.callgrind_markdown(report))
    else:
        for loop_kind in args.loop:
            loop = new_loop(loop_kind)
            samples = measure(loop, impls, args.n, args.repeat, args.tasks,
                              args.task_repeat)
            loop.close()
            table = summarize(samples, impls)
            measure_memory(args, loop_kind, impls, table)
            report["loops"][loop_kind] = table
        print(bench_report.markdown([report]))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        suffix = "-callgrind" if args.callgrind else ""
        (args.out / f"{label}{suffix}.json").write_text(
            json.dumps(report, indent=1))
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
