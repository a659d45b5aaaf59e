"""Facts about the prescribing event: re-authorisation and hospital discharge.

The hook says what kind of event it is (CDS Hooks order-sign 1.1.0: an order re-signed after
revision is not a draft); the orders say whether they continue an earlier prescription.
"""

from __future__ import annotations

import re

from service.facts.registry import FactSet, FactValue
from service.facts.situation import Situation
from service.hooks import ENCOUNTER_DISCHARGE, MEDICATION_REFILL, ORDER_SIGN
from service.ome.calculate import MedicationOme
from service.ome.regimen import replaces

FACTS = FactSet[Situation]("prescribing event")
fact = FACTS.fact

#: Words that say a discharge prescription carries a weaning plan (wording, not a number).
_WEANING = re.compile(
    r"\b(wean|weaning|reduc\w*|taper\w*|step(?:ping)?\s+down|then\s+stop|stop\s+after)\b", re.I
)


@fact(
    "is_reauthorisation",
    "bool",
    None,
    "The event re-authorises an existing prescription: medication-refill, an order-sign of a "
    "non-draft (re-signed) order, or an order with priorPrescription or basedOn.",
)
def _is_reauthorisation(s: Situation) -> FactValue:
    if s.record.hook == MEDICATION_REFILL:
        return True
    for item in s.regimen.proposed:
        r = item.record
        if r.prior_prescription or r.based_on:
            return True
        if s.record.hook == ORDER_SIGN and r.status not in (None, "draft"):
            return True  # re-signed after revision (order-sign 1.1.0)
    return False


@fact(
    "is_discharge",
    "bool",
    None,
    f"The event is a hospital discharge: {ENCOUNTER_DISCHARGE}, or an order with category "
    "discharge.",
)
def _is_discharge(s: Situation) -> FactValue:
    return s.is_discharge


@fact(
    "discharge_opioid_supply_days",
    "number",
    "days",
    "The longest supply, in days, of a proposed opioid at discharge.",
    max_chars=4,
)
def _discharge_opioid_supply_days(s: Situation) -> FactValue:
    if not s.is_discharge:
        return None
    days = []
    for m in s.proposed_opioids:
        r = m.record
        if r.expected_supply_days:
            days.append(r.expected_supply_days)
        elif r.dispense_quantity is not None and m.daily is not None and m.daily.unit == "unit":
            days.append(r.dispense_quantity.value / m.daily.amount)
    return round(max(days), 1) if days else None


@fact(
    "mr_opioid_started",
    "bool",
    None,
    "A long-acting opioid (modified-release, or a patch) is proposed that the patient was not "
    "already taking before this admission.",
)
def _mr_opioid_started(s: Situation) -> FactValue:
    # Long-acting: modified-release or a patch (fentanyl and buprenorphine patches are not
    # for acute pain either).
    return any(
        m.product is not None
        and (m.product.modified_release or m.product.is_patch)
        and not _continues(m, s)
        for m in s.proposed_opioids
    )


@fact(
    "weaning_plan_recorded",
    "bool",
    None,
    "The proposed opioid carries a weaning plan: a stepped dosage sequence or text that says "
    "to reduce, wean, taper or stop.",
)
def _weaning_plan_recorded(s: Situation) -> FactValue:
    return any(_has_weaning_plan(m) for m in s.proposed_opioids)


def _continues(item: MedicationOme, s: Situation) -> bool:
    """The proposal re-authorises or changes something the patient already takes. At
    discharge, "already" means before this admission: an order started on the ward is
    current but is not what the patient was taking before."""
    return any(
        replaces(item, c)
        for c in s.regimen.current
        if not s.is_discharge or _taken_before_admission(c, s)
    )


def _taken_before_admission(item: MedicationOme, s: Situation) -> bool:
    r = item.record
    if "inpatient" in r.categories:
        return False
    encounter = s.record.encounter
    if encounter is None:
        return True
    if encounter.id and r.encounter == f"Encounter/{encounter.id}":
        return False
    return not (encounter.start and r.start and r.start >= encounter.start)


def _has_weaning_plan(item: MedicationOme) -> bool:
    dosages = item.record.dosages
    if len({d.sequence for d in dosages if d.sequence is not None}) > 1:
        return True
    return any(_WEANING.search(t) for d in dosages for t in (d.text, d.patient_instruction) if t)
