"""CDS Hooks endpoints: discovery, service calls and feedback ([SPEC2] §Discovery, §Calling
a CDS Service, §Feedback)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from weakref import WeakKeyDictionary

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, Body, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from service.api.audit import CallAudit, engine_snoozes
from service.api.deps import (
    NowDep,
    PipelineDep,
    ReviewPromptMemoryDep,
    SettingsDep,
    StorageDep,
)
from service.api.errors import error_responses
from service.api.examples import FEEDBACK_EXAMPLES, HOOK_EXAMPLES, SERVICE_EXAMPLES
from service.api.review_memory import ReviewPromptMemory
from service.api.trust import ClientDep, DiscoveryClientDep
from service.cds_hooks.fetch import fetch_missing
from service.cds_hooks.hook_input import check_service, nothing_selected, read_hook_input
from service.cds_hooks.models import (
    CdsServiceResponse,
    Discovery,
    FeedbackRequest,
    HookRequest,
    response_json,
)
from service.cds_hooks.services import SERVICES
from service.errors import RequestError
from service.feedback_log import feedback_items
from service.fhir.client import FetchOutcome
from service.hooks import PATIENT_VIEW
from service.pipeline import Pipeline
from service.storage.store import Storage

log = logging.getLogger("service.api")
router = APIRouter(tags=["CDS Hooks"])

ServiceId = Annotated[
    str,
    Path(
        description="The CDS Service id from discovery: one per hook.",
        openapi_examples=SERVICE_EXAMPLES,
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
    # The route returns the serialised body (see _answer); the model documents it.
    response_model=CdsServiceResponse,
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
    review_memory: ReviewPromptMemoryDep,
    storage: StorageDep,
    http: Request,
) -> Response:
    """Evaluate the opioid safety rules for the proposed orders and return cards. Prefetch
    keys the client did not send are fetched from ``fhirServer`` when it is on the
    allowlist (``OPIOID_CDS_FHIR_SERVER_ALLOWLIST``); without the current medicines, a
    proposed opioid, gabapentinoid or sedative is a 412 saying what is missing and why."""
    # The audit row (issue 13) is committed before the answer is sent, refused calls too.
    audit = CallAudit(service_id, request, settings, now, client=_client(http))
    try:
        if nothing_selected(service_id, request):
            log.info("hook=%s service=%s cards=0 (nothing selected)", request.hook, service_id)
            await run_in_threadpool(storage.record_hook_call, audit.empty())
            return _json(response_json([]))
        fetch = await fetch_missing(service_id, request, settings)
        audit.extra_resources = [f.value for f in fetch.fetched.values() if f.error is None]
        # The record, the snoozes, the rules, the audit write and the response body are
        # blocking work: off the event loop, so other calls' fetches keep going — in one
        # thread hop, not one per step (issue 14).
        work = _Work(service_id, request, fetch, pipeline, now, audit, storage, review_memory)
        body, count = await to_thread.run_sync(work.answer, limiter=_work_limiter())
    except RequestError as exc:
        await run_in_threadpool(storage.record_hook_call, audit.refused(exc))
        raise
    # Log counts and rule ids, never patient data (DEVELOPERS.md, Privacy).
    log.info("hook=%s service=%s cards=%d", request.hook, service_id, count)
    return _json(body)


@dataclass(frozen=True, slots=True)
class _Work:
    """One call's blocking work, run in the thread pool (see ``answer``)."""

    service_id: str
    request: HookRequest
    fetch: FetchOutcome
    pipeline: Pipeline
    now: datetime
    audit: CallAudit
    storage: Storage
    review_memory: ReviewPromptMemory

    def answer(self) -> tuple[bytes, int]:
        """Record → snoozes → cards → audit row → the response body and how many cards it
        holds. The body is serialised once, here: a returned model would be validated against
        the response model and serialised again by FastAPI (issue 14)."""
        request, now = self.request, self.now
        record = read_hook_input(self.service_id, request, self.fetch)
        key = self.audit.patient(record.patient_id)
        # Snoozes for this patient, from the database, given to the pipeline as plain data.
        snoozes = engine_snoozes(self.storage.snoozes(key, now)) if key else {}
        # Chart-open review (issue 17): the pipeline is told when a prompt was last shown for
        # this patient and decides; a prompt returned is remembered. Without a patient key
        # nothing can be remembered, and the prompt may show at every opening.
        review = request.hook == PATIENT_VIEW and key is not None
        last_review = self.review_memory.last_shown(key) if review and key else None
        evaluation = self.pipeline.evaluate(
            record, now, request.hook_instance, snoozes, last_review
        )
        if review and key and evaluation.cards:
            self.review_memory.shown(key, now)
        self.storage.record_hook_call(self.audit.answered(evaluation, self.pipeline.rules))
        return response_json(evaluation.cards), len(evaluation.cards)


#: Calls whose blocking work runs at once, per worker process. The work is CPU-bound Python
#: (one thread runs at a time under the GIL) and a SQLite commit takes the database's one
#: write lock, so more threads add no throughput, only contention: for the GIL, the log
#: handler's lock, SQLite's write lock (retried by its busy handler) and connections beyond
#: the pool's, opened and closed per call. Profiled at 16 connections with the thread pool's
#: default 40 (issue 14, docs/performance.md). Two: one computes while the other commits.
WORK_CONCURRENCY = 2
_limiters: WeakKeyDictionary[asyncio.AbstractEventLoop, CapacityLimiter] = WeakKeyDictionary()


def _work_limiter() -> CapacityLimiter:
    """The limiter of this event loop (each loop its own: tests run several apps)."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = CapacityLimiter(WORK_CONCURRENCY)
    return limiter


def _json(body: bytes) -> Response:
    return Response(body, media_type="application/json")


def _client(http: Request) -> str | None:
    """The calling client's identity, when auth put one on the request (``state.client_id``,
    e.g. the JWT ``iss``); it outranks the request's own organisation in the audit."""
    client = getattr(http.state, "client_id", None)
    return client if isinstance(client, str) and client else None


@router.post(
    "/cds-services/{service_id}/feedback",
    responses=error_responses(400, 401, 404, 413),
    dependencies=[ClientDep],
)
async def feedback(
    service_id: ServiceId,
    body: Annotated[FeedbackRequest, Body(openapi_examples=FEEDBACK_EXAMPLES)],
    storage: StorageDep,
    pipeline: PipelineDep,
    now: NowDep,
) -> dict[str, Any]:
    """Receive what the user did with the cards (accepted a suggestion, or overrode the card
    with a reason). The same card may get feedback several times. An override reason the
    cards never offered (rules/override_reasons.yaml) is kept, marked as not recognised, so
    reports can tell it apart; it is not refused (clients send feedback they cannot retry).
    Feedback on a card this service has no record of is kept too, flagged. Each item is
    committed before the answer; an override with a reason the rule lists in
    ``rules/snooze.yaml`` quiets that rule for the card's patient for the period given there."""
    check_service(service_id)
    items = feedback_items(service_id, body.feedback, pipeline.override_reasons, now)
    await run_in_threadpool(storage.record_feedback, items)
    return {}
