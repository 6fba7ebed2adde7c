"""Per-await cost of PyAwaitable against pure-Python ``async def``.

Run by tools/bench with a venv where the backport and _testawaitable are
importable.  Every case is an ``await`` in a loop inside one coroutine,
driven by ``send(None)`` with no event loop, so only the awaiting is timed.

The METH_ASYNC case calls and awaits a METH_O | METH_ASYNC function that
returns its argument, against ``async def f(x): return x``.

Two ratios per case, both from the same run:

- total: time of the C case / time of the pure-Python case;
- overhead: the same after subtracting the baseline (the loop awaiting
  ``inner()`` directly), i.e. the cost of the extra layer alone.

The machines are noisy and their speed drifts within seconds, so cases
run interleaved, ``--repeat`` rounds of every case, and each ratio is the
median over the rounds of that round's ratio: both sides of a ratio are
timed within milliseconds of each other.
"""

import argparse
import json
import pathlib
import statistics
import sys
import time

import _testasync
import _testawaitable as ext

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from build import build  # noqa: E402

# The reference point: a minimal hand-written am_send trampoline.
# Built (once, then stamp-cached) beside the test extension.
sys.path.insert(0, str(build("_floor", pathlib.Path(ext.__file__).parent,
                             HERE / "floor" / "_floor.c")))
import _floor  # noqa: E402


async def inner():
    return 1


async def py_trampoline(coro):
    return await coro


async def py_value(value):
    return value


# One loop function per case, written out: a shared loop calling a function
# per iteration would add that call to every timing.

def loop_direct(n):
    async def body():
        for _ in range(n):
            await inner()
    return body()


def loop_py_trampoline(n):
    async def body():
        for _ in range(n):
            await py_trampoline(inner())
    return body()


def loop_ext_trampoline(n):
    trampoline = ext.trampoline

    async def body():
        for _ in range(n):
            await trampoline(inner())
    return body()


def loop_floor_trampoline(n):
    trampoline = _floor.trampoline

    async def body():
        for _ in range(n):
            await trampoline(inner())
    return body()


def loop_nothing(n):
    async def body():
        for _ in range(n):
            pass
    return body()


def loop_py_value(n):
    async def body():
        for _ in range(n):
            await py_value(1)
    return body()


def loop_ext_value(n):
    value = ext.value

    async def body():
        for _ in range(n):
            await value(1)
    return body()


def loop_meth_async(n):
    echo = _testasync.echo  # METH_O | METH_ASYNC, returns its argument

    async def body():
        for _ in range(n):
            await echo(1)
    return body()


CASES = {
    "direct": loop_direct,
    "py_trampoline": loop_py_trampoline,
    "ext_trampoline": loop_ext_trampoline,
    "floor_trampoline": loop_floor_trampoline,
    "nothing": loop_nothing,
    "py_value": loop_py_value,
    "ext_value": loop_ext_value,
    "meth_async": loop_meth_async,
}


def time_case(make, n):
    coro = make(n)
    start = time.perf_counter()
    try:
        coro.send(None)
    except StopIteration:
        pass
    return time.perf_counter() - start


def measure(n, repeat):
    """Per-round ns per await for every case: {name: [ns, ...]}."""
    samples = {name: [] for name in CASES}
    for name, make in CASES.items():  # warm up
        time_case(make, n // 10)
    for _ in range(repeat):
        for name, make in CASES.items():
            samples[name].append(time_case(make, n) / n * 1e9)
    return samples


def ratio(samples, case, base, baseline=None):
    """Median over rounds of case/base, after subtracting baseline."""
    def cost(name, i):
        return samples[name][i] - (samples[baseline][i] if baseline else 0)
    rounds = range(len(samples[case]))
    return statistics.median(cost(case, i) / cost(base, i) for i in rounds)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50_000, help="awaits per run")
    parser.add_argument("--repeat", type=int, default=41)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    samples = measure(args.n, args.repeat)
    ns = {name: statistics.median(s) for name, s in samples.items()}
    report = {
        "python": sys.version.split()[0],
        "ns_per_await": ns,
        "trampoline_total": ratio(samples, "ext_trampoline", "py_trampoline"),
        "trampoline_overhead": ratio(
            samples, "ext_trampoline", "py_trampoline", baseline="direct"),
        "floor_total": ratio(samples, "floor_trampoline", "py_trampoline"),
        "value_total": ratio(samples, "ext_value", "py_value"),
        "value_overhead": ratio(
            samples, "ext_value", "py_value", baseline="nothing"),
        "meth_async_total": ratio(samples, "meth_async", "py_value"),
    }
    if args.json:
        print(json.dumps(report))
        return
    print(f"CPython {report['python']}: median ns per await "
          f"(n={args.n}, repeat={args.repeat})")
    for name, value in ns.items():
        print(f"  {name:16} {value:8.1f}")
    print(f"  trampoline  PyAwaitable / async def: "
          f"{report['trampoline_total']:.2f}x total, "
          f"{report['trampoline_overhead']:.2f}x overhead")
    print(f"  trampoline  minimal am_send / async def: "
          f"{report['floor_total']:.2f}x total (the floor)")
    print(f"  no-await    PyAwaitable / async def: "
          f"{report['value_total']:.2f}x total, "
          f"{report['value_overhead']:.2f}x overhead")
    print(f"  METH_ASYNC  await echo(x) / await f(x) (async def): "
          f"{report['meth_async_total']:.2f}x total")


if __name__ == "__main__":
    main()
