"""CDS Hooks endpoints: discovery, service calls and feedback ([SPEC2] §Discovery, §Calling
a CDS Service, §Feedback)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Response
from starlette.concurrency import run_in_threadpool

from service.api.deps import FeedbackLogDep, NowDep, PipelineDep, SettingsDep
from service.api.errors import error_responses
from service.api.examples import FEEDBACK_EXAMPLES, HOOK_EXAMPLES
from service.cds_hooks.fetch import fetch_missing
from service.cds_hooks.hook_input import check_service, nothing_selected, read_hook_input
from service.cds_hooks.models import (
    CdsServiceResponse,
    Discovery,
    FeedbackRequest,
    HookRequest,
    response_json,
)
from service.cds_hooks.services import SERVICE_FOR_HOOK, SERVICES
from service.fhir.client import FetchOutcome
from service.pipeline import Pipeline

log = logging.getLogger("service.api")
router = APIRouter(tags=["CDS Hooks"])

ServiceId = Annotated[
    str,
    Path(
        description="The CDS Service id from discovery: one per hook.",
        openapi_examples={
            hook: {"summary": f"the {hook} service", "value": service_id}
            for hook, service_id in SERVICE_FOR_HOOK.items()
        },
    ),
]


@router.get("/cds-services", response_model_exclude_none=True)
def discovery() -> Discovery:
    """List the CDS Services: one entry per hook, each with its own id (clients key services
    by id). The deprecated id ``opioid-safety`` still answers the prescribing hooks but is not
    listed."""
    return Discovery(services=list(SERVICES))


@router.post(
    "/cds-services/{service_id}",
    # The route returns the serialised body (see _answer); the model documents it.
    response_model=CdsServiceResponse,
    response_model_exclude_none=True,
    responses=error_responses(400, 404, 412, 413),
)
async def call_service(
    service_id: ServiceId,
    request: Annotated[HookRequest, Body(openapi_examples=HOOK_EXAMPLES)],
    pipeline: PipelineDep,
    settings: SettingsDep,
    now: NowDep,
) -> Response:
    """Evaluate the opioid safety rules for the proposed orders and return cards. Prefetch
    keys the client did not send are fetched from ``fhirServer`` when it is on the
    allowlist (``OPIOID_CDS_FHIR_SERVER_ALLOWLIST``); without the current medicines, a
    proposed opioid, gabapentinoid or sedative is a 412 saying what is missing and why."""
    if nothing_selected(service_id, request):
        log.info("hook=%s service=%s cards=0 (nothing selected)", request.hook, service_id)
        return _json(response_json([]))
    fetch = await fetch_missing(service_id, request, settings)
    # The record, the rules and the response body are CPU work: off the event loop, so
    # other calls' fetches keep going — in one thread hop, not one per step (issue 14).
    body, count = await run_in_threadpool(_answer, service_id, request, fetch, pipeline, now)
    # Log counts and rule ids, never patient data (DEVELOPERS.md, Privacy).
    log.info("hook=%s service=%s cards=%d", request.hook, service_id, count)
    return _json(body)


def _answer(
    service_id: str,
    request: HookRequest,
    fetch: FetchOutcome,
    pipeline: Pipeline,
    now: datetime,
) -> tuple[bytes, int]:
    """The CPU work of a call, run in the thread pool: record → cards → the response body
    and how many cards it holds. The body is serialised once, here: a returned model would
    be validated against the response model and serialised again by FastAPI (issue 14)."""
    record = read_hook_input(service_id, request, fetch)
    cards = pipeline.cards(record, now, request.hook_instance)
    return response_json(cards), len(cards)


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


@router.post("/cds-services/{service_id}/feedback", responses=error_responses(400, 404, 413))
def feedback(
    service_id: ServiceId,
    body: Annotated[FeedbackRequest, Body(openapi_examples=FEEDBACK_EXAMPLES)],
    feedback_log: FeedbackLogDep,
    pipeline: PipelineDep,
) -> dict[str, Any]:
    """Receive what the user did with the cards (accepted a suggestion, or overrode the card
    with a reason). The same card may get feedback several times. An override reason the
    cards never offered (rules/override_reasons.yaml) is kept, marked as not recognised, so
    reports can tell it apart; it is not refused (clients send feedback they cannot retry)."""
    check_service(service_id)
    feedback_log.record(service_id, body.feedback, pipeline.override_reasons)
    return {}
