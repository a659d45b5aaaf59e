"""After an error the connection stays usable (issue 12 item 2): a 500 used to close the
keep-alive connection without ``Connection: close``, so the client's next request on it —
possibly for another patient — failed. A real uvicorn on loopback, one HTTP/1.1 connection."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from fastapi import FastAPI

from service.config import Settings
from service.main import create_app

pytestmark = pytest.mark.integration


def _broken() -> None:
    """Stands for any bug not yet found: the catch-all handler must answer for it."""
    raise RuntimeError("patient 123 secret detail")


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    app: FastAPI = create_app(Settings(auth="off"))
    app.add_api_route("/test-only/broken", _broken, methods=["GET"])
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()


def _post(conn: http.client.HTTPConnection, path: str, body: bytes) -> tuple[int, bytes]:
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, response.read()


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/test-only/broken", None, 500),
        ("POST", "/ome", b'{"medications": ', 400),
        ("POST", "/cds-services/no-such-service", b"{}", 404),
        ("GET", "/taper/plan?item=dmd|1|2|unit&start=9999-12-31", None, 400),
    ],
    ids=["internal-error", "malformed-json", "unknown-service", "taper-far-future"],
)
def test_the_connection_answers_the_next_request_after_an_error(
    port: int, method: str, path: str, body: bytes | None, status: int
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
        first = conn.getresponse()
        text = first.read()
        assert first.status == status
        assert json.loads(text)["resourceType"] == "OperationOutcome"
        assert b"patient 123" not in text and b"secret" not in text
        sock_before = conn.sock
        # The same connection, a good request: answered, not reset.
        second, answer = _post(conn, "/ome", json.dumps([]).encode())
        assert conn.sock is sock_before, "the client had to reconnect"
        assert second in (200, 400), answer
        assert json.loads(answer)
    finally:
        conn.close()
