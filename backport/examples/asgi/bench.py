"""Requests per second of the C and the Python ASGI application.

Each application runs under uvicorn (one worker, httptools and uvloop,
loopback only) and wrk loads it for a fixed time; the two alternate for
several rounds, since the machine's speed drifts, and the medians are
printed, with the median of the per-round ratios.  Needs wrk (Debian's package) on PATH and the casgi project
installed; tools/bench-asgi does both.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tests"))

from uvicorn_server import serve  # noqa: E402

APPS = {"C (casgi)": "casgi:app", "Python (pyasgi)": "pyasgi:app"}


def wrk(url, duration, connections):
    """Requests per second that wrk measured against url."""
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", url],
        check=True, capture_output=True, text=True, timeout=duration + 30,
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*", out)
    if errors:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def cpu_seconds(pid):
    """User and system CPU time that process pid has used (Linux)."""
    with open(f"/proc/{pid}/stat") as f:
        # The fields after the command name, which is in parentheses.
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def time_direct(path, calls=20_000, rounds=7):
    """Median nanoseconds per `await app(scope, receive, send)` of each app,
    called directly in one event loop: the application's own cost, which
    the server's work hides in the requests per second."""
    import asyncio
    import importlib

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        pass

    scope = {"type": "http", "path": path, "method": "GET"}

    async def per_call(app):
        start = time.perf_counter()
        for _ in range(calls):
            await app(scope, receive, send)
        return (time.perf_counter() - start) / calls * 1e9

    async def measure():
        apps = {name: getattr(importlib.import_module(spec.split(":")[0]),
                              spec.split(":")[1])
                for name, spec in APPS.items()}
        times = {name: [] for name in apps}
        for _ in range(rounds):
            for name, app in apps.items():
                times[name].append(await per_call(app))
        return {name: statistics.median(t) for name, t in times.items()}

    return asyncio.run(measure())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5,
                        help="seconds of load per application per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--path", default="/", help="the route to load")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed (apt-get install wrk)")

    options = ["--http", "httptools", "--loop", "uvloop", "--workers", "1",
               "--log-level", "warning"]
    print(f"the application alone, GET {args.path} called directly:")
    for name, ns in time_direct(args.path).items():
        print(f"  {name:16} {ns:>8,.0f} ns per request")
    print(flush=True)

    # Requests per second depend on how much CPU the machine leaves the
    # server; requests per second of the server's own CPU time do not, so
    # both are measured.
    rates = {name: [] for name in APPS}
    per_cpu = {name: [] for name in APPS}
    for round_ in range(1, args.rounds + 1):
        for name, app in APPS.items():
            with serve(app, *options) as server:
                wrk(server.url + args.path, 1, args.connections)  # warm up
                cpu = cpu_seconds(server.pid)
                rate = wrk(server.url + args.path, args.duration, args.connections)
                cpu = cpu_seconds(server.pid) - cpu
            rates[name].append(rate)
            per_cpu[name].append(rate * args.duration / cpu)
            print(f"round {round_}: {name}: {rate:,.0f} requests/s, "
                  f"{per_cpu[name][-1]:,.0f} per CPU second", flush=True)
    print(f"\nGET {args.path}, {args.rounds} rounds of {args.duration} s, "
          f"{args.connections} connections, uvicorn {' '.join(options)}:")
    for label, results in (("requests/s", rates),
                           ("requests per CPU second of the server", per_cpu)):
        print(f"{label} (median, range):")
        for name, values in results.items():
            print(f"  {name:16} {statistics.median(values):>10,.0f} "
                  f"({min(values):,.0f} to {max(values):,.0f})")
        # Both ran in the same round: their ratio drifts less than either.
        ratios = [c / py for c, py in zip(*results.values())]
        print(f"  C / Python: {statistics.median(ratios):.2f}x (median of the "
              f"rounds' ratios; {min(ratios):.2f} to {max(ratios):.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
