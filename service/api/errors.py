"""Errors as HTTP responses: a FHIR OperationOutcome naming what is wrong and where.

Bad input is always 4xx. FastAPI's 422 for an invalid body becomes 400 (CDS Hooks clients
expect 400 for a malformed request). Anything unexpected is a bare 500 that carries no
request data, so no patient identifier or token can leak into a response or a log.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.audit import unread_request
from service.api.deps import current_time, now_dependency
from service.api.trust import check_before_body
from service.cds_hooks.services import SERVICE_HOOKS
from service.errors import NotAuthorised, RequestError

log = logging.getLogger("service.api")

_ISSUE_CODE = {400: "invalid", 401: "login", 404: "not-found", 405: "not-supported",
               412: "processing", 413: "too-costly", 415: "not-supported",
               503: "transient"}  # fmt: skip


class OutcomeIssue(BaseModel):
    """One issue of an error body (documentation only: ``operation_outcome`` builds it)."""

    severity: str = Field(examples=["error"])
    code: str = Field(examples=["processing"])
    diagnostics: str
    expression: list[str] | None = None


class OperationOutcome(BaseModel):
    """Every error body: a FHIR OperationOutcome ([SPEC3] "SHOULD return an OperationOutcome"
    on non-2xx; 2.0.1 defines no error body)."""

    resourceType: str = Field(default="OperationOutcome", examples=["OperationOutcome"])
    issue: list[OutcomeIssue]


_WHY = {
    400: "The request is malformed or breaks the hook's contract; the issue names the field.",
    401: "No valid bearer token (the reason is logged, not returned).",
    404: "No CDS Service with this id.",
    412: "Data the service needs (the current medicines) was neither prefetched nor "
    "obtainable from fhirServer ([SPEC2]: SHALL respond 412); the issue says which and why.",
    413: "The body is larger than the service accepts.",
    503: "The database the reports read cannot be reached now; try again later.",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented error statuses of a route, each with an OperationOutcome body."""
    return {s: {"model": OperationOutcome, "description": _WHY[s]} for s in statuses}


_NOT_AN_OBJECT = frozenset({"model_attributes_type", "model_type", "dict_type"})


def operation_outcome(status: int, issues: list[tuple[str, str | None]]) -> JSONResponse:
    """``issues``: (diagnostics, location) pairs."""
    body: dict[str, Any] = {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": _ISSUE_CODE.get(status, "processing"),
                "diagnostics": diagnostics,
                **({"expression": [location]} if location else {}),
            }
            for diagnostics, location in issues
        ],
    }
    return JSONResponse(status_code=status, content=body)


#: A key the caller made up (an unknown key) is named in the location, but never at length.
_MAX_KEY_CHARS = 64


def _location(loc: tuple[int | str, ...]) -> str | None:
    parts = [
        p if isinstance(p, int) or len(p) <= _MAX_KEY_CHARS else p[:_MAX_KEY_CHARS] + "…"
        for p in loc
        if p != "body"
    ]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or None


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestError)
    async def request_error(_: Request, exc: RequestError) -> JSONResponse:
        log.info("request refused: %s %s", exc.status_code, exc.code)
        response = operation_outcome(exc.status_code, [(exc.message, exc.location)])
        if isinstance(exc, NotAuthorised):
            response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        if any(err.get("type") == "json_invalid" for err in exc.errors()):
            try:  # parsed before the client's token was checked: check it first
                await run_in_threadpool(check_before_body, request)
            except NotAuthorised as refusal:
                return await request_error(request, refusal)
        service_id = request.path_params.get("service_id")
        if service_id is not None and service_id not in SERVICE_HOOKS:
            return operation_outcome(404, [("no CDS Service with this id", None)])
        issues: list[tuple[str, str | None]] = []
        content_type = request.headers.get("content-type", "")
        for err in exc.errors():
            loc = tuple(err.get("loc", ()))
            msg = str(err.get("msg", "invalid"))
            location = _location(loc)
            if err.get("type") == "json_invalid":
                position = loc[-1] if loc and isinstance(loc[-1], int) else "?"
                error = err.get("ctx", {}).get("error", msg)
                msg, location = f"the body is not valid JSON: {error} (character {position})", None
            elif loc == ("body",) and err.get("type") in _NOT_AN_OBJECT:
                msg = "the body must be a JSON object"
                if "json" not in content_type:
                    msg += " sent as Content-Type: application/json"
            elif msg.startswith("Value error, "):
                msg = msg.removeprefix("Value error, ")
            # Never echo the input: it may hold tokens or patient data.
            issues.append((msg, location))
        log.info("request refused: 400 (%d validation issues)", len(issues))
        if service_id is not None and request.url.path.rstrip("/").endswith(f"/{service_id}"):
            # A service call (not feedback) from a trusted caller: audited like every other
            # (issue 13), with what could be read.
            clock = request.app.dependency_overrides.get(now_dependency, current_time)
            row = unread_request(service_id, clock())
            await run_in_threadpool(request.app.state.storage.record_hook_call, row)
        return operation_outcome(400, issues)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return operation_outcome(exc.status_code, [(str(exc.detail), None)])


class CatchAll:
    """Anything unexpected: a bare 500 OperationOutcome, and the connection kept usable.

    Not ``@app.exception_handler(Exception)``: Starlette runs that handler in its outermost
    ServerErrorMiddleware and then re-raises, so uvicorn closed the keep-alive connection
    after the 500 without ``Connection: close`` and the client's next request on it (maybe
    another patient's) failed (issue 12). Added as the outermost user middleware
    (``service.main``), so it sees every error and swallows it once answered.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            # Log the type only: exception messages can quote request content.
            log.error("internal error: %s", type(exc).__name__)
            if started:
                raise  # half a response is out: nothing better can be said
            await operation_outcome(500, [("internal error", None)])(scope, receive, send)
