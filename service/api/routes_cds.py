"""CDS Hooks endpoints: discovery, service calls and feedback ([SPEC2] §Discovery, §Calling
a CDS Service, §Feedback)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path
from starlette.concurrency import run_in_threadpool

from service.api.deps import FeedbackLogDep, NowDep, PipelineDep, SettingsDep
from service.api.errors import error_responses
from service.api.examples import FEEDBACK_EXAMPLES, HOOK_EXAMPLES
from service.api.trust import ClientDep, DiscoveryClientDep
from service.cds_hooks.fetch import fetch_missing
from service.cds_hooks.hook_input import check_service, nothing_selected, read_hook_input
from service.cds_hooks.models import (
    CdsServiceResponse,
    Discovery,
    FeedbackRequest,
    HookRequest,
)
from service.cds_hooks.services import SERVICE_FOR_HOOK, SERVICES

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


@router.get(
    "/cds-services",
    response_model_exclude_none=True,
    dependencies=[DiscoveryClientDep],
)
def discovery() -> Discovery:
    """List the CDS Services: one entry per hook, each with its own id (clients key services
    by id). The deprecated id ``opioid-safety`` still answers the prescribing hooks but is not
    listed."""
    return Discovery(services=list(SERVICES))


@router.post(
    "/cds-services/{service_id}",
    response_model_exclude_none=True,
    responses=error_responses(400, 401, 404, 412, 413),
    dependencies=[ClientDep],
)
async def call_service(
    service_id: ServiceId,
    request: Annotated[HookRequest, Body(openapi_examples=HOOK_EXAMPLES)],
    pipeline: PipelineDep,
    settings: SettingsDep,
    now: NowDep,
) -> CdsServiceResponse:
    """Evaluate the opioid safety rules for the proposed orders and return cards. Prefetch
    keys the client did not send are fetched from ``fhirServer`` when it is on the
    allowlist (``OPIOID_CDS_FHIR_SERVER_ALLOWLIST``); without the current medicines, a
    proposed opioid, gabapentinoid or sedative is a 412 saying what is missing and why."""
    if nothing_selected(service_id, request):
        log.info("hook=%s service=%s cards=0 (nothing selected)", request.hook, service_id)
        return CdsServiceResponse(cards=[])
    fetch = await fetch_missing(service_id, request, settings)
    # The record and the rules are CPU work: off the event loop, so other calls' fetches
    # keep going.
    record = await run_in_threadpool(read_hook_input, service_id, request, fetch)
    cards = await run_in_threadpool(pipeline.cards, record, now, request.hook_instance)
    # Log counts and rule ids, never patient data (DEVELOPERS.md, Privacy).
    log.info("hook=%s service=%s cards=%d", request.hook, service_id, len(cards))
    return CdsServiceResponse(cards=cards)


@router.post(
    "/cds-services/{service_id}/feedback",
    responses=error_responses(400, 401, 404, 413),
    dependencies=[ClientDep],
)
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
