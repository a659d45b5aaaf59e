"""``POST /support-tier``: the patient's support tier (1-4) and the risk factors behind it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field

from service.api.deps import EngineDep, NowDep
from service.api.examples import TIER_EXAMPLES
from service.errors import HookRequestError
from service.fhir.bundle import resources
from service.fhir.clinical_records import read_coded, read_encounter, read_patient
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
    engine: EngineDep,
    now: NowDep,
) -> SupportTierOut:
    """Send a FHIR Bundle with the patient's Patient, Conditions, social-history
    Observations, Encounters and medication resources. Kinds of data that are absent are
    reported as not checked, never as absent risk."""
    found, _ = resources(body, "body")
    kinds = {x.resource["resourceType"] for x in found}
    meds = tuple(
        read_medication_record(x.resource, x.path, {})
        for x in found
        if x.resource["resourceType"] in MEDICATION_RESOURCE_TYPES
    )
    if not meds:
        raise HookRequestError(
            "the Bundle holds no MedicationRequest or MedicationStatement", "body"
        )
    available = {
        key
        for key, kind in (
            ("patient", "Patient"),
            ("conditions", "Condition"),
            ("observations", "Observation"),
            ("encounters", "Encounter"),
        )
        if kind in kinds
    }
    record = PatientRecord(
        hook="support-tier",
        patient_id=None,
        proposed=(),
        history=meds,
        patient=next(
            (
                read_patient(x.resource, x.path)
                for x in found
                if x.resource["resourceType"] == "Patient"
            ),
            None,
        ),
        conditions=tuple(
            read_coded(x.resource, x.path)
            for x in found
            if x.resource["resourceType"] == "Condition"
        ),
        observations=tuple(
            read_coded(x.resource, x.path)
            for x in found
            if x.resource["resourceType"] == "Observation"
        ),
        encounters=tuple(
            read_encounter(x.resource, x.path)
            for x in found
            if x.resource["resourceType"] == "Encounter"
        ),
        available=frozenset(available),
    )
    tier, regimen = engine.support_tier(record, now.date())
    return SupportTierOut(
        tier=tier.tier if tier else None,
        name=tier.name if tier else None,
        support=tier.support if tier else None,
        risk_factors=list(tier.factors) if tier else [],
        not_checked=list(tier.not_checked) if tier else [],
        total_ome_mg_per_day=regimen.current_total,
    )
