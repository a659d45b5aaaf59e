"""The registry of facts: every name a rule file may use, with its type, unit and meaning.

Facts are computed in Python (``service.facts.compute``) from the patient's record; rules
are data. A rule that names a fact not registered here, or compares a fact in a unit other
than the one registered, is rejected when the service starts (style guide G5, G6).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FactKind = Literal["bool", "number", "text"]
#: A fact's value; None means unknown (the data to decide it was not available).
FactValue = bool | float | int | str | None


@dataclass(frozen=True, slots=True)
class FactDefinition:
    name: str
    kind: FactKind
    unit: str | None  # for numbers: "mg OME/day", "%", "days", "count", "years"
    definition: str
    #: For text and number facts: the widest value when shown in a card summary, used to
    #: check at start-up that no summary can exceed 139 characters.
    max_chars: int = 8


def _f(
    name: str, kind: FactKind, unit: str | None, definition: str, max_chars: int = 8
) -> FactDefinition:
    return FactDefinition(name, kind, unit, definition, max_chars)


FACTS: dict[str, FactDefinition] = {
    f.name: f
    for f in (
        _f(
            "proposed_opioid",
            "bool",
            None,
            "A proposed medicine (draft order, refill or discharge prescription) contains "
            "an opioid.",
        ),
        _f(
            "proposed_gabapentinoid",
            "bool",
            None,
            "A proposed medicine contains gabapentin or pregabalin.",
        ),
        _f(
            "proposed_sedative",
            "bool",
            None,
            "A proposed medicine contains a benzodiazepine or a Z-drug (zopiclone, "
            "zolpidem, zaleplon).",
        ),
        _f(
            "opioid_in_regimen",
            "bool",
            None,
            "An opioid is current or proposed (after the proposal replaces what it changes).",
        ),
        _f("gabapentinoid_in_regimen", "bool", None, "A gabapentinoid is current or proposed."),
        _f(
            "sedative_in_regimen",
            "bool",
            None,
            "A benzodiazepine or Z-drug is current or proposed.",
        ),
        _f(
            "total_ome_current_mg_per_day",
            "number",
            "mg OME/day",
            "Total daily OME of the current opioids, before the proposal; unresolved items "
            "not counted.",
        ),
        _f(
            "total_ome_with_proposal_mg_per_day",
            "number",
            "mg OME/day",
            "Total daily OME of the current opioids with the proposal (replacing what it changes).",
        ),
        _f(
            "ome_increase_percent",
            "number",
            "%",
            "Rise of the total with the proposal over the current total, in percent; absent when "
            "the current total is 0.",
            6,
        ),
        _f(
            "is_reauthorisation",
            "bool",
            None,
            "The event re-authorises an existing prescription: medication-refill, an order-sign of "
            "a non-draft (re-signed) order, or an order with priorPrescription or basedOn.",
        ),
        _f(
            "distinct_opioid_count",
            "number",
            "count",
            "Number of different opioid ingredients current or proposed.",
            2,
        ),
        _f(
            "opioid_use_days",
            "number",
            "days",
            "Days from the earliest start of a current or re-authorised opioid to today.",
            5,
        ),
        _f(
            "cancer_or_palliative_care",
            "bool",
            None,
            "An active Condition in the cancer or palliative-care code sets (rules/codesets/).",
        ),
        _f(
            "cancer_or_palliative_records",
            "text",
            None,
            "The records that made cancer_or_palliative_care true, as sent.",
            60,
        ),
        _f("conditions_available", "bool", None, "The patient's conditions were sent."),
        _f(
            "is_discharge",
            "bool",
            None,
            "The event is a hospital discharge: encounter-discharge, or an order with "
            "category discharge.",
        ),
        _f(
            "discharge_opioid_supply_days",
            "number",
            "days",
            "The longest supply, in days, of a proposed opioid at discharge.",
            4,
        ),
        _f(
            "mr_opioid_started",
            "bool",
            None,
            "A long-acting opioid (modified-release, or a patch) is proposed that the patient "
            "was not already taking before this admission.",
        ),
        _f(
            "weaning_plan_recorded",
            "bool",
            None,
            "The proposed opioid carries a weaning plan: a stepped dosage sequence or text "
            "that says to reduce, wean, taper or stop.",
        ),
        _f(
            "any_unresolved",
            "bool",
            None,
            "At least one medicine current or proposed could not be identified or dosed.",
        ),
        _f(
            "proposed_unresolved",
            "bool",
            None,
            "A proposed medicine could not be identified or dosed.",
        ),
        _f(
            "unresolved_count",
            "number",
            "count",
            "Medicines current or proposed that could not be identified or dosed.",
            2,
        ),
        _f("unresolved_names", "text", None, "The names of those medicines, as sent.", 60),
        _f("opioid_names", "text", None, "The opioid medicines current or proposed.", 60),
        _f(
            "sedative_names",
            "text",
            None,
            "The benzodiazepines or Z-drugs current or proposed.",
            40,
        ),
        _f("gabapentinoid_names", "text", None, "The gabapentinoids current or proposed.", 40),
        _f("sex_male", "bool", None, "Patient.gender is male."),
        _f("sex_female", "bool", None, "Patient.gender is female."),
        _f("patient_age_years", "number", "years", "Age in whole years today.", 3),
        _f(
            "unemployed_recorded",
            "bool",
            None,
            "An active record in rules/codesets/unemployment.csv (conditions or social history).",
        ),
        _f(
            "emergency_attendances_past_year",
            "number",
            "count",
            "Emergency (A&E) encounters within the look-back in rules/stratification.yaml.",
            3,
        ),
        _f(
            "dependence_history_recorded",
            "bool",
            None,
            "A record in rules/codesets/dependence_history.csv (personal or family history).",
        ),
        _f(
            "psychological_condition_recorded",
            "bool",
            None,
            "An active record in rules/codesets/psychological.csv.",
        ),
        _f(
            "sexual_abuse_history_recorded",
            "bool",
            None,
            "A record in rules/codesets/sexual_abuse_history.csv.",
        ),
        _f(
            "risk_factor_count",
            "number",
            "count",
            "How many of the risk factors in rules/stratification.yaml hold.",
            2,
        ),
    )
}
