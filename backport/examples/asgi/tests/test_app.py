"""The C application and its Python twin, called directly: they send the
same messages for the same requests."""

import asyncio

import pytest

import casgi
import pyasgi

APPS = [casgi.app, pyasgi.app]


def run(app, scope, incoming):
    """Await app with receive() giving `incoming`; return what it sent."""
    incoming = list(incoming)
    sent = []

    async def receive():
        await asyncio.sleep(0)
        return incoming.pop(0)

    async def send(message):
        await asyncio.sleep(0)
        sent.append(message)

    assert asyncio.run(app(scope, receive, send)) is None
    assert not incoming, "not every message was received"
    return sent


def request(path, method="GET"):
    return {"type": "http", "path": path, "method": method}


def chunk(body, more_body):
    return {"type": "http.request", "body": body, "more_body": more_body}


def test_is_an_async_function():
    assert asyncio.iscoroutinefunction(casgi.app)


@pytest.mark.parametrize("scope", [request("/"), request("/items/7"),
                                   request("/nope"), request("/echo")])
def test_same_responses(scope):
    assert run(casgi.app, scope, []) == run(pyasgi.app, scope, [])


@pytest.mark.parametrize("app", APPS)
def test_echo_streams_each_chunk(app):
    sent = run(app, request("/echo", "POST"),
               [chunk(b"a", True), chunk(b"b", True), chunk(b"c", False)])
    assert sent[0]["type"] == "http.response.start"
    assert [(m["body"], m["more_body"]) for m in sent[1:]] == [
        (b"a", True), (b"b", True), (b"c", False)]


@pytest.mark.parametrize("app", APPS)
def test_echo_stops_on_disconnect(app):
    sent = run(app, request("/echo", "POST"),
               [chunk(b"a", True), {"type": "http.disconnect"}])
    assert [m.get("body") for m in sent] == [None, b"a"]


@pytest.mark.parametrize("app", APPS)
def test_lifespan(app):
    sent = run(app, {"type": "lifespan"},
               [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    assert sent == [{"type": "lifespan.startup.complete"},
                    {"type": "lifespan.shutdown.complete"}]


@pytest.mark.parametrize("app", APPS)
def test_unknown_scope_raises(app):
    with pytest.raises(NotImplementedError, match="websocket"):
        run(app, {"type": "websocket"}, [])


@pytest.mark.parametrize("app", APPS)
def test_error_in_send_propagates(app):
    async def send(message):
        raise ConnectionResetError

    async def receive():
        raise AssertionError("not reached")

    with pytest.raises(ConnectionResetError):
        asyncio.run(app(request("/"), receive, send))


@pytest.mark.parametrize("scope, incoming, error", [
    ({}, [], KeyError),
    ({"type": "http"}, [], KeyError),
    ({"type": "http", "path": b"/"}, [], TypeError),
    (request("/echo", "POST"), [["not", "a", "dict"]], TypeError),
    ([], [], TypeError),
])
def test_c_app_rejects_bad_input(scope, incoming, error):
    with pytest.raises(error):
        run(casgi.app, scope, incoming)


def test_c_app_takes_three_arguments():
    with pytest.raises(TypeError, match="3 arguments"):
        casgi.app({}, None)
