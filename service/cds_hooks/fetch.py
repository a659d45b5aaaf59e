"""What a hook call did not prefetch, fetched from its ``fhirServer`` ([SPEC2] Prefetch: the
service checks the prefetch against its own templates and fetches what is missing).

The queries are the service's own prefetch templates (``services.py``) for the keys the
client left out — a key that is present, even ``null`` or an OperationOutcome, was answered
by the client and is not fetched again. Their ``{{context.…}}`` tokens are filled from the
request's context; a token whose value is missing or not a plain FHIR id leaves that key
unfetched (as the sandbox skips a template it cannot fill), so nothing a caller sends can
change the path or query beyond one id. The HTTP side is ``service.fhir.client``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from service.cds_hooks.hook_input import check_context
from service.cds_hooks.models import HookRequest
from service.cds_hooks.services import PREFETCH_FOR_HOOK
from service.config import Settings
from service.fhir.client import FetchLimits, FetchOutcome, fetch_all, refusal

_TOKEN = re.compile(r"\{\{\s*context\.([A-Za-z]+)\s*\}\}")
#: A FHIR id ([0-9A-Za-z.-]{1,64}), optionally as ``Type/id`` (some clients send patientId
#: so). Anything else in a token is refused: it would be spliced into a URL.
_ID = re.compile(r"^(?:[A-Z][A-Za-z]+/)?[A-Za-z0-9.\-]{1,64}$")


def fill(template: str, context: dict[str, Any]) -> str | None:
    """The template with its context tokens filled, or ``None`` if one cannot be."""
    values: list[str] = []
    for name in _TOKEN.findall(template):
        value = context.get(name)
        if not isinstance(value, str) or not _ID.match(value) or ".." in value:
            return None
        values.append(value)
    it = iter(values)
    if "?" in template:
        return _TOKEN.sub(lambda _: quote(next(it), safe="/"), template)
    # A read (``Patient/{{context.patientId}}``): the id alone, even when sent as Type/id.
    return _TOKEN.sub(lambda _: quote(next(it).rsplit("/", 1)[-1], safe=""), template)


def missing_queries(request: HookRequest) -> tuple[dict[str, str], dict[str, str]]:
    """The filled queries for the templates the request did not satisfy, and the keys that
    cannot be fetched with why."""
    sent = request.prefetch or {}
    queries: dict[str, str] = {}
    unfillable: dict[str, str] = {}
    for key, template in PREFETCH_FOR_HOOK[request.hook].items():
        if key in sent:
            continue
        query = fill(template, request.context)
        if query is None:
            unfillable[key] = "its query needs a context id that was not sent as a FHIR id"
        else:
            queries[key] = query
    return queries, unfillable


async def fetch_missing(service_id: str, request: HookRequest, settings: Settings) -> FetchOutcome:
    check_context(service_id, request)
    queries, unfillable = missing_queries(request)
    if not queries:
        return FetchOutcome(not_fetched=unfillable)
    if request.fhir_server is None:
        return FetchOutcome(
            not_fetched={**unfillable, **dict.fromkeys(queries, "no fhirServer was given")}
        )
    allowlist = tuple(settings.fhir_server_allowlist)
    refused = refusal(str(request.fhir_server), allowlist)
    if refused is not None:
        # Not a failed fetch but none at all: the request is read as sent (a medicines list
        # prefetched under one key still stands).
        return FetchOutcome(not_fetched={**unfillable, **dict.fromkeys(queries, refused)})
    auth = request.fhir_authorization
    token = auth.access_token.get_secret_value() if auth is not None else None
    limits = FetchLimits(
        timeout_seconds=settings.fhir_timeout_seconds,
        deadline_seconds=settings.fetch_deadline_seconds,
    )
    fetched = await fetch_all(str(request.fhir_server), token, queries, limits, allowlist)
    return FetchOutcome(fetched=fetched, not_fetched=unfillable)
