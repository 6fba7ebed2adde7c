"""ns per await: the Rust API's trampoline against a pure Python one.

Each round drives N awaits of an already-finished coroutine by send(None)
(no event loop), interleaving the variants; prints the fastest round's
ns per await (the machine is shared: the median is noisy).
"""

import statistics
import sys
import time

import rust_pyo3_example as ex


async def value():
    return 1


async def python_passthrough(coro):
    return await coro


def identity(coro):
    return coro


def drive(make, n):
    start = time.perf_counter_ns()
    for _ in range(n):
        try:
            make(value()).send(None)
        except StopIteration:
            pass
    return (time.perf_counter_ns() - start) / n


def main(n=10000, rounds=40):
    variants = {
        "python async def": python_passthrough,
        "rust, captureless closure": ex.passthrough,
        "rust, capturing closure": ex.passthrough_capturing,
        "baseline (the coroutine alone)": identity,
    }
    times = {name: [] for name in variants}
    for _ in range(rounds):
        for name, make in variants.items():
            times[name].append(drive(make, n))
    # The fastest round: the least disturbed by other processes.
    base = min(times["baseline (the coroutine alone)"])
    py = min(times["python async def"]) - base
    print(f"Python {sys.version.split()[0]}, fastest of {rounds} x {n}")
    for name, ts in times.items():
        med = min(ts)
        extra = "" if name.startswith("baseline") else \
            f"  trampoline {med - base:6.0f} ns  ({(med - base) / py:.2f}x Python)"
        print(f"  {name:32} {med:6.0f} ns/await{extra}")


if __name__ == "__main__":
    main()
