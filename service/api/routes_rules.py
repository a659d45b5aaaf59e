"""The rule workbench (issue 16): ``GET /rules``, ``GET /rules/{id}``, ``GET /facts``,
``POST /rules/evaluate`` and ``POST /rules/validate``. Admin-protected like the reports
(``AdminDep``): open on a developer's machine (auth off), the admin token otherwise."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from service.api.admin import AdminDep
from service.api.deps import NowDep, PipelineDep, SettingsDep
from service.api.errors import error_responses
from service.api.examples import (
    DRAFT_RULE_YAML,
    HOOK_EXAMPLES,
    RULE_VALIDATE_EXAMPLES,
    SERVICE_EXAMPLES,
)
from service.cds_hooks.fetch import fetch_missing
from service.cds_hooks.hook_input import nothing_selected, read_hook_input
from service.cds_hooks.models import HookRequest
from service.workbench.catalogue import Catalogue
from service.workbench.models import EvaluateOut, FactOut, RuleDetail, RuleSummary, ValidateOut
from service.workbench.trace import evaluate_with_trace, nothing_to_evaluate
from service.workbench.validate import parse_body, validate_draft

log = logging.getLogger("service.api")
router = APIRouter(tags=["Rule workbench"])


def _catalogue(request: Request) -> Catalogue:
    """Built once at start-up (``service.main.create_app``) from the pipeline's indexes."""
    catalogue: Catalogue = request.app.state.rule_catalogue
    return catalogue


CatalogueDep = Annotated[Catalogue, Depends(_catalogue)]


RuleId = Annotated[
    str,
    Path(
        description="A rule id (the file name in rules/recommendations/).",
        openapi_examples={
            "high-dose": {"summary": "the high-dose rule", "value": "high-dose-risk-assessment"},
            "sedative": {"summary": "opioid with a sedative", "value": "opioid-sedative"},
        },
    ),
]
ServiceQuery = Annotated[
    str,
    Query(
        description="The CDS Service id the request is for, as in discovery (one per hook).",
        openapi_examples=SERVICE_EXAMPLES,
    ),
]


@router.get("/rules", responses=error_responses(401))
def list_rules(_: AdminDep, catalogue: CatalogueDep) -> list[RuleSummary]:
    """Every rule file, whatever its status: version, hooks, parameters (value, unit, source,
    alternatives, and this deployment's override beside the file's value), the criteria in
    words, and review dates. ``running`` says whether the service evaluates it."""
    return catalogue.rules()


@router.get("/rules/{rule_id}", responses=error_responses(401, 404))
def get_rule(rule_id: RuleId, _: AdminDep, catalogue: CatalogueDep) -> RuleDetail:
    """One rule in full, with every source it cites resolved from rules/sources.yaml."""
    return catalogue.rule(rule_id)


@router.get("/facts", responses=error_responses(401))
def list_facts(_: AdminDep, catalogue: CatalogueDep) -> list[FactOut]:
    """The facts rule files may use: kind, unit, meaning, and which rules use each."""
    return catalogue.facts()


@router.post(
    "/rules/evaluate",
    response_model=EvaluateOut,
    responses=error_responses(400, 401, 404, 412, 413),
)
async def evaluate_rules(
    service: ServiceQuery,
    body: Annotated[HookRequest, Body(openapi_examples=HOOK_EXAMPLES)],
    _: AdminDep,
    pipeline: PipelineDep,
    settings: SettingsDep,
    now: NowDep,
) -> JSONResponse:
    """Send a hook request exactly as a client sends it: get the cards the CDS Service would
    return and a trace of why — the record as read (each medicine's identification, daily
    dose, factor, OME and status), every fact's value, and for every running rule whether it
    fired and, if not, the condition that failed or the exclusion that applied. The CDS
    Hooks endpoints never carry a trace."""
    if nothing_selected(service, body):
        out = nothing_to_evaluate(pipeline, service, body.hook, now)
    else:
        fetch = await fetch_missing(service, body, settings)
        record = await run_in_threadpool(read_hook_input, service, body, fetch)
        out = await run_in_threadpool(
            evaluate_with_trace, pipeline, service, record, now, body.hook_instance
        )
    log.info("workbench evaluate: hook=%s service=%s cards=%d", body.hook, service, len(out.cards))
    return JSONResponse(out.to_json())


_VALIDATE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A draft rule as YAML (a rule file as written) or JSON; or "
        '`{"rule": <draft>, "examples": {<name>: <hook request>}}` to also learn which '
        "example requests it would fire on.",
        "content": {
            "application/yaml": {
                "schema": {"type": "string"},
                "examples": {
                    "validate-draft-yaml": {
                        "summary": "a draft rule file (YAML)",
                        "value": DRAFT_RULE_YAML,
                    }
                },
            },
            "application/json": {
                "schema": {"type": "object"},
                "examples": {
                    name: {"summary": e.get("summary"), "value": e.get("value")}
                    for name, e in RULE_VALIDATE_EXAMPLES.items()
                },
            },
        },
    }
}


@router.post(
    "/rules/validate", responses=error_responses(400, 401, 413), openapi_extra=_VALIDATE_BODY
)
async def validate_rule(
    request: Request, _: AdminDep, pipeline: PipelineDep, now: NowDep
) -> ValidateOut:
    """Check a draft rule with the checks start-up applies (schema, unknown facts, units,
    sources, suggestions, override reasons, summary length): 200 with ``valid`` and each
    error's path and message. Given example hook requests beside the rule, say for each
    whether the draft would fire and, if not, why not."""
    data, unreadable = parse_body(await request.body(), request.headers.get("content-type", ""))
    if unreadable is not None:
        return ValidateOut(valid=False, errors=[unreadable])
    out = await run_in_threadpool(validate_draft, pipeline, data, now)
    log.info("workbench validate: valid=%s errors=%d", out.valid, len(out.errors))
    return out
