"""Run an ASGI application under the real uvicorn, on loopback."""

import contextlib
import signal
import socket
import subprocess
import sys
import time

import httpx


class Server:
    def __init__(self, url, pid):
        self.url = url
        self.pid = pid
        self.returncode = None
        self.output = None


@contextlib.contextmanager
def serve(app, *options, timeout=30):
    """Serve app ("module:attribute") with uvicorn in a subprocess.

    Yields a Server: its url and pid at once, its returncode and output
    once it has stopped.
    """
    # A free port, given back to uvicorn (its --fd takes any socket for a
    # Unix socket and leaves Nagle's algorithm on, which costs 40 ms per
    # keep-alive response).
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        host, port = sock.getsockname()
    # uvicorn guesses the interface from app.__call__, which for a builtin
    # (like the C app) is not a coroutine function: it would take it for
    # an ASGI 2 app.  Both apps are ASGI 3.
    command = [sys.executable, "-m", "uvicorn", app, "--interface", "asgi3",
               "--host", host, "--port", str(port), "--lifespan", "on",
               "--no-access-log", *options]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    server = Server(f"http://{host}:{port}", proc.pid)
    ready = False
    try:
        ready = _wait_until_ready(proc, server.url, timeout)
        if ready:
            yield server
    finally:
        # SIGINT is uvicorn's graceful shutdown: lifespan.shutdown, exit 0.
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            output, _ = proc.communicate()
        server.returncode = proc.returncode
        server.output = output
    if not ready:
        raise RuntimeError(f"uvicorn did not start:\n{output}")


def _wait_until_ready(proc, url, timeout):
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url + "/", timeout=1)
            return True
        except httpx.TransportError:
            if proc.poll() is not None or time.monotonic() > deadline:
                return False
            time.sleep(0.05)
