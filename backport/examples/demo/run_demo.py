"""Await the demo's C functions under asyncio, uvloop and trio."""

import asyncio

import demo


async def fetch():
    await asyncio.sleep(0.01)
    return 21


async def slow_request():
    async with asyncio.timeout(0.01):
        await asyncio.sleep(1)


async def fast_request():
    await asyncio.sleep(0)


async def main():
    print("asyncio: double ->", await demo.double(fetch))
    print("asyncio: is_reachable(fast) ->", await demo.is_reachable(fast_request))
    if hasattr(asyncio, "timeout"):  # 3.11+
        print("asyncio: is_reachable(slow) ->", await demo.is_reachable(slow_request))


asyncio.run(main())

try:
    import uvloop
except ImportError:
    print("uvloop: not installed")
else:
    loop = uvloop.new_event_loop()
    print("uvloop: double ->", loop.run_until_complete(demo.double(fetch)))
    loop.close()

try:
    import trio
except ImportError:
    print("trio: not installed")
else:
    async def trio_fetch():
        await trio.sleep(0.01)
        return "trio"
    print("trio: double ->", trio.run(demo.double, trio_fetch))
