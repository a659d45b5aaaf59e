"""Who may call the CDS Services: a FastAPI dependency checking the client's JWT (issue 12;
[SPEC2] "Trusting CDS Clients"; docs/adr/0008-client-trust.md).

Service calls and feedback need ``Authorization: Bearer <JWT>`` signed by a trusted issuer,
whose ``aud`` is the exact URL called: the configured public base URL
(``OPIOID_CDS_PUBLIC_BASE_URL``, never the ``Host`` header, which a proxy or a caller may
change) followed by the path. Discovery is open unless ``OPIOID_CDS_DISCOVERY_REQUIRES_AUTH``.
With ``OPIOID_CDS_AUTH=off`` (development only) nothing is checked.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer
from starlette.concurrency import run_in_threadpool

from service.api.deps import NowDep, SettingsDep, current_time, now_dependency
from service.auth import ClientVerifier, VerifiedClient
from service.config import Settings

# Documents the scheme in the OpenAPI document; the header itself is read and checked below
# (auto_error=False: a missing header must be our vague 401, not FastAPI's 403).
_bearer = HTTPBearer(
    auto_error=False,
    bearerFormat="JWT",
    scheme_name="cdsClientJwt",
    description="CDS Hooks 2.0 client JWT (ES384 or RS384) whose aud is the URL called.",
)


def _verify(request: Request, settings: SettingsDep, now: NowDep) -> VerifiedClient | None:
    if settings.auth == "off":
        return None
    verifier: ClientVerifier = request.app.state.client_verifier
    audience = settings.public_base_url.rstrip("/") + request.url.path
    return verifier.verify(request.headers.get("authorization"), audience, now.timestamp())


async def require_client(
    request: Request,
    settings: SettingsDep,
    now: NowDep,
    _: Annotated[object, Depends(_bearer)] = None,
) -> VerifiedClient | None:
    """A service call or feedback: a valid client JWT (unless auth is off). The client's
    identity (its ``tenant`` claim when sent, else its issuer) goes on the request for the
    audit, where it outranks the organisation a request names (docs/storage.md).

    Async, so that with auth off no thread hop is paid (issue 14); the check itself runs in
    the thread pool, as a ``jku`` issuer's keys may be fetched over the network."""
    if settings.auth == "off":
        return None
    client = await run_in_threadpool(_verify, request, settings, now)
    if client is not None:
        request.state.client_id = client.tenant or client.iss
    return client


async def require_client_for_discovery(
    request: Request,
    settings: SettingsDep,
    now: NowDep,
) -> VerifiedClient | None:
    """Discovery: open unless the deployment closes it."""
    if not settings.discovery_requires_auth:
        return None
    return await run_in_threadpool(_verify, request, settings, now)


ClientDep = Depends(require_client)
DiscoveryClientDep = Depends(require_client_for_discovery)


def check_before_body(request: Request) -> None:
    """FastAPI parses the JSON body before any dependency runs, so malformed JSON was a 400
    to a caller with no token. The validation error handler calls this for that case only
    (the dependency has not run): a protected route still answers 401 first."""
    dependant = getattr(request.scope.get("route"), "dependant", None)
    calls = {d.call for d in getattr(dependant, "dependencies", ())}
    settings: Settings = request.app.state.settings
    if require_client in calls or (
        require_client_for_discovery in calls and settings.discovery_requires_auth
    ):
        clock = request.app.dependency_overrides.get(now_dependency, current_time)
        _verify(request, settings, clock())
