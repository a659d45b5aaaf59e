"""Facts about the prescribing event (``service/facts/event.py``): re-authorisation, hospital
discharge, the supply and the kind of opioid prescribed at discharge, and weaning plans.

Discharge vignettes are for a patient admitted 7 days ago (15 November 2026) and discharged
today, 22 November 2026, with an encounter-discharge call unless they say otherwise.
"""

from __future__ import annotations

from typing import Any

import pytest

from service.hooks import ENCOUNTER_DISCHARGE, MEDICATION_REFILL, ORDER_SELECT, ORDER_SIGN
from tests.unit.facts.vignettes import (
    ADMISSION,
    admission,
    days_ago,
    discharge_order,
    draft,
    facts,
    taking,
)
from tests.unit.ome.fhir_builders import (
    FENTANYL_PATCH_12,
    MORPHINE_MR_15,
    MORPHINE_MR_30,
    MORPHINE_MR_60,
    MORPHINE_SOLUTION_10_5,
    OXYCODONE_CAPS_5,
    OXYCODONE_MR_40,
    PREGABALIN_CAPS_300,
    Json,
    capsules,
    dosage,
    ml,
    patches,
    request,
    tablets,
)

QDS = "one four times a day"


def discharged_with(*orders: Json, current: tuple[Json, ...] = ()) -> dict[str, Any]:
    """An encounter-discharge for the admission that started 7 days ago."""
    return facts(
        ENCOUNTER_DISCHARGE,
        orders=list(orders),
        current=list(current),
        encounter_id=ADMISSION,
        encounter=[admission(7)],
    )


def discharge_oxycodone(**kw: Any) -> Json:
    return request(OXYCODONE_CAPS_5, text=QDS, authored_on=days_ago(0), **kw)


# --- Re-authorisation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hook", "order", "expected"),
    [
        pytest.param(MEDICATION_REFILL, taking(MORPHINE_MR_30), True, id="medication-refill"),
        pytest.param(
            ORDER_SIGN, draft(MORPHINE_MR_30, status="active"), True, id="order-sign-re-signed"
        ),
        pytest.param(
            ORDER_SIGN,
            draft(MORPHINE_MR_30, prior="MedicationRequest/old"),
            True,
            id="draft-with-prior-prescription",
        ),
        pytest.param(
            ORDER_SIGN,
            draft(MORPHINE_MR_30, based_on=["MedicationRequest/plan"]),
            True,
            id="draft-based-on-an-authorisation",
        ),
        pytest.param(ORDER_SIGN, draft(MORPHINE_MR_30), False, id="order-sign-new-draft"),
        pytest.param(
            ORDER_SELECT,
            draft(MORPHINE_MR_30, status="active"),
            False,
            id="order-select-active-is-not-a-re-signing",
        ),
    ],
)
def test_continues_prescription_by_hook_and_link(hook: str, order: Json, expected: bool) -> None:
    assert facts(hook, orders=[order])["continues_prescription"] is expected


def test_is_reauthorisation_true_for_a_repeat_of_morphine_mr_at_medication_refill() -> None:
    f = facts(MEDICATION_REFILL, current=[taking(MORPHINE_MR_30)], orders=[taking(MORPHINE_MR_30)])
    assert f["is_reauthorisation"] is True


def test_is_reauthorisation_false_for_a_new_draft_of_morphine_mr_at_order_sign() -> None:
    assert facts(ORDER_SIGN, orders=[draft(MORPHINE_MR_30)])["is_reauthorisation"] is False


# --- New start, added, increase, continue, decrease (ADR 0006) ---------------------------------

CURRENT_MST = taking(MORPHINE_MR_30, id="mst")  # 60 mg OME/day


def _change(order: Json, current: tuple[Json, ...] = (CURRENT_MST,), hook: str = ORDER_SIGN) -> Any:
    f = facts(hook, orders=[order], current=list(current))
    return (
        f["opioid_change"],
        f["is_reauthorisation"],
        f["opioid_started"],
        f["opioid_dose_increased"],
    )


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        pytest.param(
            draft(MORPHINE_MR_30, prior="MedicationRequest/mst"),
            ("continue", True, False, False),
            id="same-dose-with-prior-prescription-continues",
        ),
        pytest.param(
            draft(MORPHINE_MR_60, prior="MedicationRequest/mst"),
            ("increase", False, False, True),
            id="30-to-60-mg-with-prior-prescription-is-an-increase-not-a-re-authorisation",
        ),
        pytest.param(
            draft(MORPHINE_MR_15, prior="MedicationRequest/mst"),
            ("decrease", True, False, False),
            id="30-to-15-mg-is-a-decrease-and-still-a-re-authorisation",
        ),
        pytest.param(
            draft(MORPHINE_MR_60, based_on=["CarePlan/pain-plan"]),
            ("increase", False, False, True),
            id="based-on-a-care-plan-names-no-prescription-the-same-medicine-is-replaced",
        ),
        pytest.param(
            draft(OXYCODONE_MR_40, based_on=["CarePlan/pain-plan"]),
            ("added", False, True, False),
            id="oxycodone-added-to-morphine-based-on-a-care-plan",
        ),
        pytest.param(
            draft(MORPHINE_MR_30, sig="as directed", prior="MedicationRequest/mst"),
            ("unknown", False, False, False),
            id="a-dose-that-cannot-be-worked-out-is-unknown-not-a-re-authorisation",
        ),
    ],
)
def test_a_proposed_opioid_against_the_current_regimen(order: Json, expected: Any) -> None:
    assert _change(order) == expected


def test_a_linked_order_with_no_current_opioid_is_a_new_start() -> None:
    """A link to an authorisation the record does not hold proves nothing about what the
    patient takes: the risk-assessment prompt, not the taper."""
    order = draft(MORPHINE_MR_30, prior="MedicationRequest/not-in-the-record")
    assert _change(order, current=()) == ("new start", False, True, False)


def test_a_refill_that_raises_the_dose_is_no_re_authorisation() -> None:
    order = taking(MORPHINE_MR_60, prior="MedicationRequest/mst")
    assert _change(order, hook=MEDICATION_REFILL) == ("increase", False, False, True)


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        pytest.param((), True, id="no-opioid-before"),
        pytest.param((CURRENT_MST,), False, id="on-mst"),
    ],
)
def test_opioid_new_start_only_when_no_opioid_was_current(
    current: tuple[Json, ...], expected: bool
) -> None:
    f = facts(ORDER_SIGN, orders=[draft(OXYCODONE_MR_40)], current=list(current))
    assert f["opioid_new_start"] is expected


def test_opioid_change_is_absent_when_no_opioid_is_proposed() -> None:
    assert _change(draft(PREGABALIN_CAPS_300))[0] is None


# --- Discharge ---------------------------------------------------------------------------------


def test_is_discharge_true_at_encounter_discharge() -> None:
    assert discharged_with(discharge_oxycodone())["is_discharge"] is True


def test_is_discharge_true_for_an_order_sign_of_a_discharge_prescription() -> None:
    f = facts(ORDER_SIGN, orders=[discharge_order(draft(OXYCODONE_CAPS_5, QDS))])
    assert f["is_discharge"] is True


def test_is_discharge_false_for_an_order_sign_in_general_practice() -> None:
    assert facts(ORDER_SIGN, orders=[draft(OXYCODONE_CAPS_5, QDS)])["is_discharge"] is False


@pytest.mark.parametrize(
    ("supply_days", "expected"),
    [pytest.param(7, 7.0, id="7-days"), pytest.param(8, 8.0, id="8-days")],
)
def test_discharge_opioid_supply_days_from_the_expected_supply_duration(
    supply_days: int, expected: float
) -> None:
    order = discharge_oxycodone(dispense=(capsules(supply_days * 4), supply_days))
    assert discharged_with(order)["discharge_opioid_supply_days"] == expected


@pytest.mark.parametrize(
    ("capsule_count", "expected"),
    [pytest.param(28, 7.0, id="28-capsules-7-days"), pytest.param(30, 7.5, id="30-capsules")],
)
def test_discharge_opioid_supply_days_from_the_quantity_and_four_capsules_a_day(
    capsule_count: int, expected: float
) -> None:
    order = {**discharge_oxycodone(), "dispenseRequest": {"quantity": capsules(capsule_count)}}
    assert discharged_with(order)["discharge_opioid_supply_days"] == expected


@pytest.mark.parametrize(
    ("volume_ml", "expected"),
    [pytest.param(210, 7.0, id="210-ml-7-days"), pytest.param(240, 8.0, id="240-ml-8-days")],
)
def test_discharge_opioid_supply_days_of_oral_morphine_liquid_from_ml(
    volume_ml: int, expected: float
) -> None:
    """Oramorph 5 ml four-hourly when required: at most 30 ml a day."""
    order = request(
        MORPHINE_SOLUTION_10_5, text="5ml every 4 hours when required", authored_on=days_ago(0)
    )
    order["dispenseRequest"] = {"quantity": ml(volume_ml)}
    assert discharged_with(order)["discharge_opioid_supply_days"] == expected


@pytest.mark.parametrize(
    ("capsule_count", "expected"),
    [pytest.param(56, 7.0, id="56-capsules-7-days"), pytest.param(112, 14.0, id="112-capsules")],
)
def test_discharge_opioid_supply_days_from_a_mg_dose_and_the_capsule_strength(
    capsule_count: int, expected: float
) -> None:
    """Oxycodone 10 mg every 6 hours (40 mg a day) as 5 mg capsules."""
    order = request(OXYCODONE_CAPS_5, text="10mg every 6 hours", authored_on=days_ago(0))
    order["dispenseRequest"] = {"quantity": capsules(capsule_count)}
    assert discharged_with(order)["discharge_opioid_supply_days"] == expected


def test_discharge_opioid_supply_days_of_patches_changed_every_72_hours() -> None:
    order = request(
        FENTANYL_PATCH_12, text="apply one patch every 72 hours", authored_on=days_ago(0)
    )
    order["dispenseRequest"] = {"quantity": patches(10)}
    assert discharged_with(order)["discharge_opioid_supply_days"] == 30.0


def test_discharge_opioid_supply_days_takes_the_longest_of_two_opioids() -> None:
    short = discharge_oxycodone(dispense=(capsules(12), 3))
    long = request(
        OXYCODONE_MR_40, text="one twice a day", authored_on=days_ago(0), dispense=(tablets(28), 14)
    )
    assert discharged_with(short, long)["discharge_opioid_supply_days"] == 14.0


def test_discharge_opioid_supply_days_none_when_the_discharge_order_gives_no_quantity() -> None:
    assert discharged_with(discharge_oxycodone())["discharge_opioid_supply_days"] is None


def test_discharge_opioid_supply_days_none_outside_a_discharge() -> None:
    order = draft(OXYCODONE_CAPS_5, QDS, dispense=(capsules(56), 14))
    assert facts(ORDER_SIGN, orders=[order])["discharge_opioid_supply_days"] is None


def test_discharge_opioid_supply_days_none_when_only_pregabalin_is_supplied() -> None:
    order = request(PREGABALIN_CAPS_300, text="one twice a day", dispense=(capsules(28), 14))
    assert discharged_with(order)["discharge_opioid_supply_days"] is None


# --- A long-acting opioid started ---------------------------------------------------------------


def test_mr_opioid_started_true_for_oxycodone_mr_new_at_discharge() -> None:
    order = request(OXYCODONE_MR_40, text="one twice a day", authored_on=days_ago(0))
    assert discharged_with(order)["mr_opioid_started"] is True


def test_mr_opioid_started_true_for_a_fentanyl_patch_drafted_in_general_practice() -> None:
    patch = draft(FENTANYL_PATCH_12, "one patch every 72 hours")
    assert facts(ORDER_SIGN, orders=[patch])["mr_opioid_started"] is True


def test_mr_opioid_started_false_for_immediate_release_oxycodone_at_discharge() -> None:
    assert discharged_with(discharge_oxycodone())["mr_opioid_started"] is False


def test_mr_opioid_started_false_for_morphine_mr_the_patient_took_before_admission() -> None:
    home = taking(MORPHINE_MR_30, id="home", authored_on="2026-06-01")
    order = taking(MORPHINE_MR_30, authored_on=days_ago(0), prior="MedicationRequest/home")
    assert discharged_with(order, current=(home,))["mr_opioid_started"] is False


def test_mr_opioid_started_true_for_morphine_mr_first_given_on_the_ward_3_days_ago() -> None:
    ward = taking(MORPHINE_MR_30, id="ward", authored_on=days_ago(3))
    order = taking(MORPHINE_MR_30, authored_on=days_ago(0), prior="MedicationRequest/ward")
    assert discharged_with(order, current=(ward,))["mr_opioid_started"] is True


def test_mr_opioid_started_false_when_general_practice_re_prescribes_current_morphine_mr() -> None:
    f = facts(ORDER_SIGN, current=[taking(MORPHINE_MR_30)], orders=[draft(MORPHINE_MR_30)])
    assert f["mr_opioid_started"] is False


# --- Weaning plan ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dosages",
    [
        pytest.param(
            [dosage(f"{QDS} for 3 days then reduce to twice a day for 3 days then stop")],
            id="reduce-then-stop-in-the-text",
        ),
        pytest.param([dosage(QDS, patient_instruction="Taper off over two weeks")], id="taper"),
        pytest.param(
            [dosage(QDS, sequence=1), dosage("one twice a day", sequence=2)], id="stepped-sequence"
        ),
    ],
)
def test_weaning_plan_recorded_true_for_oxycodone_with_a_weaning_plan(dosages: list[Json]) -> None:
    order = request(OXYCODONE_CAPS_5, *dosages, authored_on=days_ago(0))
    assert discharged_with(order)["weaning_plan_recorded"] is True


def test_weaning_plan_recorded_false_for_oxycodone_four_times_a_day_with_no_end() -> None:
    assert discharged_with(discharge_oxycodone())["weaning_plan_recorded"] is False


def test_weaning_plan_recorded_false_when_only_the_pregabalin_says_reduce() -> None:
    pregabalin = request(PREGABALIN_CAPS_300, text="one twice a day then reduce")
    f = discharged_with(discharge_oxycodone(), pregabalin)
    assert f["weaning_plan_recorded"] is False
