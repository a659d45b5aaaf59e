"""Facts about the prescribing event: re-authorisation and hospital discharge.

The hook says what kind of event it is (CDS Hooks order-sign 1.1.0: an order re-signed after
revision is not a draft); the orders say whether they continue an earlier prescription.
"""

from __future__ import annotations

import re

from service.dosing.units import dose_unit, to_base
from service.facts.registry import FactSet, FactValue
from service.facts.situation import CHANGE_ORDER, Situation
from service.hooks import ENCOUNTER_DISCHARGE, MEDICATION_REFILL, ORDER_SIGN
from service.ome.calculate import MedicationOme
from service.ome.regimen import replaces

#: The only facts a rule may use in ``exclusion``: they route an event to another card
#: (re-authorisation has its own), never hide a clinical finding (ADR 0006).
EVENT = "prescribing event"
FACTS = FactSet[Situation](EVENT)
fact = FACTS.fact

#: Words that say a discharge prescription carries a weaning plan (wording, not a number).
_WEANING = re.compile(
    r"\b(wean|weaning|reduc\w*|taper\w*|step(?:ping)?\s+down|then\s+stop|stop\s+after)\b", re.I
)


@fact(
    "continues_prescription",
    "bool",
    None,
    "The event continues an existing prescription: medication-refill, an order-sign of a "
    "non-draft (re-signed) order, or an order with priorPrescription or basedOn.",
)
def _continues_prescription(s: Situation) -> FactValue:
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
    "opioid_change",
    "text",
    None,
    "What the proposal does to the patient's opioids for pain, the largest change of any "
    "proposed opioid: new start (none current), added (another opioid alongside), increase, "
    "continue (the same dose), decrease, or unknown (a dose could not be worked out); absent "
    "when no opioid is proposed. docs/adr/0006-new-increase-continue.md.",
    max_chars=9,
)
def _opioid_change(s: Situation) -> FactValue:
    changes = [s.change_of(m) for m in s.proposed_opioids]
    return max(changes, key=CHANGE_ORDER.index) if changes else None


@fact(
    "opioid_started",
    "bool",
    None,
    "A proposed opioid for pain is a new start or is added alongside the current opioids "
    "(it replaces none of them).",
)
def _opioid_started(s: Situation) -> FactValue:
    return any(s.change_of(m) in ("new start", "added") for m in s.proposed_opioids)


@fact(
    "opioid_new_start",
    "bool",
    None,
    "A proposed opioid for pain starts opioids: none was current before.",
)
def _opioid_new_start(s: Situation) -> FactValue:
    return any(s.change_of(m) == "new start" for m in s.proposed_opioids)


@fact(
    "opioid_dose_increased",
    "bool",
    None,
    "A proposed opioid for pain replaces a current one at a higher OME/day.",
)
def _opioid_dose_increased(s: Situation) -> FactValue:
    return any(s.change_of(m) == "increase" for m in s.proposed_opioids)


@fact(
    "is_reauthorisation",
    "bool",
    None,
    "The event continues an existing prescription (continues_prescription) and every "
    "proposed opioid continues at the same or a lower dose: no new start, no increase, no "
    "dose unknown.",
)
def _is_reauthorisation(s: Situation) -> FactValue:
    if not _continues_prescription(s):
        return False
    return all(s.change_of(m) in ("continue", "decrease") for m in s.proposed_opioids)


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
    days = [d for d in (supply_days(m) for m in s.proposed_opioids) if d is not None]
    return round(max(days), 1) if days else None


def supply_days(item: MedicationOme) -> float | None:
    """How many days the prescription supplies: its stated supply duration, else the
    quantity divided by the daily dose — in the same unit (tablets, patches, ml, mg), or
    through the product's strength (112 × 5 mg capsules at 40 mg a day = 14 days). None
    when neither can be worked out."""
    r = item.record
    if r.expected_supply_days:
        return r.expected_supply_days
    quantity, daily = r.dispense_quantity, item.daily
    if quantity is None or daily is None or daily.amount <= 0:
        return None
    unit = dose_unit(quantity)
    if unit is None:
        return None
    amount, unit = to_base(quantity.value, unit)
    if unit == daily.unit:
        return amount / daily.amount
    product = item.product
    if product is None or len(product.ingredients) != 1 or len(item.ingredients) != 1:
        return None
    strength = product.ingredients[0].strength
    per_day_mg = item.ingredients[0].amount if item.ingredients[0].amount_unit == "mg/day" else None
    if per_day_mg is None or per_day_mg <= 0:
        return None
    if unit == "mg":
        return amount / per_day_mg
    if strength is not None and unit == strength.per_unit:
        return amount * strength.mg_per_one / per_day_mg
    return None


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
