"""A small FHIR server on loopback, for the fetch tests: a real HTTP server (uvicorn on a
socket of its own, in a thread), not a mocked transport, so the service's client goes
through connect, timeouts, redirects and status codes as it would with an EHR's server.

It answers reads and type-level searches (``patient``, ``status``, ``encounter``, ``_count``
with ``next`` links) over the resources it is given, and misbehaves on purpose according to
the first path segment of the base URL: ``/ok/fhir``, ``/slow/fhir``, ``/401/fhir``,
``/500/fhir``, ``/redirect/fhir``, ``/malformed/fhir``, ``/garbage/fhir`` (JSON, not
readable FHIR), ``/offsite/fhir`` (next-page links to another host), ``/paged/fhir`` (one
resource per page), ``/nocond/fhir`` (Condition searches fail). Every request is recorded (path and
Authorization header) so tests can check what was sent and that nothing else was contacted.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route


@dataclass
class LoopbackFhir:
    resources: list[dict[str, Any]]
    port: int = 0
    seen: list[tuple[str, str | None]] = field(default_factory=list)

    def base(self, mode: str = "ok") -> str:
        return f"http://127.0.0.1:{self.port}/{mode}/fhir"

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{mode}/fhir/{path:path}", self.handle)])

    async def handle(self, request: Request) -> Response:
        mode = request.path_params["mode"]
        path = request.path_params["path"]
        self.seen.append((request.url.path, request.headers.get("authorization")))
        if mode == "slow":
            await asyncio.sleep(30)
        if mode == "401":
            return JSONResponse({"resourceType": "OperationOutcome"}, status_code=401)
        if mode == "500":
            return PlainTextResponse("down", status_code=500)
        if mode == "redirect":
            return RedirectResponse(f"{self.base('ok')}/{path}?{request.url.query}")
        if mode == "malformed":
            return PlainTextResponse("<html>not FHIR</html>")
        if mode == "offsite" and "/" not in path:
            link = [{"relation": "next", "url": f"http://127.0.0.2:{self.port}/ok/fhir/{path}"}]
            return JSONResponse({"resourceType": "Bundle", "type": "searchset", "link": link})
        if mode == "garbage":
            return JSONResponse({"resourceType": "Bundle", "entry": [{"search": {}}]})
        if mode == "nocond" and path == "Condition":
            return PlainTextResponse("down", status_code=503)
        if "/" in path:
            kind, rid = path.split("/", 1)
            found = [r for r in self.resources if r["resourceType"] == kind and r["id"] == rid]
            if not found:
                return JSONResponse({"resourceType": "OperationOutcome"}, status_code=404)
            return JSONResponse(found[0])
        return JSONResponse(self.search(mode, path, request))

    def search(self, mode: str, kind: str, request: Request) -> dict[str, Any]:
        params = request.query_params
        matches = [r for r in self.resources if r["resourceType"] == kind]
        if "patient" in params:
            own = params["patient"].split("/")[-1]
            matches = [r for r in matches if _ref(r, "subject", "patient") == f"Patient/{own}"]
        if "status" in params:
            matches = [r for r in matches if r.get("status") in params["status"].split(",")]
        if "encounter" in params:
            want = f"Encounter/{params['encounter'].split('/')[-1]}"
            matches = [r for r in matches if _ref(r, "encounter") == want]
        offset = int(params.get("_offset", "0"))
        size = 1 if mode == "paged" else len(matches) or 1
        page = matches[offset : offset + size]
        bundle: dict[str, Any] = {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(matches),
            "entry": [{"resource": r} for r in page],
        }
        if offset + size < len(matches):
            query = {k: v for k, v in params.items() if k != "_offset"}
            query["_offset"] = str(offset + size)
            rest = "&".join(f"{k}={v}" for k, v in query.items())
            bundle["link"] = [{"relation": "next", "url": f"{self.base(mode)}/{kind}?{rest}"}]
        return bundle


def _ref(resource: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = resource.get(key)
        if isinstance(value, dict) and isinstance(value.get("reference"), str):
            return str(value["reference"])
    return None


@contextmanager
def serve(resources: list[dict[str, Any]]) -> Iterator[LoopbackFhir]:
    """Start the server on a free loopback port; stop it on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    fhir = LoopbackFhir(resources, port=sock.getsockname()[1])
    config = uvicorn.Config(
        fhir.app(), log_level="warning", lifespan="off", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield fhir
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        sock.close()
