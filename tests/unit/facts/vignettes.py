"""Vignettes for the fact unit tests: FHIR as a client sends it, read by the one record
builder (``read_patient_record``), then the regimen and every fact, as the pipeline computes
them.

A vignette names only what it is about. ``orders`` are the proposal (``draftOrders`` for
order-select and order-sign, ``medications`` for medication-refill, the
``dischargeMedications`` prefetch for encounter-discharge); ``current`` is the
``medicationRequests`` prefetch; any other keyword is a prefetch key: a list of resources, or
``None`` (sent, no data). A key left out was not sent.

Medication resources come from ``tests/unit/ome/fhir_builders.py`` (real dm+d codes).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from service.config import Settings
from service.facts.registry import FactValue
from service.fhir.patient_record import PatientRecord, Sent, read_patient_record
from service.fhir.systems import SNOMED_CT
from service.hooks import ENCOUNTER_DISCHARGE, MEDICATION_REFILL, ORDER_SIGN
from service.pipeline import Pipeline
from tests.unit.ome.fhir_builders import (
    MORPHINE_SOLUTION_10_5,
    Json,
    Med,
    dosage,
    mg,
    request,
)

PIPELINE = Pipeline(Settings())
TODAY = date(2026, 11, 22)

DISCHARGE_CATEGORY = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/medicationrequest-category",
            "code": "discharge",
        }
    ]
}
ADMISSION = "admission-1"

# Products the shared builders do not name (dm+d VMP ids from rules/medicines/).
CODEINE_30 = Med("Codeine 30mg tablets", "322503009")
GABAPENTIN_CAPS_300 = Med("Gabapentin 300mg capsules", "323014008")
ZOPICLONE_7_5 = Med("Zopiclone 7.5mg tablets", "321175006")


def record(
    hook: str = ORDER_SIGN,
    *,
    orders: Sequence[Json] = (),
    current: Sequence[Json] | None = (),
    encounter_id: str | None = None,
    **prefetch: Any,
) -> PatientRecord:
    """The record a hook call with these orders and prefetch keys gives."""
    sent = [Sent(key, value, f"prefetch.{key}") for key, value in prefetch.items()]
    if current is not None:
        sent.append(Sent("medicationRequests", list(current), "prefetch.medicationRequests"))
    if hook == ENCOUNTER_DISCHARGE:
        sent.append(Sent("dischargeMedications", list(orders), "prefetch.dischargeMedications"))
        return read_patient_record(
            hook, sent, proposed_key="dischargeMedications", encounter_id=encounter_id
        )
    field = "medications" if hook == MEDICATION_REFILL else "draftOrders"
    return read_patient_record(
        hook,
        sent,
        orders=Sent(field, list(orders), f"context.{field}"),
        encounter_id=encounter_id,
    )


def taking(med: Med, sig: str | None = "one twice a day", **kw: Any) -> Json:
    """A current prescription: active, authored on 1 October 2026 unless ``authored_on``."""
    return request(med, text=sig, **kw)


def draft(med: Med, sig: str | None = "one twice a day", **kw: Any) -> Json:
    """A draft order written today (``sig=None``: no dosage at all)."""
    kw.setdefault("status", "draft")
    kw.setdefault("authored_on", TODAY.isoformat())
    return request(med, text=sig, **kw)


def morphine_mg_a_day(total_mg: float, **kw: Any) -> Json:
    """Morphine oral solution dosed in mg twice a day: its OME/day is ``total_mg`` exactly."""
    twice_a_day = dosage(dose=mg(total_mg / 2), frequency=2, period=1, period_unit="d")
    return request(MORPHINE_SOLUTION_10_5, twice_a_day, **kw)


def facts(hook: str = ORDER_SIGN, **vignette: Any) -> dict[str, FactValue]:
    """Every fact of the vignette (see :func:`record`), today being :data:`TODAY`."""
    return facts_of(record(hook, **vignette))


def facts_of(patient_record: PatientRecord) -> dict[str, FactValue]:
    regimen = PIPELINE.regimen(patient_record, TODAY)
    return PIPELINE.facts(patient_record, regimen, TODAY)


def days_ago(days: int) -> str:
    return (TODAY - timedelta(days=days)).isoformat()


# -- clinical resources ------------------------------------------------------------------------
def patient(gender: str | None = "female", birth_date: str | None = "1986-05-01") -> Json:
    resource: Json = {"resourceType": "Patient", "id": "p"}
    if gender is not None:
        resource["gender"] = gender
    if birth_date is not None:
        resource["birthDate"] = birth_date
    return resource


def born_years_ago(years: int, days_later: int = 0) -> str:
    """The birth date of someone whose ``years``-th birthday is today (plus ``days_later``)."""
    birthday = date(TODAY.year - years, TODAY.month, TODAY.day) + timedelta(days=days_later)
    return birthday.isoformat()


def condition(
    code: str | None,
    system: str = SNOMED_CT,
    status: str = "active",
    text: str | None = None,
    display: str | None = None,
) -> Json:
    concept: Json = {}
    if code is not None:
        coding: Json = {"system": system, "code": code}
        if display is not None:
            coding["display"] = display
        concept["coding"] = [coding]
    if text is not None:
        concept["text"] = text
    return {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"code": status}]},
        "code": concept,
    }


def social_history(code: str | None, text: str, status: str = "final") -> Json:
    """An Observation in the social-history category (how GP systems record employment)."""
    concept: Json = {"text": text}
    if code is not None:
        concept["coding"] = [{"system": SNOMED_CT, "code": code}]
    return {
        "resourceType": "Observation",
        "status": status,
        "category": [{"coding": [{"code": "social-history"}]}],
        "code": concept,
    }


def encounter(
    started_days_ago: int,
    class_code: str = "EMER",
    type_text: str | None = None,
    id: str | None = None,  # noqa: A002 - the FHIR element is called id
) -> Json:
    start = days_ago(started_days_ago)
    resource: Json = {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"code": class_code},
        "period": {"start": start},
    }
    if type_text is not None:
        resource["type"] = [{"text": type_text}]
    if id is not None:
        resource["id"] = id
    return resource


def admission(started_days_ago: int = 7) -> Json:
    """The in-progress admission an encounter-discharge is for."""
    resource = encounter(started_days_ago, "IMP", id=ADMISSION)
    resource["status"] = "in-progress"
    return resource


def discharge_order(order: Json) -> Json:
    """The order with category discharge (an order-sign of a discharge prescription)."""
    return {**order, "category": [DISCHARGE_CATEGORY]}
