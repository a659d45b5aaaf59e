"""Fetching what a CDS client did not prefetch, from its ``fhirServer`` ([SPEC2] Prefetch:
"the CDS Service ... fetch[es] anything missing itself"; "Passing the Access Token").

Only from a server on the deployment's allowlist: ``fhirServer`` is chosen by whoever calls
the service, so without an allowlist the service could be made to send requests (and a
bearer token) anywhere. Base URLs are compared after normalising scheme, host, port and
path; ``http`` is accepted only for loopback hosts (a developer's FHIR server), ``https``
otherwise ([SPEC2] "All data exchanged ... MUST be transmitted over HTTPS", the loopback
exception being a developer's own machine). Redirects are never followed: a redirect could
move the token to another host. Searches follow ``next`` links on the same base only, up to
a bounded number of pages and resources; responses are bounded in size.

Every query runs in parallel under one deadline. A failure is returned as a reason in words
(never raised) so the caller decides whether it is fatal (the medicines: 412) or a "not
checked" (everything else). Nothing here logs a URL (it holds patient ids) or the token.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

log = logging.getLogger("service.fhir.client")
# httpx logs every request's URL at INFO, and a FHIR query's URL carries the patient id
# (DEVELOPERS.md, Privacy: never in logs); httpcore's debug trace is no better.
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class FetchLimits:
    timeout_seconds: float = 3.0  # connect and read, per request
    deadline_seconds: float = 5.0  # the whole fetch, every query
    max_pages: int = 5  # per search
    max_resources: int = 2000  # per search
    max_bytes: int = 5_000_000  # per response


@dataclass(frozen=True, slots=True)
class Fetched:
    """One query's outcome: ``value`` is what a client would have prefetched (a Bundle, a
    resource, or ``None`` for a read that found nothing); ``error`` says why there is none."""

    key: str
    value: Any = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class FetchOutcome:
    #: Keys fetched (successfully or not), by key.
    fetched: dict[str, Fetched] = field(default_factory=dict)
    #: Keys not sent and not fetched, with the reason.
    not_fetched: dict[str, str] = field(default_factory=dict)

    def errors(self) -> dict[str, str]:
        """Every key the service could not obtain, with why."""
        failed = {k: f.error for k, f in self.fetched.items() if f.error is not None}
        return {**self.not_fetched, **failed}


def normalise_base(url: str) -> str | None:
    """``scheme://host[:port]/path`` in lower case, default port and trailing slash removed;
    ``None`` for anything that is not a plain http(s) base URL (credentials, a query or a
    fragment included)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host or parts.username or parts.password:
        return None
    if parts.query or parts.fragment:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), "", ""))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def refusal(fhir_server: str, allowlist: tuple[str, ...]) -> str | None:
    """Why the service will not fetch from ``fhir_server``, or ``None`` when it may. The
    reason never quotes the URL (error bodies do not echo the request)."""
    base = normalise_base(fhir_server)
    if base is None:
        return "fhirServer is not an http(s) base URL"
    parts = urlsplit(base)
    if parts.scheme == "http" and not is_loopback(parts.hostname or ""):
        return "fhirServer uses http:// for a host that is not loopback; https:// is required"
    allowed = {b for b in (normalise_base(a) for a in allowlist) if b is not None}
    if base not in allowed:
        return "fhirServer is not on this service's allowlist (OPIOID_CDS_FHIR_SERVER_ALLOWLIST)"
    return None


async def fetch_all(
    fhir_server: str,
    token: str | None,
    queries: Mapping[str, str],
    limits: FetchLimits,
    allowlist: tuple[str, ...],
) -> dict[str, Fetched]:
    """Run each query (relative to ``fhir_server``, e.g. ``Condition?patient=1``) in
    parallel; every key gets a ``Fetched``, within ``limits.deadline_seconds``."""
    reason = refusal(fhir_server, allowlist)
    if reason is not None:
        return {key: Fetched(key, error=reason) for key in queries}
    base = normalise_base(fhir_server)
    assert base is not None  # noqa: S101 - refusal() returned None, so it normalised
    headers = {"Accept": "application/fhir+json, application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    timeout = httpx.Timeout(limits.timeout_seconds)
    started = time.monotonic()
    # trust_env=False: no proxy or netrc from the environment may see the token or reroute.
    async with httpx.AsyncClient(
        headers=headers, timeout=timeout, follow_redirects=False, trust_env=False
    ) as client:
        tasks = {
            key: asyncio.create_task(_one(client, base, key, query, limits))
            for key, query in queries.items()
        }
        done, pending = await asyncio.wait(tasks.values(), timeout=limits.deadline_seconds)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
    out: dict[str, Fetched] = {}
    for key, task in tasks.items():
        if task not in done or task.cancelled():
            late = f"the FHIR server did not answer within {limits.deadline_seconds:g} s"
            out[key] = Fetched(key, error=late)
        elif task.exception() is not None:
            # Not expected (every HTTP error is caught): kept out of the response, typed only.
            log.error("fhir fetch error: %s", type(task.exception()).__name__)
            out[key] = Fetched(key, error="the fetch from the FHIR server failed")
        else:
            out[key] = task.result()
    elapsed_ms = (time.monotonic() - started) * 1000
    failed = sum(1 for f in out.values() if f.error)
    log.info("fhir fetch queries=%d failed=%d ms=%.0f", len(out), failed, elapsed_ms)
    return out


async def _one(
    client: httpx.AsyncClient, base: str, key: str, query: str, limits: FetchLimits
) -> Fetched:
    is_read = "?" not in query and query.count("/") == 1
    url = f"{base}/{query}"
    entries: list[Any] = []
    bundle: dict[str, Any] | None = None
    for _page in range(limits.max_pages):
        value, error = await _get(client, url, limits)
        if error is not None:
            if is_read and error == "404":
                return Fetched(key, None)  # a read that found nothing: no data ([SPEC2] null)
            return Fetched(key, error=_describe(error))
        if is_read or not isinstance(value, dict) or value.get("resourceType") != "Bundle":
            return Fetched(key, value)  # a resource (an OperationOutcome is the builder's)
        if bundle is None:
            bundle = {k: v for k, v in value.items() if k not in ("entry", "link")}
        page = value.get("entry") or []
        # One entry sent as an object is read as that entry (the builder is lenient alike).
        entries += page if isinstance(page, list) else [page]
        next_url = _next_link(value)
        if len(entries) >= limits.max_resources:
            entries = entries[: limits.max_resources]
            break
        if next_url is None:
            return Fetched(key, {**bundle, "entry": entries})
        if not _same_base(next_url, base):
            return Fetched(key, error="the FHIR server's next-page link points to another server")
        url = next_url
    # Stopped at a bound with more to read: keep a ``next`` link so the record says the list
    # may be incomplete (patient_record: PAGINATED) rather than presenting it as whole.
    assert bundle is not None  # noqa: S101 - the loop ran at least once and read a Bundle
    return Fetched(key, {**bundle, "entry": entries, "link": [{"relation": "next", "url": ""}]})


async def _get(client: httpx.AsyncClient, url: str, limits: FetchLimits) -> tuple[Any, str | None]:
    try:
        async with client.stream("GET", url) as response:
            if response.is_redirect:
                return None, "redirect"
            if response.status_code != 200:
                return None, str(response.status_code)
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > limits.max_bytes:
                    return None, "too-large"
    except httpx.TimeoutException:
        return None, "timeout"
    except httpx.HTTPError:
        return None, "unreachable"
    try:
        return json.loads(body), None
    except ValueError:
        return None, "malformed"


def _describe(error: str) -> str:
    if error in ("401", "403"):
        return f"the FHIR server refused access (HTTP {error}); check the fhirAuthorization token"
    if error.isdigit():
        return f"the FHIR server answered HTTP {error}"
    return {
        "redirect": "the FHIR server answered with a redirect, which is never followed",
        "timeout": "the FHIR server did not answer in time",
        "unreachable": "the FHIR server could not be reached",
        "too-large": "the FHIR server's answer was larger than this service accepts",
        "malformed": "the FHIR server's answer was not JSON",
    }.get(error, error)


def _next_link(bundle: dict[str, Any]) -> str | None:
    for link in bundle.get("link") or ():
        if isinstance(link, dict) and link.get("relation") == "next":
            url = link.get("url")
            return url if isinstance(url, str) and url else None
    return None


def _same_base(url: str, base: str) -> bool:
    """A next-page link stays on the allowlisted server (same scheme, host, port and base
    path): following it sends the token."""
    parts = urlsplit(url)
    root = normalise_base(urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")))
    return root is not None and (root == base or root.startswith(base + "/"))
