"""The OME report: every medication with its daily dose, factor, OME/day and explanation,
and the total. Served by ``POST /ome`` and printed by ``python -m service ome FILE``.

Input is FHIR: a Bundle, a list of resources, or one resource, read by the one record builder
(``service.fhir.patient_record``). All medication resources are the patient's record (none
is a proposal); history semantics apply, so stopped
items and duplicates are listed as excluded with the reason rather than dropped.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field

from service.errors import HookRequestError
from service.fhir.patient_record import read_resources
from service.ome.calculate import Flag, MedicationOme, Status
from service.pipeline import Pipeline


class DailyDoseOut(BaseModel):
    amount: float = Field(description="At most this much a day, in `unit`.")
    unit: str = Field(description="mg, ml, microgram/hour, or unit (tablets, patches...).")
    basis: str = Field(description="structured dosage | dosage text | quantity and supply duration")
    as_needed: bool
    description: str


class IngredientOut(BaseModel):
    ingredient: str
    amount: float
    amount_unit: str
    factor: float
    ome_mg_per_day: float
    source: list[str]


class MedicationOut(BaseModel):
    reference: str | None
    path: str
    name: str
    identified_by: str
    status: Literal["calculated", "not_opioid", "unresolved", "excluded"]
    counted: bool = Field(description="Whether it is in the total.")
    ome_mg_per_day: float | None
    explanation: str
    reason: str | None = None
    daily_dose: DailyDoseOut | None = None
    ingredients: list[IngredientOut] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)


class OmeReport(BaseModel):
    profile: str
    total_ome_mg_per_day: float
    complete: bool = Field(description="False when an opioid may be missing from the total.")
    unresolved_count: int
    not_checked: list[str] = Field(
        description="Parts of the input that could not be read (an OperationOutcome, a "
        "paginated list): the total may be understated."
    )
    implausible: bool = Field(
        default=False,
        description="True when a medicine's daily amount or the total is above the "
        "plausibility ceiling (rules/parameters.yaml implausible_total_mg_per_day) or a dose "
        "is implausibly frequent: a recording error is likely; check the record. Such "
        "medicines are unresolved and not in the total.",
    )
    implausible_message: str | None = Field(
        default=None,
        description='Why, when `implausible` is true: "implausible: check the record".',
    )
    medications: list[MedicationOut]


def ome_report(pipeline: Pipeline, value: Any, profile_id: str | None, today: date) -> OmeReport:
    if profile_id is not None and profile_id not in pipeline.factors.profiles():
        raise HookRequestError(
            f"unknown profile; known: {', '.join(pipeline.factors.profiles())}",
            "profile",
        )
    profile = pipeline.profile(profile_id)
    if value is None:
        # A wrapper without "medications" (or a typo in the key) must not read as "no
        # medicines, total 0": an empty list or Bundle says that explicitly.
        raise HookRequestError(
            "no medications given: send a Bundle, a list of resources, one resource, or "
            '{"medications": ..., "profile": ...}',
            "medications",
        )
    record, sent = read_resources("ome", value, "medications")
    records = record.history
    if not records and sent:
        raise HookRequestError(
            "no MedicationRequest or MedicationStatement resources in the input", "medications"
        )
    regimen = pipeline.regimen(record, today, profile)
    counted = {id(m) for m in regimen.current}
    duplicates = {id(m) for m in regimen.duplicates}
    position = {id(r): i for i, r in enumerate(records)}
    items = sorted(
        (*regimen.current, *regimen.duplicates, *regimen.not_current),
        key=lambda m: position[id(m.record)],  # report in the order the caller sent them
    )
    rows_sorted = [
        medication_row(m, counted=id(m) in counted, duplicate=id(m) in duplicates) for m in items
    ]
    implausible = [m for m in regimen.current if Flag.IMPLAUSIBLE in m.flags]
    message = None
    if regimen.implausible_reason is not None:
        message = regimen.implausible_reason
    elif implausible:
        message = f"implausible: check the record ({names(implausible)})"
    return OmeReport(
        profile=profile.profile_id,
        total_ome_mg_per_day=regimen.current_total,
        complete=not regimen.unresolved and not record.not_checked,
        unresolved_count=len(regimen.unresolved),
        not_checked=list(record.not_checked),
        implausible=message is not None,
        implausible_message=message,
        medications=rows_sorted,
    )


def names(items: list[MedicationOme]) -> str:
    return ", ".join(dict.fromkeys(m.label for m in items))


def medication_row(m: MedicationOme, *, counted: bool, duplicate: bool) -> MedicationOut:
    """One medicine as the /ome report gives it (the workbench trace gives the same row)."""
    status = m.status.value
    reason = m.reason
    flags = set(m.flags)
    if duplicate:
        status, reason = "excluded", "the same medicine is already counted (recorded twice)"
        flags.add(Flag.COUNTED_ONCE)
    elif Flag.NOT_CURRENT in m.flags:
        status = "excluded"
    daily = m.daily
    return MedicationOut(
        reference=m.record.reference,
        path=m.record.path,
        name=m.label,
        identified_by=m.identification.how,
        status=status,
        counted=counted and m.status is Status.CALCULATED,
        ome_mg_per_day=m.ome_mg_per_day if status == "calculated" else None,
        explanation=f"{m.label}: {reason}"
        if status != m.status.value and reason
        else m.explanation,
        reason=reason,
        daily_dose=DailyDoseOut(
            amount=round(daily.amount, 4),
            unit=daily.unit,
            basis=daily.basis,
            as_needed=daily.as_needed,
            description=daily.description,
        )
        if daily
        else None,
        ingredients=[
            IngredientOut(
                ingredient=i.ingredient,
                amount=round(i.amount, 4),
                amount_unit=i.amount_unit,
                factor=i.factor,
                ome_mg_per_day=i.ome_mg_per_day,
                source=list(i.source),
            )
            for i in m.ingredients
        ],
        flags=sorted(f.value for f in flags),
    )
