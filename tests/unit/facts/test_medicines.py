"""Facts about the patient's medicines (``service/facts/medicines.py``): what is proposed,
what is current, the totals, the unresolved items and the names shown on cards.

The baseline patient takes morphine MR 30mg twice a day (60 mg OME/day, since 1 October
2026); each vignette adds what it is about. Today is 22 November 2026.
"""

from __future__ import annotations

import pytest

from tests.unit.facts.vignettes import (
    CODEINE_30,
    GABAPENTIN_CAPS_300,
    ZOPICLONE_7_5,
    draft,
    facts,
    morphine_mg_a_day,
    taking,
)
from tests.unit.ome.fhir_builders import (
    AMOXICILLIN_500,
    CO_CODAMOL_30_500,
    DIAZEPAM_2,
    METHADONE_SOLUTION_1MG_ML,
    MORPHINE_GEL,
    MORPHINE_MR_15,
    MORPHINE_MR_30,
    MORPHINE_MR_60,
    MORPHINE_VTM,
    OXYCODONE_CAPS_5,
    OXYCODONE_MR_40,
    PREGABALIN_CAPS_300,
    SUBUTEX_8,
    Json,
    Med,
)

QDS_TEXT = "one four times a day"

ON_MORPHINE_MR = [taking(MORPHINE_MR_30)]
CLASS_FACTS = ("proposed_opioid", "proposed_gabapentinoid", "proposed_sedative")


def drafted_to_morphine_patient(*orders: Json) -> dict[str, object]:
    return facts(current=ON_MORPHINE_MR, orders=list(orders))


# --- What is proposed --------------------------------------------------------------------------


def test_proposed_opioid_true_for_a_draft_of_oxycodone_mr() -> None:
    assert facts(orders=[draft(OXYCODONE_MR_40)])["proposed_opioid"] is True


def test_proposed_opioid_false_when_only_pregabalin_is_drafted_for_a_patient_on_morphine() -> None:
    f = drafted_to_morphine_patient(draft(PREGABALIN_CAPS_300))
    assert (f["proposed_opioid"], f["opioid_in_regimen"]) == (False, True)


def test_proposed_opioid_false_for_a_draft_of_morphine_gel_a_topical_product() -> None:
    assert facts(orders=[draft(MORPHINE_GEL, "apply twice a day")])["proposed_opioid"] is False


@pytest.mark.parametrize(
    ("product", "fact"),
    [
        pytest.param(OXYCODONE_MR_40, "proposed_opioid", id="oxycodone-mr"),
        pytest.param(CO_CODAMOL_30_500, "proposed_opioid", id="co-codamol"),
        pytest.param(PREGABALIN_CAPS_300, "proposed_gabapentinoid", id="pregabalin"),
        pytest.param(GABAPENTIN_CAPS_300, "proposed_gabapentinoid", id="gabapentin"),
        pytest.param(DIAZEPAM_2, "proposed_sedative", id="diazepam"),
        pytest.param(ZOPICLONE_7_5, "proposed_sedative", id="zopiclone-a-z-drug"),
        pytest.param(AMOXICILLIN_500, None, id="amoxicillin-none-of-them"),
    ],
)
def test_proposed_opioid_gabapentinoid_or_sedative_by_the_class_of_the_draft(
    product: Med, fact: str | None
) -> None:
    f = drafted_to_morphine_patient(draft(product))
    assert {name: f[name] for name in CLASS_FACTS} == {name: name == fact for name in CLASS_FACTS}


# --- What is current or proposed ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "fact", "expected"),
    [
        pytest.param(taking(MORPHINE_MR_30), "opioid_in_regimen", True, id="morphine-mr"),
        pytest.param(
            taking(MORPHINE_MR_30, status="stopped"),
            "opioid_in_regimen",
            False,
            id="morphine-mr-stopped",
        ),
        pytest.param(
            taking(MORPHINE_GEL, "apply twice a day"),
            "opioid_in_regimen",
            False,
            id="morphine-gel-topical",
        ),
        pytest.param(
            taking(PREGABALIN_CAPS_300), "gabapentinoid_in_regimen", True, id="pregabalin"
        ),
        pytest.param(
            taking(PREGABALIN_CAPS_300, status="completed"),
            "gabapentinoid_in_regimen",
            False,
            id="pregabalin-completed",
        ),
        pytest.param(
            taking(DIAZEPAM_2, "one at night"), "sedative_in_regimen", True, id="diazepam"
        ),
        pytest.param(
            taking(DIAZEPAM_2, "one at night", status="entered-in-error"),
            "sedative_in_regimen",
            False,
            id="diazepam-entered-in-error",
        ),
    ],
)
def test_in_regimen_facts_for_a_patient_prescribed_amoxicillin(
    current: Json, fact: str, expected: bool
) -> None:
    f = facts(current=[current], orders=[draft(AMOXICILLIN_500, "one three times a day")])
    assert f[fact] is expected


def test_opioid_in_regimen_true_for_a_first_opioid_that_is_only_proposed() -> None:
    assert facts(orders=[draft(OXYCODONE_MR_40)])["opioid_in_regimen"] is True


def test_gabapentinoid_and_sedative_in_regimen_true_when_only_proposed() -> None:
    f = drafted_to_morphine_patient(
        draft(PREGABALIN_CAPS_300), draft(ZOPICLONE_7_5, "one at night")
    )
    assert (f["gabapentinoid_in_regimen"], f["sedative_in_regimen"]) == (True, True)


# --- Totals ------------------------------------------------------------------------------------


def test_total_ome_current_is_60_for_morphine_mr_30mg_twice_a_day_whatever_is_drafted() -> None:
    f = drafted_to_morphine_patient(draft(OXYCODONE_MR_40))
    assert f["total_ome_current_mg_per_day"] == 60.0


def test_total_ome_current_is_0_for_a_patient_on_no_opioid() -> None:
    f = facts(current=[taking(DIAZEPAM_2, "one at night")], orders=[draft(OXYCODONE_MR_40)])
    assert f["total_ome_current_mg_per_day"] == 0
    assert f["total_ome_with_proposal_mg_per_day"] == 120.0


def test_total_ome_current_leaves_out_an_unresolved_opioid_rather_than_guess() -> None:
    f = facts(current=[taking(MORPHINE_MR_30), taking(MORPHINE_MR_60, "take as directed")])
    assert (f["total_ome_current_mg_per_day"], f["any_unresolved"]) == (60.0, True)


def test_total_ome_with_proposal_adds_oxycodone_mr_40mg_twice_a_day_to_the_morphine() -> None:
    f = drafted_to_morphine_patient(draft(OXYCODONE_MR_40))
    assert f["total_ome_with_proposal_mg_per_day"] == 180.0  # 60 + 80 mg × 1.5


def test_total_ome_with_proposal_counts_morphine_mr_60mg_in_place_of_the_30mg_it_replaces() -> None:
    f = drafted_to_morphine_patient(draft(MORPHINE_MR_60))
    assert (f["total_ome_current_mg_per_day"], f["total_ome_with_proposal_mg_per_day"]) == (
        60.0,
        120.0,
    )


@pytest.mark.parametrize(
    ("added_mg", "total"),
    [
        pytest.param(59.9, 119.9, id="just-below-120"),
        pytest.param(60.0, 120.0, id="at-120"),
    ],
)
def test_total_ome_with_proposal_either_side_of_the_120mg_high_dose_threshold(
    added_mg: float, total: float
) -> None:
    f = drafted_to_morphine_patient(morphine_mg_a_day(added_mg, status="draft"))
    assert f["total_ome_with_proposal_mg_per_day"] == total


@pytest.mark.parametrize(
    ("added_mg", "percent"),
    [
        pytest.param(29.4, 49.0, id="49-percent"),
        pytest.param(30.0, 50.0, id="50-percent"),
    ],
)
def test_ome_increase_percent_either_side_of_a_50_percent_escalation(
    added_mg: float, percent: float
) -> None:
    f = drafted_to_morphine_patient(morphine_mg_a_day(added_mg, status="draft"))
    assert f["ome_increase_percent"] == percent


def test_ome_increase_percent_negative_when_morphine_mr_is_halved_to_15mg() -> None:
    assert drafted_to_morphine_patient(draft(MORPHINE_MR_15))["ome_increase_percent"] == -50.0


def test_ome_increase_percent_none_for_a_first_opioid_when_the_current_total_is_0() -> None:
    f = facts(orders=[draft(OXYCODONE_MR_40)])
    assert f["total_ome_current_mg_per_day"] == 0
    assert f["ome_increase_percent"] is None


# --- Distinct opioids --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "count"),
    [
        pytest.param([taking(DIAZEPAM_2, "one at night")], 0, id="no-opioid"),
        pytest.param(
            [taking(MORPHINE_MR_30), morphine_mg_a_day(20)],
            1,
            id="morphine-mr-and-oramorph",
        ),
        pytest.param(
            [taking(MORPHINE_MR_30), taking(CO_CODAMOL_30_500, "two four times a day")],
            2,
            id="morphine-and-codeine-in-co-codamol",
        ),
        pytest.param(
            [taking(MORPHINE_MR_30), taking(OXYCODONE_MR_40)], 2, id="morphine-and-oxycodone"
        ),
    ],
)
def test_distinct_opioid_count_counts_ingredients_not_products(
    current: list[Json], count: int
) -> None:
    assert facts(current=current)["distinct_opioid_count"] == count


def test_distinct_opioid_count_includes_a_drafted_oxycodone() -> None:
    assert drafted_to_morphine_patient(draft(OXYCODONE_MR_40))["distinct_opioid_count"] == 2


# --- Duration of use ---------------------------------------------------------------------------


def codeine_refill(started: str) -> dict[str, object]:
    """A repeat of codeine 30mg four times a day, started on ``started``, issued today."""
    repeat = taking(CODEINE_30, "one four times a day", id="repeat", authored_on=started)
    issue = draft(
        CODEINE_30,
        "one four times a day",
        id="issue",
        status="active",
        prior="MedicationRequest/repeat",
    )
    return facts("medication-refill", current=[repeat], orders=[issue])


@pytest.mark.parametrize(
    ("started", "days"),
    [
        pytest.param("2026-08-24", 90.0, id="90-days"),
        pytest.param("2026-08-25", 89.0, id="89-days"),
    ],
)
def test_opioid_use_days_either_side_of_90_days_for_a_codeine_repeat(
    started: str, days: float
) -> None:
    assert codeine_refill(started)["opioid_use_days"] == days


def test_opioid_use_days_none_for_a_first_prescription_written_today() -> None:
    assert facts(orders=[draft(OXYCODONE_MR_40)])["opioid_use_days"] is None


def test_opioid_use_days_follows_prior_prescriptions_back_to_a_completed_one() -> None:
    may = taking(
        OXYCODONE_CAPS_5,
        "one four times a day",
        id="may",
        authored_on="2026-05-01",
        status="completed",
    )
    october = taking(
        OXYCODONE_CAPS_5,
        "one four times a day",
        id="oct",
        authored_on="2026-10-20",
        prior="MedicationRequest/may",
    )
    november = draft(OXYCODONE_CAPS_5, "one four times a day", prior="MedicationRequest/oct")
    f = facts(current=[may, october], orders=[november])
    assert f["opioid_use_days"] == 205.0  # 1 May to 22 November


# --- Unresolved medicines ----------------------------------------------------------------------


def test_any_unresolved_true_for_morphine_mr_taken_as_directed() -> None:
    f = facts(current=[taking(MORPHINE_MR_30, "take as directed")])
    assert (f["any_unresolved"], f["unresolved_count"]) == (True, 1)


def test_any_unresolved_false_when_every_medicine_has_a_dose() -> None:
    f = drafted_to_morphine_patient(draft(OXYCODONE_MR_40))
    assert (f["any_unresolved"], f["proposed_unresolved"], f["unresolved_count"]) == (
        False,
        False,
        0,
    )
    assert f["unresolved_names"] == ""


def test_proposed_unresolved_true_for_a_draft_of_oxycodone_without_a_dose() -> None:
    f = drafted_to_morphine_patient(draft(OXYCODONE_CAPS_5, None))
    assert (f["proposed_unresolved"], f["any_unresolved"]) == (True, True)


def test_proposed_unresolved_false_when_only_a_current_medicine_is_unresolved() -> None:
    f = facts(current=[taking(MORPHINE_MR_30, "take as directed")], orders=[draft(OXYCODONE_MR_40)])
    assert (f["proposed_unresolved"], f["any_unresolved"]) == (False, True)


def test_unresolved_count_and_names_for_morphine_by_substance_and_an_undosed_draft() -> None:
    f = facts(
        current=[taking(MORPHINE_VTM, "as directed"), taking(MORPHINE_MR_30)],
        orders=[draft(OXYCODONE_CAPS_5, None)],
    )
    assert f["unresolved_count"] == 2
    assert f["unresolved_names"] == "Morphine, Oxycodone 5mg capsules"


# --- Names shown on cards ----------------------------------------------------------------------


def test_opioid_names_lists_the_current_and_the_proposed_opioid() -> None:
    f = drafted_to_morphine_patient(draft(OXYCODONE_MR_40), draft(PREGABALIN_CAPS_300))
    assert f["opioid_names"] == (
        "Morphine 30mg modified-release tablets, Oxycodone 40mg modified-release tablets"
    )


def test_opioid_names_leaves_out_the_morphine_mr_30mg_a_60mg_draft_replaces() -> None:
    f = drafted_to_morphine_patient(draft(MORPHINE_MR_60))
    assert f["opioid_names"] == "Morphine 60mg modified-release tablets"


def test_sedative_names_lists_diazepam_and_a_drafted_zopiclone() -> None:
    f = facts(
        current=[taking(DIAZEPAM_2, "one at night")], orders=[draft(ZOPICLONE_7_5, "one at night")]
    )
    assert f["sedative_names"] == "Diazepam 2mg tablets, Zopiclone 7.5mg tablets"


def test_gabapentinoid_names_lists_the_drafted_pregabalin() -> None:
    f = drafted_to_morphine_patient(draft(PREGABALIN_CAPS_300))
    assert f["gabapentinoid_names"] == "Pregabalin 300mg capsules"


@pytest.mark.parametrize("fact", ["opioid_names", "sedative_names", "gabapentinoid_names"])
def test_names_are_empty_for_a_patient_on_amoxicillin_alone(fact: str) -> None:
    f = facts(current=[taking(AMOXICILLIN_500, "one three times a day")])
    assert f[fact] == ""


# --- Opioid substitution therapy (issue 9) -------------------------------------------------------

METHADONE_MAINTENANCE = taking(METHADONE_SOLUTION_1MG_ML, "40ml once daily")
SUBUTEX = taking(SUBUTEX_8, "one daily")


@pytest.mark.parametrize(
    "substitution", [METHADONE_MAINTENANCE, SUBUTEX], ids=["methadone-1mg-ml", "subutex-8mg"]
)
def test_substitution_therapy_is_an_opioid_for_co_prescribing_but_not_in_the_total(
    substitution: Json,
) -> None:
    """Diazepam drafted for a patient on methadone or buprenorphine for dependence: the
    opioid matters for respiratory depression, and stays out of the analgesic total."""
    f = facts(current=[substitution], orders=[draft(DIAZEPAM_2, "one at night")])
    assert (f["any_opioid_in_regimen"], f["substitution_therapy_in_regimen"]) == (True, True)
    assert (f["opioid_in_regimen"], f["total_ome_with_proposal_mg_per_day"]) == (False, 0.0)
    assert "(opioid substitution therapy)" in str(f["any_opioid_names"])


def test_no_substitution_therapy_for_a_patient_on_morphine_for_pain() -> None:
    f = facts(current=ON_MORPHINE_MR, orders=[draft(DIAZEPAM_2, "one at night")])
    assert (f["any_opioid_in_regimen"], f["substitution_therapy_in_regimen"]) == (True, False)
    assert f["any_opioid_names"] == MORPHINE_MR_30.name


def test_proposed_any_opioid_true_for_a_methadone_draft_false_for_morphine_gel() -> None:
    methadone = draft(METHADONE_SOLUTION_1MG_ML, "40ml once daily")
    assert facts(orders=[methadone])["proposed_any_opioid"] is True
    assert facts(orders=[methadone])["proposed_opioid"] is False
    gel = draft(MORPHINE_GEL, "apply twice a day")
    assert facts(orders=[gel])["proposed_any_opioid"] is False


def test_distinct_opioid_count_counts_substitution_therapy_with_an_analgesic() -> None:
    f = facts(current=[METHADONE_MAINTENANCE], orders=[draft(OXYCODONE_CAPS_5, QDS_TEXT)])
    assert f["distinct_opioid_count"] == 2
    assert f["total_ome_with_proposal_mg_per_day"] == 30.0  # oxycodone 20 mg/day only


# --- Whether the medicines list is complete ------------------------------------------------------


def _paginated(requests: list[Json]) -> dict[str, object]:
    bundle = {
        "resourceType": "Bundle",
        "type": "searchset",
        "link": [{"relation": "next", "url": "https://gp.example/fhir/MedicationRequest?page=2"}],
        "entry": [{"resource": r} for r in requests],
    }
    return facts(current=None, orders=[draft(PREGABALIN_CAPS_300)], medicationRequests=bundle)


def test_medicines_list_gap_names_a_paginated_search() -> None:
    f = _paginated(ON_MORPHINE_MR)
    assert f["medicines_list_gap_known"] is True
    assert (
        f["medicines_list_gap"]
        == "the medicines list was paginated and only its first page was read"
    )


def test_medicines_list_gap_absent_for_a_whole_list() -> None:
    f = drafted_to_morphine_patient(draft(PREGABALIN_CAPS_300))
    assert (f["medicines_list_gap_known"], f["medicines_list_gap"]) == (False, None)


def test_medicines_list_gap_names_an_operation_outcome_beside_the_medicines() -> None:
    outcome = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout"}],
    }
    f = facts(current=[*ON_MORPHINE_MR, outcome], orders=[draft(PREGABALIN_CAPS_300)])
    assert f["medicines_list_gap_known"] is True
    assert "OperationOutcome" in str(f["medicines_list_gap"])


# --- Naloxone (issue 17) -----------------------------------------------------------------------

#: RxNorm 1191212, the cqframework REC08 on-naloxone example's product.
NALOXONE_INJECTION = Med(
    "Naloxone Hydrochloride 0.02 MG/ML Injectable Solution",
    "1191212",
    "http://www.nlm.nih.gov/research/umls/rxnorm",
)
#: Named in text only (no naloxone-only product is in the reference dm+d lists).
NALOXONE_NASAL_BY_NAME = Med("Naloxone 1.8mg nasal spray", None)
OXYCODONE_NALOXONE = Med(
    "Oxycodone 10mg / Naloxone 5mg modified-release tablets", "14985811000001101"
)


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        pytest.param([taking(NALOXONE_INJECTION, "1ml when required")], True, id="rxnorm"),
        pytest.param([taking(NALOXONE_NASAL_BY_NAME, "one spray when required")], True, id="name"),
        pytest.param([taking(OXYCODONE_NALOXONE)], False, id="targinact-is-no-rescue"),
        pytest.param([taking(MORPHINE_MR_30)], False, id="none"),
    ],
)
def test_naloxone_in_regimen_counts_naloxone_alone_not_with_an_opioid(
    current: list[Json], expected: bool
) -> None:
    f = facts(current=current, orders=[draft(MORPHINE_MR_30)])
    assert f["naloxone_in_regimen"] is expected


def test_naloxone_in_regimen_unknown_when_the_medicines_list_was_not_sent() -> None:
    assert facts(current=None, orders=[draft(CODEINE_30)])["naloxone_in_regimen"] is None


# --- A dose no patient could take (a typing error in the order) ---------------------------------


def test_a_draft_of_morphine_at_12000_mg_a_day_is_implausible_and_named() -> None:
    f = facts(orders=[morphine_mg_a_day(12_000, status="draft")])
    assert f["proposed_dose_implausible"] is True
    assert f["proposed_implausible_names"] == "Morphine sulfate 10mg/5ml oral solution"


def test_a_draft_of_morphine_at_6000_mg_a_day_is_high_but_plausible() -> None:
    f = facts(orders=[morphine_mg_a_day(6_000, status="draft")])
    assert (f["proposed_dose_implausible"], f["proposed_implausible_names"]) == (False, "")


def test_an_implausible_current_medicine_is_not_a_proposed_one() -> None:
    f = facts(current=[morphine_mg_a_day(12_000)], orders=[draft(OXYCODONE_MR_40)])
    assert f["proposed_dose_implausible"] is False
