"""Support tiers (``rules/stratification.yaml``, ``service/stratify.py``): a vignette for each
tier, and boundary pairs around every parameter.

Records are built from FHIR resources as ``POST /support-tier`` reads them and go through
``Pipeline.support_tier`` (the regimen, the facts, the tier). The baseline is a woman of 40 on
morphine MR 30mg twice daily (60 mg OME/day) with every kind of data sent and nothing in it:
no risk factor, tier 1. Each vignette adds the factors it names.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import pytest

from service.config import Settings
from service.fhir.clinical_records import read_coded, read_encounter, read_patient
from service.fhir.medication_record import read_medication_record
from service.fhir.patient_record import PatientRecord
from service.pipeline import Pipeline
from service.stratify import SupportTier

PIPELINE = Pipeline(Settings())
PARAMETERS = PIPELINE.stratifier.parameters
TODAY = date(2026, 11, 22)
DMD = "https://dmd.nhs.uk"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"

MALE = "Male"
OLDER = "Older age"
BENZODIAZEPINE = "Prescribed a benzodiazepine or Z-drug"
UNEMPLOYED = "Unemployed"
EMERGENCY = "A&E attendance in the last 12 months"
DEPENDENCE = "Personal or family history of drug, alcohol or prescribed-medicine dependence"
PSYCHOLOGICAL = "Depression or other psychological disease"
SEXUAL_ABUSE = "Woman with a history of pre-adolescent sexual abuse"
HIGH_DOSE = "Prescribed 120 mg OME/day or more"
ALL_FACTORS = (
    MALE,
    OLDER,
    BENZODIAZEPINE,
    UNEMPLOYED,
    EMERGENCY,
    DEPENDENCE,
    PSYCHOLOGICAL,
    SEXUAL_ABUSE,
    HIGH_DOSE,
)


def _medication(code: str, index: int, dosage: dict[str, Any]) -> Any:
    resource = {
        "resourceType": "MedicationRequest",
        "id": f"med-{index}",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": DMD, "code": code}]},
        "dosageInstruction": [dosage],
    }
    return read_medication_record(resource, f"med-{index}", {})


def _code(name: str) -> str:
    product = PIPELINE.dictionary.by_name(name)
    assert product is not None and product.system == "dmd", name
    return product.code


MORPHINE_MR_30 = _code("Morphine 30mg modified-release tablets")
MORPHINE_SOLUTION = _code("Morphine sulfate 10mg/5ml oral solution")
DIAZEPAM = _code("Diazepam 5mg tablets")


def morphine_mg_a_day(mg: float, index: int = 0) -> Any:
    """Morphine oral solution dosed in mg twice a day: OME/day = mg/day exactly."""
    return _medication(
        MORPHINE_SOLUTION,
        index,
        {
            "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
            "doseAndRate": [
                {
                    "doseQuantity": {
                        "value": mg / 2,
                        "unit": "mg",
                        "system": "http://unitsofmeasure.org",
                        "code": "mg",
                    }
                }
            ],
        },
    )


def condition(system: str, code: str, status: str = "active", text: str | None = None) -> Any:
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"code": status}]},
        "code": {"coding": [{"system": system, "code": code}]},
    }
    if text:
        resource["code"]["text"] = text
    return read_coded(resource, "condition")


def unemployment_observation() -> Any:
    return read_coded(
        {
            "resourceType": "Observation",
            "status": "final",
            "category": [{"coding": [{"code": "social-history"}]}],
            "code": {"coding": [{"system": SNOMED, "code": "73438004"}], "text": "Unemployed"},
        },
        "observation",
    )


def emergency_visit(days_ago: int) -> Any:
    start = TODAY - timedelta(days=days_ago)
    return read_encounter(
        {
            "resourceType": "Encounter",
            "status": "finished",
            "class": {"code": "EMER"},
            "period": {"start": start.isoformat(), "end": start.isoformat()},
        },
        "encounter",
    )


def born_years_ago(years: int, days_later: int = 0) -> str:
    return (
        date(TODAY.year - years, TODAY.month, TODAY.day) + timedelta(days=days_later)
    ).isoformat()


@dataclass
class Patient:
    """A vignette: what the record holds. ``None`` for a kind of data that was not sent."""

    gender: str | None = "female"
    birth_date: str | None = born_years_ago(40)
    send_patient: bool = True
    medicines: list[Any] = field(
        default_factory=lambda: [
            _medication(MORPHINE_MR_30, 0, {"text": "one twice a day"}),
        ]
    )
    conditions: list[Any] | None = field(default_factory=list)
    observations: list[Any] | None = field(default_factory=list)
    encounters: list[Any] | None = field(default_factory=list)

    def record(self) -> PatientRecord:
        available = {"patient"} if self.send_patient else set()
        for kind in ("conditions", "observations", "encounters"):
            if getattr(self, kind) is not None:
                available.add(kind)
        patient = None
        if self.send_patient:
            resource: dict[str, Any] = {"resourceType": "Patient", "id": "p"}
            if self.gender:
                resource["gender"] = self.gender
            if self.birth_date:
                resource["birthDate"] = self.birth_date
            patient = read_patient(resource, "patient")
        return PatientRecord(
            hook="support-tier",
            patient_id=None,
            proposed=(),
            history=tuple(self.medicines),
            patient=patient,
            conditions=tuple(self.conditions or ()),
            observations=tuple(self.observations or ()),
            encounters=tuple(self.encounters or ()),
            available=frozenset(available),
        )

    def tier(self) -> SupportTier | None:
        tier, _ = PIPELINE.support_tier(self.record(), TODAY)
        return tier

    def with_factors(self, *labels: str) -> Patient:
        """This vignette plus the named risk factors (never the high dose)."""
        gender, birth_date, medicines = self.gender, self.birth_date, list(self.medicines)
        conditions, observations = list(self.conditions or []), list(self.observations or [])
        encounters = list(self.encounters or [])
        for label in labels:
            if label == MALE:
                gender = "male"
            elif label == OLDER:
                birth_date = born_years_ago(70)
            elif label == BENZODIAZEPINE:
                medicines.append(_medication(DIAZEPAM, 9, {"text": "one at night"}))
            elif label == UNEMPLOYED:
                observations.append(unemployment_observation())
            elif label == EMERGENCY:
                encounters.append(emergency_visit(100))
            elif label == DEPENDENCE:
                conditions.append(condition(SNOMED, "66590003", "resolved"))
            elif label == PSYCHOLOGICAL:
                conditions.append(condition(SNOMED, "35489007"))
            elif label == SEXUAL_ABUSE:
                conditions.append(condition(ICD10, "Z61.4", "resolved"))
            else:  # pragma: no cover - a typo in a test
                raise AssertionError(label)
        return replace(
            self,
            gender=gender,
            birth_date=birth_date,
            medicines=medicines,
            conditions=conditions,
            observations=observations,
            encounters=encounters,
        )


BASELINE = Patient()


def factors_and_tier(p: Patient) -> tuple[int | None, tuple[str, ...]]:
    tier = p.tier()
    assert tier is not None
    return tier.tier, tier.factors


def test_the_parameters_the_boundaries_are_built_around() -> None:
    assert PARAMETERS == {
        "older_age_years": 65,
        "high_dose_mg_per_day": 120,
        "emergency_attendances": 1,
        "tier2_min_factors": 2,
        "tier3_min_factors": 4,
        "tier4_min_factors": 6,
    }
    assert PIPELINE.shared_parameters["emergency_lookback_days"].value == 365
    assert tuple(PIPELINE.stratifier.labels.values()) == ALL_FACTORS


# --- A vignette for each tier ------------------------------------------------------------------


def test_tier_1_an_opioid_and_no_risk_factor_advice_and_signposting() -> None:
    tier = BASELINE.tier()
    assert tier is not None
    assert (tier.tier, tier.name, tier.factors, tier.not_checked) == (
        1,
        "Advice and signposting",
        (),
        (),
    )
    assert "Live Well with Pain" in tier.support
    assert tier.markdown().startswith("**Support tier 1: Advice and signposting.**")
    assert "Risk factors: none found." in tier.markdown()


def test_tier_2_a_man_of_70_brief_gp_intervention() -> None:
    assert factors_and_tier(BASELINE.with_factors(MALE, OLDER)) == (2, (MALE, OLDER))


def test_tier_3_high_dose_alone_pcn_tapering_service() -> None:
    tier = replace(BASELINE, medicines=[morphine_mg_a_day(180)]).tier()
    assert tier is not None
    assert (tier.tier, tier.name, tier.factors) == (
        3,
        "Primary Care Network tapering service",
        (HIGH_DOSE,),
    )


def test_tier_4_complex_needs_specialist_multidisciplinary_team() -> None:
    p = BASELINE.with_factors(MALE, OLDER, BENZODIAZEPINE, DEPENDENCE, PSYCHOLOGICAL, EMERGENCY)
    tier = p.tier()
    assert tier is not None
    assert (tier.tier, tier.name) == (4, "Specialist multidisciplinary team")
    assert tier.factors == (MALE, OLDER, BENZODIAZEPINE, EMERGENCY, DEPENDENCE, PSYCHOLOGICAL)
    assert "**Support tier 4: Specialist multidisciplinary team.**" in tier.markdown()


# --- Boundary pairs: factor counts -------------------------------------------------------------


@pytest.mark.parametrize(
    ("fewer", "more", "tiers"),
    [
        pytest.param((MALE,), (MALE, OLDER), (1, 2), id="1-vs-2-factors"),
        pytest.param(
            (MALE, OLDER, BENZODIAZEPINE),
            (MALE, OLDER, BENZODIAZEPINE, UNEMPLOYED),
            (2, 3),
            id="3-vs-4-factors",
        ),
        pytest.param(
            (MALE, OLDER, BENZODIAZEPINE, UNEMPLOYED, EMERGENCY),
            (MALE, OLDER, BENZODIAZEPINE, UNEMPLOYED, EMERGENCY, PSYCHOLOGICAL),
            (3, 4),
            id="5-vs-6-factors",
        ),
        pytest.param((), (PSYCHOLOGICAL,), (1, 1), id="0-vs-1-factor"),
        pytest.param(
            (OLDER, BENZODIAZEPINE, SEXUAL_ABUSE),
            (OLDER, BENZODIAZEPINE, SEXUAL_ABUSE, DEPENDENCE),
            (2, 3),
            id="3-vs-4-factors-a-woman",
        ),
    ],
)
def test_factor_count_boundaries(
    fewer: tuple[str, ...], more: tuple[str, ...], tiers: tuple[int, int]
) -> None:
    assert factors_and_tier(BASELINE.with_factors(*fewer)) == (tiers[0], fewer)
    tier, found = factors_and_tier(BASELINE.with_factors(*more))
    assert (tier, set(found)) == (tiers[1], set(more))


def test_seven_factors_without_a_high_dose_is_tier_4() -> None:
    everything = (MALE, OLDER, BENZODIAZEPINE, UNEMPLOYED, EMERGENCY, DEPENDENCE, PSYCHOLOGICAL)
    assert factors_and_tier(BASELINE.with_factors(*everything)) == (4, everything)


# --- Boundary pairs: the dose -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("mg", "high"),
    [
        pytest.param(119.9, False, id="119.9"),
        pytest.param(120.0, True, id="120-is-high-dose-as-in-the-rules"),
    ],
)
def test_120mg_ome_a_day_or_more_is_the_high_dose_factor_and_tier_3(mg: float, high: bool) -> None:
    p = replace(BASELINE, medicines=[morphine_mg_a_day(mg)])
    tier, regimen = PIPELINE.support_tier(p.record(), TODAY)
    assert regimen.current_total == mg
    assert tier is not None
    assert (tier.tier, tier.factors) == ((3, (HIGH_DOSE,)) if high else (1, ()))


@pytest.mark.parametrize(("dependence", "tier"), [(False, 3), (True, 4)])
def test_high_dose_with_a_dependence_history_is_tier_4_without_it_tier_3(
    dependence: bool, tier: int
) -> None:
    p = replace(BASELINE, medicines=[morphine_mg_a_day(120.1)])
    if dependence:
        p = p.with_factors(DEPENDENCE)
    assert factors_and_tier(p) == (
        tier,
        (DEPENDENCE, HIGH_DOSE) if dependence else (HIGH_DOSE,),
    )


def test_a_dependence_history_without_a_high_dose_is_one_factor() -> None:
    p = replace(BASELINE, medicines=[morphine_mg_a_day(119.9)]).with_factors(DEPENDENCE)
    assert factors_and_tier(p) == (1, (DEPENDENCE,))


def test_a_high_dose_and_five_other_factors_without_dependence_is_tier_4_by_count() -> None:
    p = replace(BASELINE, medicines=[morphine_mg_a_day(150)]).with_factors(
        MALE, OLDER, BENZODIAZEPINE, UNEMPLOYED, EMERGENCY
    )
    assert factors_and_tier(p)[0] == 4
    p = replace(BASELINE, medicines=[morphine_mg_a_day(150)]).with_factors(
        MALE, OLDER, BENZODIAZEPINE, UNEMPLOYED
    )
    assert factors_and_tier(p)[0] == 3


def test_the_dose_counts_every_opioid_together() -> None:
    p = replace(BASELINE, medicines=[morphine_mg_a_day(60.1, 0), morphine_mg_a_day(60, 1)])
    assert factors_and_tier(p) == (3, (HIGH_DOSE,))


# --- Boundary pairs: age, A&E, sex ------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth_date", "older"),
    [
        pytest.param(born_years_ago(65, days_later=1), False, id="64-turning-65-tomorrow"),
        pytest.param(born_years_ago(65), True, id="65-today"),
        pytest.param(born_years_ago(64), False, id="64"),
    ],
)
def test_older_age_is_65_and_over(birth_date: str, older: bool) -> None:
    p = replace(BASELINE.with_factors(MALE), birth_date=birth_date)
    assert factors_and_tier(p) == ((2, (MALE, OLDER)) if older else (1, (MALE,)))


@pytest.mark.parametrize(
    ("days_ago", "counts"),
    [
        pytest.param(364, True, id="364-days-ago"),
        pytest.param(365, True, id="365-days-ago"),
        pytest.param(366, False, id="366-days-ago"),
        pytest.param(0, True, id="today"),
        pytest.param(-1, False, id="tomorrow"),
    ],
)
def test_an_a_and_e_attendance_counts_for_12_months(days_ago: int, counts: bool) -> None:
    p = replace(BASELINE, encounters=[emergency_visit(days_ago)])
    assert factors_and_tier(p) == (1, (EMERGENCY,) if counts else ())


def test_an_encounter_that_is_not_emergency_care_is_not_an_a_and_e_attendance() -> None:
    gp_visit = read_encounter(
        {
            "resourceType": "Encounter",
            "status": "finished",
            "class": {"code": "AMB"},
            "type": [{"text": "GP consultation"}],
            "period": {"start": (TODAY - timedelta(days=10)).isoformat()},
        },
        "encounter",
    )
    typed_a_and_e = read_encounter(
        {
            "resourceType": "Encounter",
            "status": "finished",
            "class": {"code": "AMB"},
            "type": [{"text": "Accident and Emergency attendance"}],
            "period": {"start": (TODAY - timedelta(days=10)).isoformat()},
        },
        "encounter",
    )
    assert factors_and_tier(replace(BASELINE, encounters=[gp_visit])) == (1, ())
    assert factors_and_tier(replace(BASELINE, encounters=[typed_a_and_e])) == (1, (EMERGENCY,))


def test_a_sexual_abuse_history_is_a_factor_for_a_woman_not_for_a_man() -> None:
    woman = BASELINE.with_factors(SEXUAL_ABUSE)
    man = BASELINE.with_factors(SEXUAL_ABUSE, MALE)
    assert factors_and_tier(woman) == (1, (SEXUAL_ABUSE,))
    assert factors_and_tier(man) == (1, (MALE,))


def test_a_free_text_history_counts_and_resolved_histories_count() -> None:
    text_only = read_coded(
        {
            "resourceType": "Condition",
            "clinicalStatus": {"coding": [{"code": "inactive"}]},
            "code": {"text": "History of childhood sexual abuse"},
        },
        "condition",
    )
    assert factors_and_tier(replace(BASELINE, conditions=[text_only])) == (1, (SEXUAL_ABUSE,))


def test_a_resolved_depression_is_not_a_current_psychological_condition() -> None:
    p = replace(BASELINE, conditions=[condition(SNOMED, "35489007", "resolved")])
    assert factors_and_tier(p) == (1, ())


def test_unemployment_recorded_as_a_condition_counts_too() -> None:
    p = replace(BASELINE, conditions=[condition(ICD10, "Z56.0")], observations=None)
    assert factors_and_tier(p) == (1, (UNEMPLOYED,))


# --- No opioid; data not sent -----------------------------------------------------------------


def test_no_opioid_no_tier() -> None:
    p = replace(
        BASELINE.with_factors(MALE, OLDER, DEPENDENCE),
        medicines=[_medication(DIAZEPAM, 0, {"text": "one at night"})],
    )
    tier, regimen = PIPELINE.support_tier(p.record(), TODAY)
    assert tier is None and regimen.current_total == 0


def _not_checked(p: Patient) -> tuple[str, ...]:
    tier = p.tier()
    assert tier is not None
    assert not set(tier.not_checked) & set(tier.factors)
    return tier.not_checked


def test_no_patient_resource_age_and_sex_are_not_checked() -> None:
    assert _not_checked(replace(BASELINE, send_patient=False)) == (MALE, OLDER)


def test_a_patient_without_a_birth_date_or_gender() -> None:
    assert _not_checked(replace(BASELINE, birth_date=None)) == (OLDER,)
    assert _not_checked(replace(BASELINE, gender=None)) == (MALE,)


def test_no_patient_with_a_sexual_abuse_history_that_factor_is_not_checked_either() -> None:
    p = replace(BASELINE.with_factors(SEXUAL_ABUSE), send_patient=False)
    assert _not_checked(p) == (MALE, OLDER, SEXUAL_ABUSE)


def test_no_conditions_or_observations_the_coded_history_is_not_checked() -> None:
    p = replace(BASELINE, conditions=None, observations=None)
    assert _not_checked(p) == (UNEMPLOYED, DEPENDENCE, PSYCHOLOGICAL, SEXUAL_ABUSE)


def test_for_a_man_the_womens_factor_is_ruled_out_not_unchecked() -> None:
    p = replace(BASELINE.with_factors(MALE), conditions=None, observations=None)
    assert _not_checked(p) == (UNEMPLOYED, DEPENDENCE, PSYCHOLOGICAL)


def test_observations_alone_are_enough_to_check_unemployment() -> None:
    p = replace(BASELINE, conditions=None)
    assert _not_checked(p) == (DEPENDENCE, PSYCHOLOGICAL, SEXUAL_ABUSE)


def test_no_encounters_a_and_e_attendance_is_not_checked() -> None:
    assert _not_checked(replace(BASELINE, encounters=None)) == (EMERGENCY,)


def test_nothing_but_the_medicines_every_factor_is_found_or_not_checked() -> None:
    p = replace(BASELINE, send_patient=False, conditions=None, observations=None, encounters=None)
    tier = p.tier()
    assert tier is not None and tier.tier == 1
    assert tier.factors == ()
    # Benzodiazepines and the dose come from the medicines, which were sent.
    assert set(tier.not_checked) == set(ALL_FACTORS) - {BENZODIAZEPINE, HIGH_DOSE}
    assert "Not checked (no data): Male; Older age;" in tier.markdown()


def test_unknown_data_never_hides_a_factor_that_is_present() -> None:
    p = replace(
        BASELINE.with_factors(BENZODIAZEPINE),
        medicines=[morphine_mg_a_day(200), _medication(DIAZEPAM, 9, {"text": "one at night"})],
        send_patient=False,
        conditions=None,
        observations=None,
        encounters=None,
    )
    tier = p.tier()
    assert tier is not None
    assert (tier.tier, tier.factors) == (3, (BENZODIAZEPINE, HIGH_DOSE))
    assert DEPENDENCE in tier.not_checked  # which would make it tier 4: the prescriber is told
