"""Facts about the patient: age and sex, and what their records say (cancer or palliative
care, and the risk characteristics of the national review used for the support tier).

Records are matched against the code sets under ``rules/codesets/``. A fact whose data was
not sent (no Patient, no conditions) and that no record sent shows is unknown (None), never
false: the support tier then lists the factor as not checked.
"""

from __future__ import annotations

from service.facts.registry import FactSet, FactValue
from service.facts.situation import Situation

FACTS = FactSet[Situation]("patient")
fact = FACTS.fact
#: The code sets (rules/codesets/<name>.csv) these facts read.
CODESETS = frozenset(
    {
        "cancer_palliative",
        "unemployment",
        "dependence_history",
        "psychological",
        "sexual_abuse_history",
        "substance_misuse",
    }
)

#: Encounter.class codes (HL7 v3 ActCode EMER, and what clients send instead) and type words
#: that make an encounter an emergency (A&E) attendance.
_EMERGENCY_CLASSES = frozenset({"emer", "emergency", "er"})
_EMERGENCY_WORDS = ("emergency", "a&e", "accident and emergency")


@fact(
    "cancer_or_palliative_care",
    "bool",
    None,
    "An active Condition in the cancer or palliative-care code set (rules/codesets/).",
    evidence="cancer_or_palliative_records",
)
def _cancer_or_palliative_care(s: Situation) -> FactValue:
    if _cancer_or_palliative(s):
        return True
    return False if "conditions" in s.record.available else None


@fact(
    "cancer_or_palliative_records",
    "text",
    None,
    "The records that made cancer_or_palliative_care true, as sent.",
    max_chars=60,
)
def _cancer_or_palliative_records(s: Situation) -> FactValue:
    return "; ".join(dict.fromkeys(_cancer_or_palliative(s))) or None


@fact("conditions_available", "bool", None, "The patient's conditions were sent.")
def _conditions_available(s: Situation) -> FactValue:
    return "conditions" in s.record.available


@fact("sex_male", "bool", None, "Patient.gender is male (unknown when not sent or 'unknown').")
def _sex_male(s: Situation) -> FactValue:
    gender = _gender(s)
    return None if gender is None else gender == "male"


@fact("sex_female", "bool", None, "Patient.gender is female (unknown when not sent or 'unknown').")
def _sex_female(s: Situation) -> FactValue:
    gender = _gender(s)
    return None if gender is None else gender == "female"


def _gender(s: Situation) -> str | None:
    """FHIR AdministrativeGender; "unknown" says the gender is not known, so it decides
    nothing ("other" is known, and neither male nor female)."""
    gender = s.record.patient.gender if s.record.patient else None
    return None if gender in (None, "unknown") else gender


@fact("patient_age_years", "number", "years", "Age in whole years today.", max_chars=3)
def _patient_age_years(s: Situation) -> FactValue:
    birth = s.record.patient.birth_date if s.record.patient else None
    if birth is None:
        return None
    today = s.today
    return float(today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day)))


@fact(
    "unemployed_recorded",
    "bool",
    None,
    "An active record in rules/codesets/unemployment.csv (conditions or social history).",
)
def _unemployed_recorded(s: Situation) -> FactValue:
    known = "conditions" in s.record.available or "observations" in s.record.available
    return _recorded(s, "unemployment", known)


@fact(
    "emergency_attendances_past_year",
    "number",
    "count",
    "Emergency (A&E) encounters within the look-back (emergency_lookback_days).",
    max_chars=3,
)
def _emergency_attendances(s: Situation) -> FactValue:
    if "encounters" not in s.record.available:
        return None
    lookback = s.parameters["emergency_lookback_days"]
    return float(
        sum(
            1
            for e in s.record.encounters
            if _is_emergency(e.classes, e.types)
            and e.start is not None
            and 0 <= (s.today - e.start).days <= lookback
        )
    )


# History counts even when resolved: "PMH" and "family history" in the review.
@fact(
    "dependence_history_recorded",
    "bool",
    None,
    "A record in rules/codesets/dependence_history.csv (personal or family history).",
)
def _dependence_history(s: Situation) -> FactValue:
    return _recorded(s, "dependence_history", "conditions" in s.record.available, False)


# Naloxone (issue 17): the patient's own history of misuse, current or resolved; unlike
# dependence_history_recorded, a relative's history does not count.
@fact(
    "substance_misuse_recorded",
    "bool",
    None,
    "A record of the patient's own substance misuse, now or in the past "
    "(rules/codesets/substance_misuse.csv).",
)
def _substance_misuse(s: Situation) -> FactValue:
    return _recorded(s, "substance_misuse", "conditions" in s.record.available, False)


@fact(
    "psychological_condition_recorded",
    "bool",
    None,
    "An active record in rules/codesets/psychological.csv.",
)
def _psychological(s: Situation) -> FactValue:
    return _recorded(s, "psychological", "conditions" in s.record.available)


@fact(
    "sexual_abuse_history_recorded",
    "bool",
    None,
    "A record in rules/codesets/sexual_abuse_history.csv.",
)
def _sexual_abuse_history(s: Situation) -> FactValue:
    return _recorded(s, "sexual_abuse_history", "conditions" in s.record.available, False)


def _cancer_or_palliative(s: Situation) -> list[str]:
    codeset = s.codesets["cancer_palliative"]
    return [m for r in s.record.conditions if r.active and (m := codeset.matches(r))]


def _recorded(s: Situation, codeset: str, known: bool, active_only: bool = True) -> bool | None:
    """True on a matching record wherever it was sent (a history recorded as an Observation
    counts even when no conditions were sent); otherwise False if the data was sent, and
    unknown if not. History (``active_only`` False) counts resolved records, never refuted or
    entered-in-error ones."""
    if any(
        (r.active if active_only else not r.refuted) and s.codesets[codeset].matches(r)
        for r in (*s.record.conditions, *s.record.observations)
    ):
        return True
    return False if known else None


def _is_emergency(classes: tuple[str, ...], types: tuple[str, ...]) -> bool:
    return bool(_EMERGENCY_CLASSES & set(classes)) or any(
        word in t for t in types for word in _EMERGENCY_WORDS
    )
