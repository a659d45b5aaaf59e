"""``POST /support-tier``: the patient's support tier (1-4) and the risk factors behind it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field

from service.api.deps import NowDep, PipelineDep
from service.api.examples import TIER_EXAMPLES
from service.errors import HookRequestError
from service.fhir.bundle import resources
from service.fhir.clinical_records import read_clinical
from service.fhir.medication_record import MEDICATION_RESOURCE_TYPES, read_medication_record
from service.fhir.patient_record import PatientRecord

router = APIRouter(tags=["Risk stratification"])


class SupportTierOut(BaseModel):
    tier: int | None = Field(description="1-4 as in rules/stratification.yaml; null: no opioid.")
    name: str | None
    support: str | None
    risk_factors: list[str]
    not_checked: list[str] = Field(description="Risk factors whose data was not in the input.")
    total_ome_mg_per_day: float


@router.post("/support-tier")
def support_tier(
    body: Annotated[dict[str, Any], Body(openapi_examples=TIER_EXAMPLES)],
    pipeline: PipelineDep,
    now: NowDep,
) -> SupportTierOut:
    """Send a FHIR Bundle with the patient's Patient, Conditions, social-history
    Observations, Encounters and medication resources. Kinds of data that are absent are
    reported as not checked, never as absent risk."""
    found, _ = resources(body, "body")
    meds = tuple(
        read_medication_record(x.resource, x.path, {})
        for x in found
        if x.resource["resourceType"] in MEDICATION_RESOURCE_TYPES
    )
    if not meds:
        raise HookRequestError(
            "the Bundle holds no MedicationRequest or MedicationStatement", "body"
        )
    clinical = read_clinical(found)
    record = PatientRecord(
        hook="support-tier",
        patient_id=None,
        proposed=(),
        history=meds,
        patient=clinical.patient,
        conditions=clinical.conditions,
        observations=clinical.observations,
        encounters=clinical.encounters,
        available=clinical.present,
    )
    tier, regimen = pipeline.support_tier(record, now.date())
    return SupportTierOut(
        tier=tier.tier if tier else None,
        name=tier.name if tier else None,
        support=tier.support if tier else None,
        risk_factors=list(tier.factors) if tier else [],
        not_checked=list(tier.not_checked) if tier else [],
        total_ome_mg_per_day=regimen.current_total,
    )
