"""The C application (casgi) and its Python twin (pyasgi) answer real HTTP
requests under uvicorn, with both of its HTTP implementations."""

import time

import httpx
import pytest

from uvicorn_server import serve

APPS = ["casgi:app", "pyasgi:app"]
HTTP = ["httptools", "h11"]


@pytest.fixture(scope="module", params=[(app, http) for app in APPS for http in HTTP],
                ids=lambda p: f"{p[0].split(':')[0]}-{p[1]}")
def server(request):
    app, http = request.param
    with serve(app, "--http", http) as running:
        with httpx.Client(base_url=running.url, timeout=10) as client:
            yield client
    returncode, output = running.returncode, running.output
    # The application answered the lifespan protocol, and shut down cleanly.
    assert "Application startup complete." in output, output
    assert "Application shutdown complete." in output, output
    assert "Traceback" not in output, output
    assert returncode == 0, output


def test_hello(server):
    response = server.get("/")
    assert response.status_code == 200
    assert response.content == b"Hello, world!\n"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-length"] == "14"


@pytest.mark.parametrize("n", ["0", "42", "123456789012345678"])
def test_item(server, n):
    response = server.get(f"/items/{n}")
    assert response.status_code == 200
    assert response.text == f"item {n}\n"


@pytest.mark.parametrize("path", ["/nope", "/items/", "/items/4x", "/items/-1",
                                  "/items/1234567890123456789", "/hello/"])
def test_not_found(server, path):
    response = server.get(path)
    assert response.status_code == 404
    assert response.text == "Not Found\n"


def test_echo_needs_post(server):
    response = server.get("/echo")
    assert response.status_code == 405


def test_echo_body(server):
    response = server.post("/echo", content=b"ping")
    assert response.status_code == 200
    assert response.content == b"ping"
    assert response.headers["content-type"] == "application/octet-stream"


def test_echo_empty(server):
    response = server.post("/echo", content=b"")
    assert response.status_code == 200
    assert response.content == b""


def test_echo_streamed(server):
    # A generator makes httpx send the body chunked, and the pauses make
    # the server deliver it as several http.request messages with
    # more_body: the application echoes each as it comes.
    chunks = [b"first,", b"second,", b"x" * 100_000, b"last"]

    def body():
        for chunk in chunks:
            yield chunk
            time.sleep(0.02)

    with server.stream("POST", "/echo", content=body()) as response:
        assert response.status_code == 200
        assert response.headers["transfer-encoding"] == "chunked"
        received = b"".join(response.iter_bytes())
    assert received == b"".join(chunks)


def test_many_requests_on_one_connection(server):
    for i in range(200):
        assert server.get(f"/items/{i}").text == f"item {i}\n"
