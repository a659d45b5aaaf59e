"""Compute every registered fact from the patient's record and regimen.

This is the only place where clinical meaning is read from the record; rules see only the
values. Each fact's definition is in ``service.facts.registry``; the evidence for the
criteria is cited in the rule files that use them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from service.facts.codesets import CodeSet
from service.facts.registry import FactValue
from service.fhir.patient_record import PatientRecord
from service.medicines.model import IngredientClass
from service.ome.calculate import MedicationOme, Status
from service.ome.regimen import Regimen, replaces

#: Words that say a discharge prescription carries a weaning plan. Language, not a number.
_WEANING = re.compile(
    r"\b(wean|weaning|reduc\w*|taper\w*|step(?:ping)?\s+down|then\s+stop|stop\s+after)\b", re.I
)
_SEDATIVES = (IngredientClass.BENZODIAZEPINE, IngredientClass.Z_DRUG)


@dataclass(frozen=True, slots=True)
class Situation:
    """Everything facts are computed from. ``today`` is given, never read from a clock."""

    record: PatientRecord
    regimen: Regimen
    today: date
    cancer_palliative: CodeSet


def compute_facts(s: Situation) -> dict[str, FactValue]:
    regimen = s.regimen
    proposed = regimen.proposed
    everything = regimen.with_proposal
    opioids = [m for m in everything if _has(m, IngredientClass.OPIOID)]
    sedatives = [m for m in everything if any(_has(m, c) for c in _SEDATIVES)]
    gabapentinoids = [m for m in everything if _has(m, IngredientClass.GABAPENTINOID)]
    current_total = regimen.current_total
    with_total = regimen.total_with_proposal
    proposed_opioids = [m for m in proposed if _has(m, IngredientClass.OPIOID)]
    cancer = [m for r in s.record.conditions if r.active and (m := s.cancer_palliative.matches(r))]
    unresolved = regimen.unresolved
    return {
        "proposed_opioid": bool(proposed_opioids),
        "proposed_gabapentinoid": any(_has(m, IngredientClass.GABAPENTINOID) for m in proposed),
        "proposed_sedative": any(_has(m, c) for m in proposed for c in _SEDATIVES),
        "opioid_in_regimen": bool(opioids),
        "gabapentinoid_in_regimen": bool(gabapentinoids),
        "sedative_in_regimen": bool(sedatives),
        "total_ome_current_mg_per_day": current_total,
        "total_ome_with_proposal_mg_per_day": with_total,
        "ome_increase_percent": (
            round((with_total - current_total) / current_total * 100, 1)
            if current_total > 0
            else None
        ),
        "is_reauthorisation": _is_reauthorisation(s.record, regimen),
        "distinct_opioid_count": len(
            {i.name for m in opioids if m.product for i in m.product.opioids}
        ),
        "opioid_use_days": _opioid_use_days(opioids, regimen, s.today),
        "cancer_or_palliative_care": bool(cancer),
        "cancer_or_palliative_records": "; ".join(dict.fromkeys(cancer)) or None,
        "conditions_available": not any("conditions" in n for n in s.record.not_checked),
        "is_discharge": _is_discharge(s.record),
        "discharge_opioid_supply_days": _longest_supply(proposed_opioids)
        if _is_discharge(s.record)
        else None,
        # Long-acting: modified-release or a patch (fentanyl and buprenorphine patches are
        # not for acute pain either).
        "mr_opioid_started": any(
            m.product is not None
            and (m.product.modified_release or m.product.is_patch)
            and not _continues(m, regimen, s.record)
            for m in proposed_opioids
        ),
        "weaning_plan_recorded": any(_has_weaning_plan(m) for m in proposed_opioids),
        "any_unresolved": bool(unresolved),
        "proposed_unresolved": any(m.status is Status.UNRESOLVED for m in proposed),
        "unresolved_count": len(unresolved),
        "unresolved_names": _names(unresolved),
        "opioid_names": _names(opioids),
        "sedative_names": _names(sedatives),
        "gabapentinoid_names": _names(gabapentinoids),
    }


def _has(item: MedicationOme, ingredient_class: IngredientClass) -> bool:
    return (
        item.product is not None
        and item.product.has_class(ingredient_class)
        and (item.status is not Status.EXCLUDED or ingredient_class is not IngredientClass.OPIOID)
    )


def _names(items: Iterable[MedicationOme]) -> str:
    return ", ".join(dict.fromkeys(m.label for m in items))


def _is_reauthorisation(record: PatientRecord, regimen: Regimen) -> bool:
    if record.hook == "medication-refill":
        return True
    for item in regimen.proposed:
        r = item.record
        if r.prior_prescription or r.based_on:
            return True
        if record.hook == "order-sign" and r.status not in (None, "draft"):
            return True  # re-signed after revision (order-sign 1.1.0)
    return False


def _is_discharge(record: PatientRecord) -> bool:
    return record.hook == "encounter-discharge" or any(
        "discharge" in c for m in record.proposed for c in m.categories
    )


def _continues(item: MedicationOme, regimen: Regimen, record: PatientRecord) -> bool:
    """The proposal re-authorises or changes something the patient already takes. At
    discharge, "already" means before this admission: an order started on the ward is
    current but is not what the patient was taking before."""
    discharge = _is_discharge(record)
    return any(
        replaces(item, c)
        for c in regimen.current
        if not discharge or _taken_before_admission(c, record)
    )


def _taken_before_admission(item: MedicationOme, record: PatientRecord) -> bool:
    r = item.record
    if "inpatient" in r.categories:
        return False
    encounter = record.encounter
    if encounter is None:
        return True
    if encounter.id and r.encounter == f"Encounter/{encounter.id}":
        return False
    return not (encounter.start and r.start and r.start >= encounter.start)


def _opioid_use_days(opioids: list[MedicationOme], regimen: Regimen, today: date) -> float | None:
    """From the earliest start of a current (or re-authorised) opioid to today. The current
    items a proposal replaces (it re-authorises them) count, and so do earlier prescriptions
    linked by priorPrescription or basedOn, even when no longer active."""
    by_ref = {
        m.record.reference: m
        for m in (*regimen.current, *regimen.not_current, *regimen.duplicates)
        if m.record.reference
    }
    replaced = [m for m in regimen.replaced if _has(m, IngredientClass.OPIOID)]
    starts: list[date] = []
    for item in (*opioids, *replaced):
        seen: set[str] = set()
        queue = [item]
        while queue:
            current = queue.pop()
            if current.record.start is not None:
                starts.append(current.record.start)
            for ref in (current.record.prior_prescription, *current.record.based_on):
                if ref is None or ref in seen:
                    continue
                seen.add(ref)
                linked = by_ref.get(ref)
                if linked is not None:
                    queue.append(linked)
    # A new prescription authored today says nothing about duration; only history does.
    history_starts = [d for d in starts if d < today]
    return float((today - min(history_starts)).days) if history_starts else None


def _longest_supply(items: list[MedicationOme]) -> float | None:
    days = []
    for m in items:
        r = m.record
        if r.expected_supply_days:
            days.append(r.expected_supply_days)
        elif r.dispense_quantity is not None and m.daily is not None and m.daily.unit == "unit":
            days.append(r.dispense_quantity.value / m.daily.amount)
    return round(max(days), 1) if days else None


def _has_weaning_plan(item: MedicationOme) -> bool:
    dosages = item.record.dosages
    if len({d.sequence for d in dosages if d.sequence is not None}) > 1:
        return True
    return any(_WEANING.search(t) for d in dosages for t in (d.text, d.patient_instruction) if t)
