"""ns per await of the raw pyo3-ffi example against a pure Python function.

As rust-pyo3's bench: each round drives N awaits of an already finished
coroutine by send(None), no event loop, the variants interleaved; the
fastest round counts (the machine is shared).
"""

import sys
import time

import rust_ffi_example as ex


async def value():
    return 1


async def python_passthrough(coro):
    return await coro


def baseline(coro):
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
        "rust-ffi, captureless closure": ex.passthrough,
        "rust-ffi, capturing closure": lambda coro: ex.scaled(coro, 1),
        "baseline (the coroutine alone)": baseline,
    }
    times = {name: [] for name in variants}
    for _ in range(rounds):
        for name, make in variants.items():
            times[name].append(drive(make, n))
    base = min(times["baseline (the coroutine alone)"])
    python = min(times["python async def"]) - base
    print(f"Python {sys.version.split()[0]}, fastest of {rounds} x {n}")
    for name, samples in times.items():
        best = min(samples)
        extra = "" if name.startswith("baseline") else (
            f"  cost {best - base:6.0f} ns  ({(best - base) / python:.2f}x Python)"
        )
        print(f"  {name:32} {best:6.0f} ns/await{extra}")


if __name__ == "__main__":
    main()
