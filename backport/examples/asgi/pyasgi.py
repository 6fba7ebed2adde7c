"""The ASGI application of casgi.c, written in Python, for comparison.

Run it under any ASGI server: ``uvicorn pyasgi:app``.
"""

HELLO = b"Hello, world!\n"
TEXT_PLAIN = b"text/plain; charset=utf-8"


async def app(scope, receive, send):
    if scope["type"] == "http":
        await http(scope, receive, send)
    elif scope["type"] == "lifespan":
        await lifespan(receive, send)
    else:
        # What the ASGI spec asks of an unknown scope: raise.
        raise NotImplementedError(
            f"unsupported ASGI scope type {scope['type']!r}")


async def http(scope, receive, send):
    path = scope["path"]
    if path == "/":
        await respond(send, 200, HELLO)
    elif path == "/echo":
        if scope["method"] == "POST":
            await echo(receive, send)
        else:
            await respond(send, 405, b"Method Not Allowed\n")
    elif (path.startswith("/items/") and 0 < len(path) - 7 <= 18
            and path[7:].isascii() and path[7:].isdigit()):
        await respond(send, 200, f"item {path[7:]}\n".encode())
    else:
        await respond(send, 404, b"Not Found\n")


async def respond(send, status, body):
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": ((b"content-type", TEXT_PLAIN),
                    (b"content-length", b"%d" % len(body))),
    })
    await send({"type": "http.response.body", "body": body})


async def echo(receive, send):
    """Send the request body straight back, one chunk per chunk."""
    await send({
        "type": "http.response.start",
        "status": 200,
        # No content-length: the server sends the body chunked.
        "headers": ((b"content-type", b"application/octet-stream"),),
    })
    more_body = True
    while more_body:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        more_body = bool(message.get("more_body", False))
        await send({
            "type": "http.response.body",
            "body": message.get("body", b""),
            "more_body": more_body,
        })


async def lifespan(receive, send):
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
