"""Facts about the patient (``service/facts/patient.py``): age and sex, cancer or palliative
care, and the records behind the national review's risk characteristics.

Data that was not sent is unknown (None), never absent (False): each fact has a vignette
where the data was sent and says yes, sent and says no, and was not sent. Today is
22 November 2026.
"""

from __future__ import annotations

from typing import Any

import pytest

from service.fhir.systems import ICD_10, SNOMED_CT
from tests.unit.facts.vignettes import (
    born_years_ago,
    condition,
    encounter,
    facts,
    patient,
    social_history,
)

UNKNOWN_WITHOUT_DATA = (
    "sex_male",
    "sex_female",
    "patient_age_years",
    "unemployed_recorded",
    "emergency_attendances_past_year",
    "dependence_history_recorded",
    "psychological_condition_recorded",
    "sexual_abuse_history_recorded",
    "substance_misuse_recorded",
)
RECORD_FACTS = (
    "unemployed_recorded",
    "dependence_history_recorded",
    "psychological_condition_recorded",
    "sexual_abuse_history_recorded",
)

MALIGNANT_NEOPLASM = condition("363346000", display="Malignant neoplastic disease")
DEPRESSION = condition("35489007")
ALCOHOL_DEPENDENCE_RESOLVED = condition("66590003", status="resolved")
CHILD_SEXUAL_ABUSE_RESOLVED = condition("Z61.4", ICD_10, status="resolved")
UNEMPLOYED = social_history("73438004", "Unemployed")


def with_conditions(*conditions: Any) -> dict[str, Any]:
    """The conditions prefetch was sent and holds these (none: satisfied, no data)."""
    return facts(conditions=list(conditions) or None)


def aged(gender: str | None, birth_date: str | None) -> dict[str, Any]:
    return facts(patient=[patient(gender, birth_date)])


# --- Unknown versus absent ---------------------------------------------------------------------


@pytest.mark.parametrize("fact", UNKNOWN_WITHOUT_DATA)
def test_unknown_not_false_when_only_the_medicines_were_sent(fact: str) -> None:
    assert facts()[fact] is None


@pytest.mark.parametrize("fact", RECORD_FACTS)
def test_false_when_conditions_and_observations_were_sent_and_say_nothing(fact: str) -> None:
    assert facts(conditions=None, observations=None)[fact] is False


# --- Cancer or palliative care -----------------------------------------------------------------


def test_cancer_or_palliative_care_true_for_an_active_malignant_neoplasm() -> None:
    f = with_conditions(MALIGNANT_NEOPLASM)
    assert f["cancer_or_palliative_care"] is True
    assert f["cancer_or_palliative_records"] == "Malignant neoplastic disease (363346000)"


def test_cancer_or_palliative_care_true_for_palliative_care_written_as_text() -> None:
    f = with_conditions(condition(None, text="Palliative care"))
    assert f["cancer_or_palliative_care"] is True
    assert f["cancer_or_palliative_records"] == "'Palliative care' (text)"


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(condition("363346000", status="resolved"), id="resolved"),
        pytest.param(
            {**condition("363346000"), "verificationStatus": {"coding": [{"code": "refuted"}]}},
            id="refuted",
        ),
        pytest.param(DEPRESSION, id="depression-only"),
    ],
)
def test_cancer_or_palliative_care_false_without_an_active_cancer(record: Any) -> None:
    f = with_conditions(record)
    assert (f["cancer_or_palliative_care"], f["cancer_or_palliative_records"]) == (False, None)


def test_cancer_or_palliative_care_unknown_when_the_conditions_prefetch_was_not_sent() -> None:
    """Unknown, not "no cancer": the rules' exclusions read None as not holding, and the
    cards say conditions were not checked (``conditions_available``)."""
    f = facts()
    assert (f["cancer_or_palliative_care"], f["conditions_available"]) == (None, False)
    assert f["cancer_or_palliative_records"] is None


# --- Cancer or palliative care: codes first, negation-safe text (issue 9) -----------------------
# Boundary pairs with UK problem-list wording: each pair is one record that is not the patient's
# cancer (the card must not be silenced) beside one that is.

#: A code system the cancer set does not cover (Read CTV3, as some GP systems still send).
CTV3 = "http://read.info/ctv3"


def cancer(*records: Any) -> tuple[Any, Any]:
    f = with_conditions(*records)
    return f["cancer_or_palliative_care"], f["cancer_or_palliative_records"]


@pytest.mark.parametrize(
    ("not_cancer", "cancer_text"),
    [
        pytest.param("Chronic non-malignant pain", "Chronic pain due to malignancy", id="non-"),
        pytest.param("Chronic non-cancer pain", "Cancer pain", id="non-cancer"),
        pytest.param(
            "Non malignant chronic low back pain",
            "Malignant spinal cord compression",
            id="non-space",
        ),
        pytest.param("Malignant hypertension", "Malignant melanoma of skin", id="not-meaning"),
        pytest.param("Neuroleptic malignant syndrome", "Malignant neoplasm of pancreas", id="NMS"),
        pytest.param("FH: breast cancer", "Breast cancer", id="FH:"),
        pytest.param("Family history of bowel cancer", "Bowel cancer", id="family-history"),
        pytest.param("Mother had breast cancer aged 50", "Breast cancer aged 50", id="mother-had"),
        pytest.param("?cancer", "Cancer", id="query"),
        pytest.param("? lung cancer - 2WW referral", "Lung cancer - 2WW referral", id="query-2ww"),
        pytest.param("Suspected prostate cancer", "Prostate cancer", id="suspected"),
        pytest.param("No evidence of metastatic disease", "Metastatic disease", id="no-evidence"),
        pytest.param("Bowel cancer screening - normal", "Bowel cancer", id="screening"),
        pytest.param("Ductal carcinoma in situ", "Ductal carcinoma of breast", id="in-situ"),
    ],
)
def test_text_only_cancer_words_negated_or_qualified_are_not_cancer(
    not_cancer: str, cancer_text: str
) -> None:
    """No coding at all: text is the fallback, read as whole words, refused when negated,
    queried, a relative's, or part of a phrase that is not cancer."""
    assert cancer(condition(None, text=not_cancer)) == (False, None)
    assert cancer(condition(None, text=cancer_text)) == (True, f"'{cancer_text}' (text)")


def test_text_keywords_are_whole_words_and_word_parts_only_where_listed() -> None:
    """ "Sarcoidosis" is not sarcoma; "adenocarcinoma" is carcinoma ("*carcinoma*")."""
    assert cancer(condition(None, text="Pulmonary sarcoidosis")) == (False, None)
    assert cancer(condition(None, text="Adenocarcinoma of prostate"))[0] is True


def test_a_clause_break_ends_a_negation() -> None:
    """ "FH diabetes. Bowel cancer" - the family history is about the diabetes only."""
    assert cancer(condition(None, text="FH diabetes. Bowel cancer"))[0] is True
    assert cancer(condition(None, text="FH: bowel cancer"))[0] is False


@pytest.mark.parametrize(
    ("record", "evidence"),
    [
        pytest.param(
            condition("118599009", display="Hodgkin's disease"),
            "Hodgkin's disease (118599009)",
            id="hodgkins-disease",
        ),
        pytest.param(
            condition("363418001"),
            "Malignant tumor of pancreas (363418001)",
            id="pancreatic-cancer-code-only",
        ),
        pytest.param(
            condition("C25.9", ICD_10, display="Malignant neoplasm of pancreas, unspecified"),
            "Malignant neoplasm of pancreas, unspecified (C25.9)",
            id="icd10-c25.9",
        ),
        pytest.param(condition("C259", ICD_10), "C259 (C259)", id="icd10-without-dot"),
        pytest.param(condition("Z51.5", ICD_10), "Palliative care (Z51.5)", id="icd10-z51.5"),
        pytest.param(condition("Z515", ICD_10), "Palliative care (Z515)", id="icd10-z515"),
        pytest.param(
            condition("1403151000000103", display="On palliative care register"),
            "On palliative care register (1403151000000103)",
            id="palliative-care-register",
        ),
    ],
)
def test_coded_cancer_and_palliative_care_are_recognised_by_code(
    record: Any, evidence: str
) -> None:
    """Codes from the published lists, descendants included, and ICD-10 by block (with or
    without the dot). A code sent without a display is shown with the code set's
    description."""
    assert cancer(record) == (True, evidence)


@pytest.mark.parametrize(
    ("not_cancer", "cancer_record"),
    [
        pytest.param(
            condition("82423001", display="Chronic non-malignant pain"),
            condition("363418001", display="Malignant tumor of pancreas"),
            id="snomed-chronic-pain",
        ),
        pytest.param(
            condition("70272006", display="Malignant hypertension"),
            condition("372244006", display="Malignant melanoma"),
            id="snomed-malignant-hypertension",
        ),
        pytest.param(
            condition("429740004", display="Family history of malignant neoplasm of breast"),
            condition("254837009", display="Malignant neoplasm of breast"),
            id="snomed-family-history",
        ),
        pytest.param(
            condition("Z80.3", ICD_10, display="Family history of malignant neoplasm of breast"),
            condition("C50.9", ICD_10, display="Malignant neoplasm of breast, unspecified"),
            id="icd10-z80-family-history",
        ),
        pytest.param(
            condition("C44.3", ICD_10, display="Basal cell carcinoma of skin of face"),
            condition("C43.3", ICD_10, display="Malignant melanoma of other parts of face"),
            id="icd10-c44-not-counted",
        ),
        pytest.param(
            condition("D05.1", ICD_10, display="Intraductal carcinoma in situ"),
            condition("C50.1", ICD_10, display="Malignant neoplasm of central portion of breast"),
            id="icd10-in-situ-not-counted",
        ),
    ],
)
def test_a_code_the_set_covers_decides_whatever_its_words_say(
    not_cancer: Any, cancer_record: Any
) -> None:
    """Codes first: a SNOMED CT or ICD-10 coded record is judged by its code; the words of its
    display are not read ("Malignant hypertension", "Family history of ... cancer")."""
    assert cancer(not_cancer) == (False, None)
    assert cancer(cancer_record)[0] is True


def test_a_code_from_a_system_the_set_does_not_cover_falls_back_to_negation_safe_text() -> None:
    assert cancer(condition("B1...", CTV3, display="Malignant neoplasm of pancreas"))[0] is True
    assert cancer(condition("12C1.", CTV3, display="FH: Breast cancer")) == (False, None)


@pytest.mark.parametrize(
    ("clinical", "verification", "counts"),
    [
        pytest.param("active", None, True, id="active"),
        pytest.param("recurrence", None, True, id="recurrence"),
        pytest.param("relapse", None, True, id="relapse"),
        pytest.param("remission", None, False, id="remission"),
        pytest.param("resolved", None, False, id="resolved"),
        pytest.param("inactive", None, False, id="inactive"),
        pytest.param("active", "confirmed", True, id="confirmed"),
        pytest.param("active", "provisional", True, id="provisional"),
        pytest.param("active", "refuted", False, id="refuted"),
        pytest.param("active", "entered-in-error", False, id="entered-in-error"),
    ],
)
def test_only_an_active_unrefuted_cancer_counts(
    clinical: str, verification: str | None, counts: bool
) -> None:
    """clinicalStatus resolved/inactive/remission is not active cancer; verificationStatus
    refuted or entered-in-error is not evidence of anything (CodedRecord.refuted)."""
    record = condition("118599009", status=clinical, display="Hodgkin's disease")
    if verification is not None:
        record["verificationStatus"] = {"coding": [{"code": verification}]}
    assert cancer(record)[0] is counts


# --- Conditions available ----------------------------------------------------------------------


def test_conditions_available_true_when_the_conditions_prefetch_was_sent_empty() -> None:
    assert facts(conditions=None)["conditions_available"] is True


def test_conditions_available_true_for_conditions_sent_under_a_clients_own_key() -> None:
    assert facts(problems=[DEPRESSION])["conditions_available"] is True


def test_conditions_available_false_when_the_conditions_prefetch_was_not_sent() -> None:
    assert facts(patient=[patient()])["conditions_available"] is False


# --- Sex and age -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gender", "male", "female"),
    [
        pytest.param("male", True, False, id="a-man"),
        pytest.param("female", False, True, id="a-woman"),
        pytest.param(None, None, None, id="no-gender-recorded"),
        pytest.param("unknown", None, None, id="gender-recorded-as-unknown"),
        pytest.param("other", False, False, id="gender-other"),
    ],
)
def test_sex_male_and_sex_female_from_patient_gender(
    gender: str | None, male: bool | None, female: bool | None
) -> None:
    f = aged(gender, born_years_ago(40))
    assert (f["sex_male"], f["sex_female"]) == (male, female)


@pytest.mark.parametrize(
    ("birth_date", "age"),
    [
        pytest.param(born_years_ago(65), 65.0, id="65-today"),
        pytest.param(born_years_ago(65, days_later=1), 64.0, id="65-tomorrow"),
        pytest.param(born_years_ago(64), 64.0, id="64-today"),
    ],
)
def test_patient_age_years_in_whole_years_either_side_of_a_birthday(
    birth_date: str, age: float
) -> None:
    assert aged("male", birth_date)["patient_age_years"] == age


def test_patient_age_years_none_for_a_patient_without_a_birth_date() -> None:
    assert aged("male", None)["patient_age_years"] is None


# --- Unemployment ------------------------------------------------------------------------------


def test_unemployed_recorded_true_for_a_social_history_observation() -> None:
    assert facts(observations=[UNEMPLOYED])["unemployed_recorded"] is True


def test_unemployed_recorded_true_for_a_free_text_out_of_work_observation() -> None:
    f = facts(observations=[social_history(None, "Out of work since March")])
    assert f["unemployed_recorded"] is True


def test_unemployed_recorded_true_for_an_active_icd10_z56_condition() -> None:
    assert with_conditions(condition("Z56.0", ICD_10))["unemployed_recorded"] is True


def test_unemployed_recorded_false_when_the_unemployment_is_resolved() -> None:
    f = with_conditions(condition("Z56.0", ICD_10, status="resolved"))
    assert f["unemployed_recorded"] is False


def test_unemployed_recorded_false_for_a_cancelled_observation() -> None:
    f = facts(observations=[social_history("73438004", "Unemployed", status="cancelled")])
    assert f["unemployed_recorded"] is False


def test_unemployed_recorded_false_not_unknown_when_only_observations_were_sent() -> None:
    assert facts(observations=None)["unemployed_recorded"] is False


# --- Emergency attendances ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("started_days_ago", "count"),
    [
        pytest.param(0, 1.0, id="today"),
        pytest.param(365, 1.0, id="365-days-ago"),
        pytest.param(366, 0.0, id="366-days-ago"),
        pytest.param(-1, 0.0, id="tomorrow"),
    ],
)
def test_emergency_attendances_past_year_either_side_of_the_365_day_look_back(
    started_days_ago: int, count: float
) -> None:
    f = facts(encounters=[encounter(started_days_ago)])
    assert f["emergency_attendances_past_year"] == count


def test_emergency_attendances_past_year_counts_two_visits_and_an_a_and_e_typed_one() -> None:
    visits = [encounter(10), encounter(200), encounter(30, "AMB", "Accident and Emergency")]
    assert facts(encounters=visits)["emergency_attendances_past_year"] == 3.0


def test_emergency_attendances_past_year_0_for_a_gp_consultation() -> None:
    f = facts(encounters=[encounter(10, "AMB", "GP consultation")])
    assert f["emergency_attendances_past_year"] == 0.0


def test_emergency_attendances_past_year_0_not_unknown_when_encounters_were_sent_empty() -> None:
    assert facts(encounters=None)["emergency_attendances_past_year"] == 0.0


# --- Histories ---------------------------------------------------------------------------------


def test_dependence_history_recorded_true_for_a_resolved_alcohol_dependence() -> None:
    f = with_conditions(ALCOHOL_DEPENDENCE_RESOLVED)
    assert f["dependence_history_recorded"] is True


def test_dependence_history_recorded_false_for_depression_alone() -> None:
    assert with_conditions(DEPRESSION)["dependence_history_recorded"] is False


def test_substance_misuse_recorded_true_for_a_resolved_alcohol_dependence() -> None:
    """The patient's own history counts when resolved (CDC: "now or in the past")."""
    assert with_conditions(ALCOHOL_DEPENDENCE_RESOLVED)["substance_misuse_recorded"] is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("History of drug misuse", True),
        ("FH: alcohol dependence", False),  # a relative's, unlike dependence_history_recorded
        ("No history of substance misuse", False),
    ],
)
def test_substance_misuse_recorded_from_free_text_is_the_patients_own(
    text: str, expected: bool
) -> None:
    f = with_conditions(condition(None, text=text))
    assert f["substance_misuse_recorded"] is expected


def test_substance_misuse_recorded_false_for_depression_alone() -> None:
    assert with_conditions(DEPRESSION)["substance_misuse_recorded"] is False


def test_psychological_condition_recorded_true_for_active_depression() -> None:
    assert with_conditions(DEPRESSION)["psychological_condition_recorded"] is True


def test_psychological_condition_recorded_false_for_resolved_depression() -> None:
    f = with_conditions(condition("35489007", status="resolved"))
    assert f["psychological_condition_recorded"] is False


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(CHILD_SEXUAL_ABUSE_RESOLVED, id="icd10-z61.4-resolved"),
        pytest.param(
            condition(None, status="inactive", text="History of childhood sexual abuse"),
            id="free-text",
        ),
    ],
)
def test_sexual_abuse_history_recorded_true_for_a_history_even_when_resolved(record: Any) -> None:
    assert with_conditions(record)["sexual_abuse_history_recorded"] is True


@pytest.mark.parametrize(
    ("fact", "code", "system"),
    [
        ("dependence_history_recorded", "66590003", SNOMED_CT),
        ("sexual_abuse_history_recorded", "Z61.4", ICD_10),
    ],
)
def test_a_history_entered_in_error_is_not_a_history(fact: str, code: str, system: str) -> None:
    record = condition(code, system, status="resolved")
    record["verificationStatus"] = {"coding": [{"code": "entered-in-error"}]}
    assert with_conditions(record)[fact] is False


def test_a_dependence_history_sent_as_an_observation_counts_without_conditions() -> None:
    """Positive evidence is never hidden as unknown because another kind of data is
    missing: a history recorded as social history shows even with no conditions sent."""
    history = social_history("66590003", "Alcohol dependence")
    f = facts(observations=[history])
    assert f["dependence_history_recorded"] is True
    assert facts(observations=None)["dependence_history_recorded"] is None


def test_sexual_abuse_history_recorded_false_for_alcohol_dependence_alone() -> None:
    f = with_conditions(ALCOHOL_DEPENDENCE_RESOLVED)
    assert f["sexual_abuse_history_recorded"] is False


@pytest.mark.parametrize(
    "fact",
    [
        "dependence_history_recorded",
        "psychological_condition_recorded",
        "sexual_abuse_history_recorded",
    ],
)
def test_history_facts_unknown_when_the_patient_and_encounters_but_no_conditions_were_sent(
    fact: str,
) -> None:
    f = facts(patient=[patient()], encounters=None, observations=None)
    assert f[fact] is None
