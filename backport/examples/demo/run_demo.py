"""Await the demo's C functions under asyncio, uvloop and trio.

Each result is checked as well as printed.  uvloop and trio are optional,
unless PYAWAITABLE_REQUIRE_ALL is set (tools/test sets it).
"""

import asyncio
import os

import demo


async def fetch():
    await asyncio.sleep(0.01)
    return 21


async def slow_request():
    async with asyncio.timeout(0.01):
        await asyncio.sleep(1)


async def fast_request():
    await asyncio.sleep(0)


def show(label, result, expected):
    print(f"{label} ->", result)
    assert result == expected, f"{label}: expected {expected!r}"


def missing(name):
    if os.environ.get("PYAWAITABLE_REQUIRE_ALL"):
        raise SystemExit(f"{name} is not installed (PYAWAITABLE_REQUIRE_ALL is set)")
    print(f"{name}: not installed")


async def main():
    show("asyncio: double", await demo.double(fetch), 42)
    show("asyncio: is_reachable(fast)", await demo.is_reachable(fast_request), True)
    if hasattr(asyncio, "timeout"):  # 3.11+
        show("asyncio: is_reachable(slow)", await demo.is_reachable(slow_request), False)


asyncio.run(main())

try:
    import uvloop
except ImportError:
    missing("uvloop")
else:
    loop = uvloop.new_event_loop()
    show("uvloop: double", loop.run_until_complete(demo.double(fetch)), 42)
    loop.close()

try:
    import trio
except ImportError:
    missing("trio")
else:
    async def trio_fetch():
        await trio.sleep(0.01)
        return "trio"
    show("trio: double", trio.run(demo.double, trio_fetch), "triotrio")
