"""``POST /support-tier``: the patient's support tier (1-4) and the risk factors behind it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field, WithJsonSchema

from service.api.bodies import BUNDLE_SCHEMA, check_resource_count
from service.api.deps import NowDep, PipelineDep
from service.api.errors import error_responses
from service.api.examples import TIER_EXAMPLES
from service.errors import HookRequestError
from service.fhir.patient_record import read_resources

router = APIRouter(tags=["Risk stratification"])


class SupportTierOut(BaseModel):
    tier: int | None = Field(description="1-4 as in rules/stratification.yaml; null: no opioid.")
    name: str | None
    support: str | None
    risk_factors: list[str]
    not_checked: list[str] = Field(
        description="Risk factors whose data was not in the input, and parts of the input "
        "that could not be read."
    )
    total_ome_mg_per_day: float
    complete: bool = Field(
        description="False when an opioid may be missing from the total (see `unresolved`)."
    )
    unresolved: list[str] = Field(
        description="Medicines that could not be identified or dosed, with the reason: not "
        "counted in the total, never counted as 0."
    )


@router.post("/support-tier", responses=error_responses(400, 413))
def support_tier(
    body: Annotated[
        dict[str, Any], Body(openapi_examples=TIER_EXAMPLES), WithJsonSchema(BUNDLE_SCHEMA)
    ],
    pipeline: PipelineDep,
    now: NowDep,
) -> SupportTierOut:
    """Send a FHIR Bundle with the patient's Patient, Conditions, social-history
    Observations, Encounters and medication resources. Kinds of data that are absent are
    reported as not checked, never as absent risk."""
    check_resource_count(body, "body")
    record, _ = read_resources("support-tier", body, "body")
    if not record.history:
        raise HookRequestError(
            "the input holds no MedicationRequest or MedicationStatement", "body"
        )
    tier, regimen = pipeline.support_tier(record, now.date())
    return SupportTierOut(
        tier=tier.tier if tier else None,
        name=tier.name if tier else None,
        support=tier.support if tier else None,
        risk_factors=list(tier.factors) if tier else [],
        not_checked=[*(tier.not_checked if tier else ()), *record.not_checked],
        total_ome_mg_per_day=regimen.current_total,
        complete=not regimen.unresolved and not record.not_checked,
        unresolved=[f"{m.label}: {m.reason}" for m in regimen.unresolved],
    )
