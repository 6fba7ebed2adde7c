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
    rates = {name: [] for name in APPS}
    for round_ in range(1, args.rounds + 1):
        for name, app in APPS.items():
            with serve(app, *options) as (url, _):
                wrk(url + args.path, 1, args.connections)  # warm up
                rate = wrk(url + args.path, args.duration, args.connections)
            rates[name].append(rate)
            print(f"round {round_}: {name}: {rate:,.0f} requests/s", flush=True)
    print(f"\nGET {args.path}, {args.rounds} rounds of {args.duration} s, "
          f"{args.connections} connections, uvicorn {' '.join(options)}:")
    medians = {name: statistics.median(r) for name, r in rates.items()}
    for name, median in medians.items():
        print(f"  {name:16} {median:>10,.0f} requests/s (median; "
              f"{min(rates[name]):,.0f} to {max(rates[name]):,.0f})")
    # Both ran in the same round, so their ratio drifts less than either.
    ratios = [c / py for c, py in zip(*rates.values())]
    print(f"  C / Python: {statistics.median(ratios):.2f}x (median of the "
          f"rounds' ratios; {min(ratios):.2f} to {max(ratios):.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
