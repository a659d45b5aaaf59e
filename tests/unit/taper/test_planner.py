"""Tapering vignettes: real regimens, assessed as ``POST /taper`` assesses them, through
``service.taper.from_regimen.plan_for`` with the pipeline's settings (``rules/taper.yaml``).

Each vignette names what a prescriber would check: the dates, each medicine's daily dose and
how to take it from real dm+d products, the total OME at each step, and where it stops.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

import pytest
from fhir.resources.R4B.careplan import CarePlan

from service.config import Settings
from service.fhir.medication_record import read_medication_record
from service.fhir.patient_record import PatientRecord
from service.medicines.model import Product
from service.ome.calculate import MedicationOme
from service.pipeline import Pipeline
from service.taper.fhir import care_plan
from service.taper.from_regimen import first_step_actions, plan_for, plan_markdown
from service.taper.options import Family, family_for
from service.taper.planner import MedicineToTaper, TaperPlan, TaperStep, plan_taper
from service.taper.settings import Pace

PIPELINE = Pipeline(Settings())
DMD = "https://dmd.nhs.uk"
TODAY = date(2026, 11, 22)
START = date(2026, 12, 1)
DEFAULT = Pace(10.0, 14)


def request(name: str, sig: str, index: int = 0, **extra: Any) -> dict[str, Any]:
    product = PIPELINE.dictionary.by_name(name)
    assert product is not None and product.system == "dmd", name
    return {
        "resourceType": "MedicationRequest",
        "id": f"med-{index}",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": DMD, "code": product.code, "display": product.name}]
        },
        "dosageInstruction": [{"text": sig}],
        **extra,
    }


def assessed(*medicines: tuple[str, str]) -> tuple[MedicationOme, ...]:
    records = tuple(
        read_medication_record(request(name, sig, i), f"medications[{i}]", {})
        for i, (name, sig) in enumerate(medicines)
    )
    return PIPELINE.regimen(PatientRecord("taper", None, (), records), TODAY).with_proposal


def plan(*medicines: tuple[str, str], pace: Pace | None = None, floor: float = 0.0) -> TaperPlan:
    return plan_for(
        assessed(*medicines),
        pace or PIPELINE.default_pace(),
        START,
        PIPELINE.dictionary,
        PIPELINE.taper_settings,
        floor_mg_per_day=floor,
    )


def product(code: str) -> Product:
    found = PIPELINE.dictionary.by_code(DMD, code)
    assert found is not None, code
    return found


def mg_per_unit(code: str) -> float:
    strength = product(code).opioids[0].strength
    assert strength is not None
    return strength.mg_per_one


def dose(step: TaperStep, label: str) -> tuple[float, str]:
    medicine = next(m for m in step.medicines if m.label == label)
    return medicine.amount, medicine.how


def totals(p: TaperPlan) -> list[float]:
    return [s.total_ome_mg_per_day for s in p.steps]


def dates(p: TaperPlan) -> list[date]:
    return [s.start for s in p.steps]


def assert_sound(p: TaperPlan) -> None:
    """What every vignette must hold: never increasing, each step within the pace over its
    days, and each dose made of real products adding up to it."""
    pace_ome = p.pace.reduction_percent / 100 * p.steps[0].total_ome_mg_per_day
    for before, step in pairwise(p.steps):
        for old, new in zip(before.medicines, step.medicines, strict=True):
            assert new.amount <= old.amount
        days = (step.start - before.start).days + (p.pace.interval_days if step.number == 1 else 0)
        allowed = pace_ome * days / p.pace.interval_days
        reduction = before.total_ome_mg_per_day - step.total_ome_mg_per_day
        assert 0 < reduction <= allowed + 0.1, (step.number, reduction, allowed)
        for medicine in step.medicines:
            made = 0.0
            for part in medicine.option.parts:
                real = product(part.code)
                strength = next(
                    i.strength for i in real.ingredients if i.name == medicine.ingredient
                )
                assert strength is not None
                made += strength.mg_per_one * (1000 if real.is_patch else 1) * part.units
            if medicine.option.how != "as now":
                assert made == pytest.approx(medicine.amount)


MORPHINE_MR_60 = "Morphine 60mg modified-release tablets"
OXY_MR_40 = "Oxycodone 40mg modified-release tablets"
OXY_IR_5 = "Oxycodone 5mg capsules"
FENTANYL_50 = "Fentanyl 50micrograms/hour transdermal patches"
CO_CODAMOL = "Co-codamol 30mg/500mg tablets"
PRN_OXY = "one or two every 4-6 hours when required, max 8 in 24 hours"


# --- Morphine 60mg MR twice daily ------------------------------------------------------------


def test_morphine_60mg_mr_twice_daily_steps_down_10mg_every_two_weeks_to_zero() -> None:
    p = plan((MORPHINE_MR_60, "one twice a day"))
    assert_sound(p)
    assert totals(p) == [120.0, 110.0, 100.0, 90.0, 80.0, 70.0, 60.0, 50.0, 40.0, 30.0, 20.0,
                         10.0, 0.0]  # fmt: skip
    # The first reduction on the start date, then one every 14 days: stopped in 22 weeks.
    assert dates(p) == [START] + [START + timedelta(days=14 * i) for i in range(12)]
    assert p.end_date == date(2027, 5, 4)
    assert dose(p.steps[0], MORPHINE_MR_60) == (120.0, "one 60mg tablet twice a day")
    assert dose(p.steps[6], MORPHINE_MR_60) == (60.0, "one 30mg tablet twice a day")
    assert dose(p.steps[11], MORPHINE_MR_60) == (10.0, "one 5mg tablet twice a day")
    assert dose(p.steps[12], MORPHINE_MR_60) == (0.0, f"stop {MORPHINE_MR_60}")


def test_morphine_mr_stays_twice_daily_on_12_hour_morphine_tablets_moving_to_lower_strengths() -> (
    None
):
    p = plan((MORPHINE_MR_60, "one twice a day"))
    strengths = []
    for step in p.steps[:-1]:
        (medicine,) = step.medicines
        assert medicine.how.endswith(("twice a day", "at night")), medicine.how
        morning, night = medicine.option.doses
        assert morning <= night  # the morning dose comes down first
        for part in medicine.option.parts:
            real = product(part.code)
            assert real.modified_release and real.release_hours == 12
            assert real.dose_form == "tablet" and real.opioids[0].name == "morphine"
        strengths.append(max(mg_per_unit(x.code) for x in medicine.option.parts))
        # At most two strengths a dose (rules/taper.yaml; issue 18), morning and night.
        for dose_words in medicine.how.split(" in the morning and "):
            assert dose_words.count("+") <= 1, medicine.how
    assert strengths == sorted(strengths, reverse=True)  # moving to lower strengths
    assert strengths[-1] == 5


def test_a_12_hour_product_is_taken_at_night_only_once_at_the_lowest_strength_before_stopping() -> (
    None
):
    p = plan(("Tapentadol 150mg modified-release tablets", "one twice a day"))
    assert_sound(p)
    hows = [s.medicines[0].how for s in p.steps]
    night_only = [h for h in hows if "at night only" in h]
    assert night_only == ["one 25mg tablet at night only"]
    assert hows[-2:] == [*night_only, "stop Tapentadol 150mg modified-release tablets"]
    # The morning dose is reduced first, never above the evening dose.
    assert (
        hows[1] == "one 100mg tablet + one 25mg tablet in the morning and one 150mg tablet at night"
    )
    assert "once a day" not in " ".join(hows)


def test_an_unbalanced_twice_daily_dose_is_made_from_real_strengths() -> None:
    p = plan(("Morphine 30mg modified-release tablets", "one in the morning and two at night"))
    assert_sound(p)
    # 10% of 90 = 9: 55 mg at night would need three strengths (30 + 15 + 10), so the first
    # step is to 50 mg after two intervals, then one 5 mg tablet a step (issue 18).
    assert totals(p)[:4] == [90.0, 80.0, 75.0, 70.0]
    assert p.steps[1].note.startswith("waits 2 intervals")
    assert p.final_total == 0.0


# --- Oxycodone MR plus immediate-release when required ----------------------------------------


def test_oxycodone_mr_with_immediate_release_when_required_tapers_the_when_required_first() -> None:
    p = plan((OXY_MR_40, "one twice a day"), (OXY_IR_5, PRN_OXY))
    assert_sound(p)
    assert p.order == (OXY_IR_5, OXY_MR_40)  # documented order: when required first
    assert totals(p)[0] == 180.0  # 120 + 8 × 5mg × 1.5
    # 10% of 180 = 18 mg OME per 14 days: two 5mg capsules (15 mg OME) at a time.
    assert [dose(s, OXY_IR_5)[1] for s in p.steps[:5]] == [
        f"{OXY_IR_5}: up to eight capsules a day when required",
        f"{OXY_IR_5}: up to six capsules a day when required",
        f"{OXY_IR_5}: up to four capsules a day when required",
        f"{OXY_IR_5}: up to two capsules a day when required",
        f"stop {OXY_IR_5}",
    ]
    # The regular MR stays steady while the when-required doses go.
    assert all(dose(s, OXY_MR_40) == (80.0, "one 40mg tablet twice a day") for s in p.steps[:5])
    assert {s.changed for s in p.steps[5:]} == {OXY_MR_40}
    assert dose(p.steps[5], OXY_MR_40)[0] == 70.0
    assert p.final_total == 0.0
    assert p.end_date == date(2027, 5, 4)


def test_oxycodone_mr_steps_use_only_12_hour_oxycodone_tablets() -> None:
    p = plan((OXY_MR_40, "one twice a day"), (OXY_IR_5, PRN_OXY))
    for step in p.steps:
        for part in next(m for m in step.medicines if m.label == OXY_MR_40).option.parts:
            real = product(part.code)
            assert real.opioids[0].name == "oxycodone" and real.release_hours == 12
            assert real.dose_form == "tablet"


# --- Fentanyl 50 micrograms/hour patch --------------------------------------------------------


def test_fentanyl_50_patch_steps_down_through_real_patch_strengths() -> None:
    p = plan((FENTANYL_50, "apply one patch every 72 hours"))
    assert_sound(p)
    (label,) = p.order
    assert [dose(s, label)[0] for s in p.steps] == [50.0, 37.5, 25.0, 12.5, 0.0]
    assert totals(p) == [120.0, 90.0, 60.0, 30.0, 0.0]
    for step in p.steps[1:-1]:
        (medicine,) = step.medicines
        (part,) = medicine.option.parts
        real = product(part.code)
        assert real.is_patch and real.opioids[0].name == "fentanyl" and part.units == 1
        assert medicine.how.endswith("at a time, changed every 72 hours")
        assert medicine.option.change_hours == 72
    assert dose(p.steps[-1], label)[1] == "stop the patches"


def test_a_patch_step_larger_than_the_pace_waits_long_enough_to_keep_the_average_pace() -> None:
    # Each patch step is 30 mg OME/day; 10% of 120 is 12 per 14 days: three intervals each.
    p = plan((FENTANYL_50, "apply one patch every 72 hours"))
    assert dates(p) == [START, date(2026, 12, 29), date(2027, 2, 9), date(2027, 3, 23),
                        date(2027, 5, 4)]  # fmt: skip
    assert [s.reduction_mg_per_day for s in p.steps[1:]] == [30.0] * 4


# --- Co-codamol 30/500 two four times a day ---------------------------------------------------


def test_co_codamol_30_500_two_four_times_a_day_drops_one_tablet_every_four_weeks() -> None:
    p = plan((CO_CODAMOL, "two four times a day"))
    assert_sound(p)
    assert totals(p) == [24.0, 21.0, 18.0, 15.0, 12.0, 9.0, 6.0, 3.0, 0.0]
    # One tablet is 3 mg OME; the pace is 2.4 per 14 days, so each tablet waits two intervals
    # (the first counts the interval before the start date).
    assert dates(p) == [START] + [START + timedelta(days=14 + 28 * i) for i in range(8)]
    assert dose(p.steps[1], CO_CODAMOL) == (
        210.0,
        f"{CO_CODAMOL}: seven tablets a day in divided doses",
    )
    codes = {part.code for s in p.steps for m in s.medicines for part in m.option.parts}
    co_codamol = PIPELINE.dictionary.by_name(CO_CODAMOL)
    assert co_codamol is not None and codes == {co_codamol.code}
    assert dose(p.steps[-1], CO_CODAMOL) == (0.0, f"stop {CO_CODAMOL}")


# --- A patient-set slower pace ----------------------------------------------------------------


def test_a_patient_set_slower_pace_takes_longer_and_slows_again_near_the_end() -> None:
    slower = Pace(5.0, 28, 30.0, 0.5)  # as openapi/examples/taper.json "patient-set-pace"
    p = plan((OXY_MR_40, "one twice a day"), (OXY_IR_5, PRN_OXY), pace=slower)
    default = plan((OXY_MR_40, "one twice a day"), (OXY_IR_5, PRN_OXY), pace=DEFAULT)
    assert_sound(p)
    assert p.final_total == 0.0 and p.end_date > default.end_date
    # 5% of 180 = 9 mg OME per 28 days: one 5mg capsule (7.5 mg OME) every four weeks.
    assert [s.reduction_mg_per_day for s in p.steps[1:9]] == [7.5] * 8
    assert dates(p)[1:4] == [START, date(2026, 12, 29), date(2027, 1, 26)]
    # At or below 30% of the start (54 mg OME/day) the pace halves: 7.5 now waits 8 weeks.
    for before, step in pairwise(p.steps):
        gap = (step.start - before.start).days
        if before.total_ome_mg_per_day <= 54.0 and step.number > 1:
            assert gap == 56, step.number
        elif step.number > 1:
            assert gap == 28, step.number
    assert p.pace.describe() == (
        "5% of the starting dose every 28 days, slowing to 50% of that pace below 30% of "
        "the starting dose"
    )


def test_a_patient_set_pace_without_the_slower_end_keeps_its_interval_to_the_end() -> None:
    p = plan((MORPHINE_MR_60, "one twice a day"), pace=Pace(20.0, 21))
    assert_sound(p)
    assert totals(p) == [120.0, 100.0, 80.0, 60.0, 40.0, 20.0, 0.0]
    assert {(b.start - a.start).days for a, b in pairwise(p.steps[1:])} == {21}


# --- Floors, several opioids, what is not planned ---------------------------------------------


def test_an_agreed_floor_ends_the_plan_at_the_floor() -> None:
    p = plan((MORPHINE_MR_60, "one twice a day"), floor=50.0)
    assert_sound(p)
    assert totals(p)[-1] == 50.0 and p.floor_mg_per_day == 50.0
    assert dose(p.steps[-1], MORPHINE_MR_60) == (
        50.0,
        "one 15mg tablet + one 10mg tablet twice a day",
    )
    # The last step keeps the total at or above the floor: 55 is the nearest real dose above 52.
    assert plan((MORPHINE_MR_60, "one twice a day"), floor=52.0).final_total == 55.0
    # ... and ends with holding the floor and a review, one interval on (issue 18).
    assert p.review == (
        p.end_date + timedelta(days=14),
        f"hold at 50 mg OME/day (the agreed floor is 50) and review with the patient from "
        f"{(p.end_date + timedelta(days=14)).isoformat()}",
    )
    assert f"Then {p.review[1]}." in plan_markdown(p)
    assert plan((MORPHINE_MR_60, "one twice a day")).review is None  # a plan that stops


def test_several_opioids_are_tapered_one_at_a_time_in_the_documented_order() -> None:
    p = plan(
        ("Fentanyl 12micrograms/hour transdermal patches", "apply one patch every 72 hours"),
        ("Morphine 30mg modified-release tablets", "one twice a day"),
        ("Morphine 10mg tablets", "one four times a day"),
        (OXY_IR_5, "one every 4 hours when required, max 4 in 24 hours"),
        ("Codeine 30mg tablets", "one four times a day"),
    )
    assert_sound(p)
    # when required, immediate-release (smaller contributor first), modified-release, patches
    assert p.order == (
        OXY_IR_5,
        "Codeine 30mg tablets",
        "Morphine 10mg tablets",
        "Morphine 30mg modified-release tablets",
        "Fentanyl 12micrograms/hour transdermal patches",
    )
    changed = [s.changed for s in p.steps[1:]]
    assert changed == sorted(changed, key=p.order.index)  # one medicine finished before the next
    assert PIPELINE.taper_settings.order == (
        "when_required",
        "immediate_release",
        "modified_release",
        "transdermal",
    )
    assert p.final_total == 0.0


def test_each_step_lists_every_medicine_so_a_step_is_a_complete_regimen() -> None:
    p = plan((OXY_MR_40, "one twice a day"), (OXY_IR_5, PRN_OXY))
    for step in p.steps:
        assert {m.label for m in step.medicines} == {OXY_MR_40, OXY_IR_5}
        assert step.total_ome_mg_per_day == pytest.approx(
            sum(m.ome_mg_per_day for m in step.medicines)
        )


def test_an_injection_is_not_planned_and_stays_in_the_totals() -> None:
    p = plan(
        ("Morphine sulfate 20mg/1ml solution for injection ampoules", "10mg twice a day"),
        (MORPHINE_MR_60, "one twice a day"),
    )
    ((label, why),) = p.not_planned
    assert label == "Morphine sulfate 20mg/1ml solution for injection ampoules"
    assert "specialist" in why
    fixed = p.steps[0].total_ome_mg_per_day - 120.0
    assert fixed > 0 and p.final_total == pytest.approx(fixed)
    assert p.order == (MORPHINE_MR_60,)


# --- Vignettes for bugs found while writing these tests --------------------------------------


def test_a_liquid_dose_that_is_not_whole_millilitres_starts_as_now_never_rounded_up() -> None:
    # 2.5 ml three times a day of 10mg/5ml = 7.5 ml = 15 mg morphine; never "8 ml".
    name = "Morphine sulfate 10mg/5ml oral solution"
    p = plan((name, "2.5ml three times a day"))
    assert_sound(p)
    assert dose(p.steps[0], name) == (15.0, "as now")
    assert totals(p)[:3] == [15.0, 14.0, 12.0]
    assert dose(p.steps[1], name) == (14.0, f"7 ml a day of {name} in divided doses")
    assert dose(p.steps[-1], name) == (0.0, f"stop {name}")


def test_the_same_product_regular_and_when_required_is_two_medicines_with_their_own_doses() -> None:
    p = plan(
        (OXY_IR_5, "one twice a day"),
        (OXY_IR_5, "one or two every 4-6 hours when required, max 4 in 24 hours"),
    )
    assert_sound(p)
    assert totals(p)[0] == 45.0  # 15 regular + 30 when required, both counted
    regular = f"{OXY_IR_5} (1 capsule twice a day)"
    when_required = f"{OXY_IR_5} (1-2 capsules every 4-6 hours when required, max 4 in 24 hours)"
    assert p.order == (when_required, regular)
    assert dose(p.steps[0], regular)[0] == 10.0 and dose(p.steps[0], when_required)[0] == 20.0
    assert p.final_total == 0.0


def test_the_planner_refuses_two_medicines_with_one_label() -> None:
    (item,) = assessed((OXY_IR_5, "one twice a day"))
    assert item.product is not None
    family = family_for(
        item.product, "oxycodone", 10.0, 2.0, False, PIPELINE.dictionary, PIPELINE.taper_settings
    )
    assert isinstance(family, Family)
    medicine = MedicineToTaper(OXY_IR_5, "oxycodone", 1.5, family, 10.0)
    with pytest.raises(ValueError, match="unique labels"):
        plan_taper([medicine, medicine], DEFAULT, START, PIPELINE.taper_settings.order)


@pytest.mark.parametrize(
    ("name", "sig", "why"),
    [
        pytest.param(
            "Oxycodone 20mg / Naloxone 10mg modified-release tablets",
            "one twice a day",
            "modified-release combination products are tapered by hand",
            id="oxycodone-naloxone-not-switched-to-plain-oxycodone",
        ),
        pytest.param(
            "Ibuprofen 300mg modified-release / Codeine 20mg tablets",
            "two twice a day",
            "modified-release combination products are tapered by hand",
            id="ibuprofen-codeine-mr-no-crash",
        ),
    ],
)
def test_modified_release_products_the_dictionary_cannot_step_down_are_not_planned(
    name: str, sig: str, why: str
) -> None:
    p = plan((name, sig), (MORPHINE_MR_60, "one twice a day"))
    assert p.not_planned == ((name, why),)
    assert p.order == (MORPHINE_MR_60,)
    fixed = p.steps[0].total_ome_mg_per_day - 120.0
    assert fixed > 0 and p.final_total == pytest.approx(fixed)  # still counted, unchanged


def test_a_medicine_named_only_in_text_is_not_planned_so_no_step_has_a_made_up_code() -> None:
    # Read from the name alone as a 12-hour product of a form dm+d does not have: planned, it
    # was "one 40mg capsule at night only" (60 mg OME/day once daily) coded with its name.
    name = "Oxycodone 40mg modified-release capsules"
    resource = request(MORPHINE_MR_60, "one twice a day", 1)
    text_only = {
        **resource,
        "id": "text-only",
        "medicationCodeableConcept": {"text": name},
    }
    records = tuple(
        read_medication_record(r, f"medications[{i}]", {})
        for i, r in enumerate((text_only, resource))
    )
    items = PIPELINE.regimen(PatientRecord("taper", None, (), records), TODAY).with_proposal
    p = plan_for(items, DEFAULT, START, PIPELINE.dictionary, PIPELINE.taper_settings)
    assert p.not_planned == (
        (name, "it is not a dm+d product; the plan is made only from dm+d products"),
    )
    assert p.steps[0].total_ome_mg_per_day == 240.0 and p.final_total == 120.0


# --- The card's view of a plan ----------------------------------------------------------------


def test_the_card_markdown_shows_the_first_three_steps_and_how_many_more() -> None:
    p = plan((MORPHINE_MR_60, "one twice a day"))
    text = plan_markdown(p)
    # The words match the steps: the pace is a maximum and each row gives its step's size,
    # 10 mg of 120 is 8.33%, not the 10% pace (issue 18). A row names the medicine without
    # the started product's strength: the step's own tablets follow (issue 11).
    assert "**Proposed taper** (at most 10% of the starting dose every 14 days):" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows == [
        "| Step | From | Total OME mg/day | Reduction | Change |",
        "| 1 | 2026-12-01 | 110 | 8.33% of the start | Morphine modified-release tablets: "
        "one 30mg tablet + two "
        "10mg tablets in the morning and one 60mg tablet at night |",
        "| 2 | 2026-12-15 | 100 | 8.33% of the start | Morphine modified-release tablets: "
        "one 30mg tablet + two "
        "10mg tablets twice a day |",
        "| 3 | 2026-12-29 | 90 | 8.33% of the start | Morphine modified-release tablets: "
        "one 30mg tablet + one "
        "15mg tablet twice a day |",
        "| … | 2027-05-04 | 0 | | 9 more steps |",
    ]


def test_a_plan_whose_steps_are_the_pace_says_the_pace_alone() -> None:
    # Co-codamol 30/500 two four times a day: 3 mg OME steps of 24 are 12.5% a step.
    p = plan((CO_CODAMOL, "two four times a day"), pace=Pace(12.5, 28))
    assert "**Proposed taper** (12.5% of the starting dose every 28 days):" in plan_markdown(p)


def test_each_change_names_its_medicine_when_two_opioids_share_a_strength() -> None:
    p = plan(
        ("Oxycodone 10mg modified-release tablets", "one twice a day"),
        ("Morphine 10mg modified-release tablets", "one twice a day"),
    )
    assert_sound(p)
    text = plan_markdown(p, first=len(p.steps))
    assert "| Morphine modified-release tablets: one 5mg tablet twice a day" in text
    assert "| Oxycodone modified-release tablets: one 5mg tablet twice a day" in text
    not_named = [
        line
        for line in text.splitlines()
        if line.startswith("| ") and line[2].isdigit() and "modified-release tablets" not in line
    ]
    assert not_named == []


def test_the_first_step_becomes_an_update_of_the_draft_and_creates_for_other_strengths() -> None:
    record = read_medication_record(
        request(MORPHINE_MR_60, "one twice a day", status="draft"), "draft", {}
    )
    regimen = PIPELINE.regimen(PatientRecord("order-sign", None, (record,), ()), TODAY)
    p = plan_for(
        regimen.with_proposal, DEFAULT, START, PIPELINE.dictionary, PIPELINE.taper_settings
    )
    actions = first_step_actions(p, regimen.proposed)
    assert [a["type"] for a in actions] == ["update", "create", "create"]
    assert actions[0]["resource"]["id"] == "med-0" and "id" not in actions[1]["resource"]
    codes = [a["resource"]["medicationCodeableConcept"]["coding"][0]["code"] for a in actions]
    # 110 mg: 30 + 10 + 10 in the morning, 60 at night (at most two strengths a dose).
    assert [product(c).name for c in codes] == [
        "Morphine 60mg modified-release tablets",
        "Morphine 30mg modified-release tablets",
        "Morphine 10mg modified-release tablets",
    ]
    how = "one 30mg tablet + two 10mg tablets in the morning and one 60mg tablet at night"
    for action, per_day in zip(actions, (1, 1, 2), strict=True):
        resource = action["resource"]
        assert resource["dosageInstruction"] == [{"text": f"{per_day} a day, as part of: {how}"}]
        # per_day for the 14 days of the step
        assert resource["dispenseRequest"]["quantity"] == {"value": per_day * 14}
        assert resource["dispenseRequest"]["expectedSupplyDuration"]["value"] == 14


def test_created_orders_for_other_strengths_continue_nothing() -> None:
    """The draft keeps its priorPrescription (it is the re-authorisation); the orders created
    for the other strengths are new and must not claim to continue the old prescription."""
    draft = request(MORPHINE_MR_60, "one twice a day", status="draft")
    draft["priorPrescription"] = {"reference": "MedicationRequest/old-mst"}
    record = read_medication_record(draft, "draft", {})
    regimen = PIPELINE.regimen(PatientRecord("order-sign", None, (record,), ()), TODAY)
    p = plan_for(
        regimen.with_proposal, DEFAULT, START, PIPELINE.dictionary, PIPELINE.taper_settings
    )
    actions = first_step_actions(p, regimen.proposed)
    assert actions[0]["resource"]["priorPrescription"] == {"reference": "MedicationRequest/old-mst"}
    assert all("priorPrescription" not in a["resource"] for a in actions[1:])
    assert len(actions) > 1


@pytest.mark.parametrize(
    ("name", "sig", "period", "first_quantity"),
    [
        # Fentanyl 75 -> 25 + 37.5 for 28 days: ten of each 72-hour patch, not 28 (issue 18).
        (
            "Fentanyl 75micrograms/hour transdermal patches",
            "apply one patch every 72 hours",
            {"period": 72, "periodUnit": "h"},
            10,
        ),
        # Buprenorphine 10 -> 5 (7-day) for 70 days: ten patches.
        (
            "Buprenorphine 10micrograms/hour transdermal patches",
            "apply one patch every 7 days",
            {"period": 7, "periodUnit": "d"},
            10,
        ),
    ],
)
def test_a_patch_order_is_patches_worn_at_once_changed_every_interval_supplied_per_change(
    name: str, sig: str, period: dict[str, Any], first_quantity: int
) -> None:
    record = read_medication_record(request(name, sig, status="draft"), "draft", {})
    regimen = PIPELINE.regimen(PatientRecord("order-sign", None, (record,), ()), TODAY)
    p = plan_for(
        regimen.with_proposal, DEFAULT, START, PIPELINE.dictionary, PIPELINE.taper_settings
    )
    actions = first_step_actions(p, regimen.proposed)
    assert actions
    days = (p.steps[2].start - p.steps[1].start).days
    for action in actions:
        (dosage,) = action["resource"]["dosageInstruction"]
        assert dosage["timing"] == {"repeat": {"frequency": 1, **period}}
        assert dosage["doseAndRate"][0]["doseQuantity"]["value"] == 1
        assert "a day" not in dosage["text"]
        supply = action["resource"]["dispenseRequest"]
        assert supply["quantity"] == {"value": first_quantity}
        assert supply["expectedSupplyDuration"]["value"] == days


def test_buprenorphine_35_96_hour_steps_on_through_7_day_patches_not_to_zero() -> None:
    """Issue 18: from the lowest 96-hour patch the plan used to wait 18 weeks and stop
    (84 mg OME/day in one step). It now crosses to 7-day patches, made of two strengths
    where needed, and never goes back to a 96-hour patch."""
    p = plan(("Buprenorphine 35micrograms/hour transdermal patches", "apply one every 96 hours"))
    assert_sound(p)
    (label,) = p.order
    assert [dose(s, label)[0] for s in p.steps] == [35, 30, 25, 20, 15, 10, 5, 0]
    hours = [s.medicines[0].option.change_hours for s in p.steps[:-1]]
    assert hours == [96, 168, 168, 168, 168, 168, 168]
    assert "20micrograms/hour" in dose(p.steps[1], label)[1]
    assert "10micrograms/hour" in dose(p.steps[1], label)[1]
    max_step = PIPELINE.taper_settings.max_step_percent / 100 * p.steps[0].total_ome_mg_per_day
    for before, step in pairwise(p.steps):
        reduction = before.total_ome_mg_per_day - step.total_ome_mg_per_day
        assert reduction <= max_step


def test_a_step_larger_than_the_maximum_step_says_so_on_the_plan() -> None:
    """Buprenorphine 10 (24 mg OME/day): 10 -> 5 -> 0 are 50% steps and no smaller patch
    exists: taken, after a longer wait, and said on the step, the card and the CarePlan."""
    p = plan(("Buprenorphine 10micrograms/hour transdermal patches", "apply one every 7 days"))
    assert totals(p) == [24, 12, 0]
    for step in p.steps[1:]:
        assert step.note.startswith("waits ")
        assert "more than the maximum step (25% of the starting dose)" in step.note
    assert f"; {p.steps[1].note} |" in plan_markdown(p)  # on the step's row of the card


def test_a_longer_wait_within_the_maximum_step_says_why_and_no_more() -> None:
    p = plan((FENTANYL_50, "apply one patch every 72 hours"))
    assert p.steps[1].note == (
        "waits 3 intervals: the smallest real step, 30 mg OME/day, is more than the pace "
        "allows in one 14-day interval"
    )


@pytest.mark.parametrize(
    ("name", "sig"),
    [
        ("Morphine 30mg modified-release tablets", "one in the morning and two at night"),
        ("Morphine 60mg modified-release tablets", "30mg in the morning and 60mg at night"),
    ],
)
def test_an_uneven_split_is_kept_and_the_larger_dose_comes_down_first(name: str, sig: str) -> None:
    """Issue 18: 30 mg morning + 60 mg night was re-split to 45 + 45 at step 0 and step 1
    raised the morning dose. Now step 0 is the dose as prescribed, the night dose comes down
    to the morning one, and no step raises either."""
    p = plan((name, sig))
    assert_sound(p)
    doses = [s.medicines[0].option.doses for s in p.steps]
    assert doses[0] == (30.0, 60.0)
    # 55 mg would need three strengths: the night dose comes down to 50 mg first.
    assert doses[1:6] == [(30.0, e) for e in (50.0, 45.0, 40.0, 35.0, 30.0)]
    for before, after in pairwise(doses):
        if before and len(after) == 2:
            assert after[0] <= before[0] and after[1] <= before[1]
    assert p.final_total == 0


def test_a_larger_morning_dose_comes_down_first_too() -> None:
    p = plan(("Oxycodone 40mg modified-release tablets", "two in the morning and one at night"))
    doses = [s.medicines[0].option.doses for s in p.steps]
    assert doses[:5] == [(80.0, 40.0), (70.0, 40.0), (60.0, 40.0), (50.0, 40.0), (40.0, 40.0)]


def test_a_structured_or_even_dose_is_planned_balanced_as_before() -> None:
    p = plan((MORPHINE_MR_60, "one twice a day"))
    assert p.steps[0].medicines[0].option.doses == (60.0, 60.0)


def test_a_when_required_liquid_stays_a_when_required_maximum() -> None:
    """Issue 18: "5ml every 4 hours when required" became "15 ml a day in divided doses"."""
    p = plan(
        (
            "Oxycodone 5mg/5ml oral solution",
            "5ml every 4 hours when required, max 6 doses in 24 hours",
        )
    )
    assert_sound(p)
    for step in p.steps[1:-1]:
        how = step.medicines[0].how
        assert how.startswith("up to ") and how.endswith(
            " a day of Oxycodone 5mg/5ml oral solution when required"
        ), how
    assert "divided doses" not in " ".join(s.medicines[0].how for s in p.steps)


@pytest.mark.parametrize(
    ("name", "sig", "brand", "once"),
    [
        ("MXL 60mg capsules", "one once a day", "MXL ", True),
        ("Zydol XL 400mg tablets", "one once a day", "Zydol XL ", True),
        ("Zomorph 100mg modified-release capsules", "one twice a day", "Zomorph ", False),
        ("Targinact 20mg/10mg modified-release tablets", "one twice a day", "Targinact ", False),
    ],
)
def test_a_branded_modified_release_order_steps_down_through_its_own_brand(
    name: str, sig: str, brand: str, once: bool
) -> None:
    """Issue 18: MXL and Targinact were refused; Zomorph 100 stepped to 90 mg capsules made
    only as MXL (24-hour) and on to generic morphine. Now each stays on its brand's real
    strengths, 24-hour products once a day."""
    p = plan((name, sig))
    assert not p.not_planned and p.final_total == 0
    original = product(p.steps[0].medicines[0].option.parts[0].code)
    for step in p.steps[:-1]:
        (medicine,) = step.medicines
        assert ("once a day" in medicine.how) == once, medicine.how
        for part in medicine.option.parts:
            real = product(part.code)
            assert part.name.startswith(brand) and real.concept_type == "AMP"
            assert real.release_hours == original.release_hours
    max_step = PIPELINE.taper_settings.max_step_percent / 100 * p.steps[0].total_ome_mg_per_day
    for before, step in pairwise(p.steps):
        if before.total_ome_mg_per_day - step.total_ome_mg_per_day > max_step:
            assert "maximum step" in step.note


def test_a_generic_morphine_mr_capsule_never_steps_to_a_strength_made_only_as_a_24_hour_brand() -> (
    None
):
    p = plan(("Morphine 100mg modified-release capsules", "one twice a day"))
    names = {part.name for s in p.steps for part in s.medicines[0].option.parts}
    assert not names & {
        "Morphine 90mg modified-release capsules",
        "Morphine 120mg modified-release capsules",
        "Morphine 150mg modified-release capsules",
    }


# --- Uneven splits given as structured dosage lines (issue 18) ----------------------------

UCUM_MG = {"unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}


def structured(name: str, *lines: tuple[dict[str, Any], float, str]) -> TaperPlan:
    """A plan for ``name`` ordered as structured dosage lines: (timing.repeat, dose, unit),
    the unit "mg" or a tablet count."""
    dosages = [
        {
            "timing": {"repeat": repeat},
            "doseAndRate": [
                {
                    "doseQuantity": {"value": value, **UCUM_MG}
                    if unit == "mg"
                    else {"value": value, "unit": "tablet"}
                }
            ],
        }
        for repeat, value, unit in lines
    ]
    record = read_medication_record(
        request(name, "", dosageInstruction=dosages), "medications[0]", {}
    )
    items = PIPELINE.regimen(PatientRecord("taper", None, (), (record,)), TODAY).with_proposal
    return plan_for(items, DEFAULT, START, PIPELINE.dictionary, PIPELINE.taper_settings)


def assert_kept_and_never_raised(p: TaperPlan, first: tuple[float, float]) -> None:
    assert_sound(p)
    doses = [s.medicines[0].option.doses for s in p.steps]
    assert doses[0] == first
    # The larger dose comes down first, to the smaller one.
    smaller_at = 0 if first[0] < first[1] else 1
    assert doses[1][smaller_at] == min(first)
    assert doses[1][1 - smaller_at] < max(first)
    for before, after in pairwise(doses):
        if before and len(after) == 2:
            assert after[0] <= before[0] and after[1] <= before[1]
    assert p.final_total == 0


def test_an_uneven_split_in_structured_when_morn_night_lines_is_kept() -> None:
    """Issue 18: two structured lines, ``when`` MORN 30 mg and NIGHT 60 mg, were planned as
    45 + 45 from step 0; now as written, as the same dose in dosage text is."""
    p = structured(MORPHINE_MR_60, ({"when": ["MORN"]}, 30, "mg"), ({"when": ["NIGHT"]}, 60, "mg"))
    assert_kept_and_never_raised(p, (30.0, 60.0))
    assert p.steps[0].medicines[0].how == (
        "one 30mg tablet in the morning and one 60mg tablet at night"
    )
    text = plan(("Morphine 60mg modified-release tablets", "30mg in the morning and 60mg at night"))
    assert [s.medicines[0].option.doses for s in p.steps] == [
        s.medicines[0].option.doses for s in text.steps
    ]


def test_an_uneven_split_in_structured_time_of_day_lines_is_kept() -> None:
    every_day = {"frequency": 1, "period": 1, "periodUnit": "d"}
    p = structured(
        MORPHINE_MR_60,
        ({"timeOfDay": ["08:00:00"], **every_day}, 30, "mg"),
        ({"timeOfDay": ["20:00:00"], **every_day}, 60, "mg"),
    )
    assert_kept_and_never_raised(p, (30.0, 60.0))


def test_a_larger_structured_morning_dose_in_tablets_comes_down_first() -> None:
    # Lines in either order: the times, not the order written, say which is the morning.
    p = structured(OXY_MR_40, ({"when": ["NIGHT"]}, 1, "tablet"), ({"when": ["MORN"]}, 2, "tablet"))
    assert_kept_and_never_raised(p, (80.0, 40.0))


def test_an_even_structured_split_or_lines_with_no_times_are_planned_balanced() -> None:
    even = structured(
        MORPHINE_MR_60, ({"when": ["MORN"]}, 60, "mg"), ({"when": ["NIGHT"]}, 60, "mg")
    )
    assert even.steps[0].medicines[0].option.doses == (60.0, 60.0)
    # Two once-daily lines with no time: which dose is the morning one is not said.
    untimed = structured(
        MORPHINE_MR_60,
        ({"frequency": 1, "period": 1, "periodUnit": "d"}, 30, "mg"),
        ({"frequency": 1, "period": 1, "periodUnit": "d"}, 60, "mg"),
    )
    assert untimed.steps[0].medicines[0].option.doses == (45.0, 45.0)


# --- A patch's change interval from the order (issue 18) -----------------------------------

BUP_35 = "Buprenorphine 35micrograms/hour transdermal patches"
BUP_70 = "Buprenorphine 70micrograms/hour transdermal patches"


def patch_plan(name: str, sig: str, **extra: Any) -> tuple[TaperPlan, list[dict[str, Any]]]:
    """The plan for a draft patch order and the card's first-step orders."""
    record = read_medication_record(request(name, sig, status="draft", **extra), "draft", {})
    regimen = PIPELINE.regimen(PatientRecord("order-sign", None, (record,), ()), TODAY)
    p = plan_for(
        regimen.with_proposal, DEFAULT, START, PIPELINE.dictionary, PIPELINE.taper_settings
    )
    return p, first_step_actions(p, regimen.proposed)


def structured_patch(repeat: dict[str, Any], dose: dict[str, Any] | None = None) -> Any:
    return {
        "dosageInstruction": [
            {
                "timing": {"repeat": repeat},
                "doseAndRate": [{"doseQuantity": dose or {"value": 1, "unit": "patch"}}],
            }
        ]
    }


@pytest.mark.parametrize(
    ("sig", "extra"),
    [
        ("apply one patch every 72 hours", {}),
        ("apply one patch every 3 days", {}),
        ("", structured_patch({"frequency": 1, "period": 72, "periodUnit": "h"})),
        ("", structured_patch({"frequency": 1, "period": 3, "periodUnit": "d"})),
    ],
)
def test_a_72_hour_buprenorphine_35_70_order_is_planned_and_supplied_every_72_hours(
    sig: str, extra: dict[str, Any]
) -> None:
    """Issue 18: 72-hour brands share the 96-hour VMPs (ome-reference.md §8); an order that
    says "every 72 hours" was planned and supplied as 96-hour. 72 hours is an interval
    rules/taper.yaml allows for these patches, so nothing needs saying."""
    p, actions = patch_plan(BUP_70, sig, **extra)
    assert_sound(p)
    assert p.steps[0].note == ""
    first = p.steps[1].medicines[0]
    assert first.amount == 52.5 and first.option.change_hours == 72
    assert "changed every 72 hours" in first.how
    days = (p.steps[2].start - p.steps[1].start).days
    (action,) = actions
    (dosage,) = action["resource"]["dosageInstruction"]
    assert dosage["timing"] == {"repeat": {"frequency": 1, "period": 72, "periodUnit": "h"}}
    assert action["resource"]["dispenseRequest"]["quantity"] == {"value": math.ceil(days * 24 / 72)}
    # The weaker 7-day patches the taper crosses to keep their own life.
    assert {s.medicines[0].option.change_hours for s in p.steps[1:-1]} <= {72, 168}
    assert 168 in {s.medicines[0].option.change_hours for s in p.steps[1:-1]}


def test_an_order_with_no_interval_falls_back_to_rules_taper_yaml() -> None:
    # A rate "once a day" (as the plan link sends a patch) says nothing about changes.
    rate = {"value": 70, "unit": "microgram/hour", "code": "ug/h"}
    p, _ = patch_plan(
        BUP_70, "", **structured_patch({"frequency": 1, "period": 1, "periodUnit": "d"}, rate)
    )
    assert [s.medicines[0].option.change_hours for s in p.steps[:2]] == [96, 96]
    assert p.steps[0].note == ""


def test_an_order_interval_the_table_does_not_give_is_used_and_said_on_the_plan() -> None:
    """ "Twice a week" (84 hours on average: Monday morning, Thursday evening) is neither 96
    nor 72 hours: planned and supplied as ordered, and said on the plan, the card and the
    CarePlan rather than silently kept or overruled."""
    p, actions = patch_plan(BUP_70, "apply one patch twice a week")
    assert p.steps[1].medicines[0].option.change_hours == 84
    assert "changed twice a week" in p.steps[1].medicines[0].how
    note = p.steps[0].note
    assert note.startswith(f"{BUP_70}: the order changes the patch twice a week")
    assert "every 96 hours or every 72 hours" in note
    assert f"Note: {note}." in plan_markdown(p)
    (dosage,) = actions[0]["resource"]["dosageInstruction"]
    assert dosage["timing"] == {"repeat": {"frequency": 2, "period": 1, "periodUnit": "wk"}}
    days = (p.steps[2].start - p.steps[1].start).days
    assert actions[0]["resource"]["dispenseRequest"]["quantity"] == {"value": math.ceil(days / 3.5)}
    plan_resource = care_plan(p)
    assert plan_resource["note"] == [{"text": note}]
    CarePlan.model_validate(plan_resource)


def test_a_fentanyl_order_every_96_hours_is_said_on_the_plan() -> None:
    p, _ = patch_plan(FENTANYL_50, "apply one patch every 96 hours")
    assert p.steps[1].medicines[0].option.change_hours == 96
    assert "(every 72 hours)" in p.steps[0].note


# --- A CarePlan activity per product (issue 18) ---------------------------------------------


def activities_of(p: TaperPlan, number: int) -> list[dict[str, Any]]:
    resource = care_plan(p)
    CarePlan.model_validate(resource)
    return [
        a["detail"]
        for a in resource["activity"]
        if a["detail"]["description"].startswith(f"Step {number}: ")
    ]


def test_a_step_of_two_patch_strengths_has_an_activity_per_strength_with_its_quantity() -> None:
    """Buprenorphine 35 (96-hour) -> 20 + 10 (7-day): the CarePlan had one activity with no
    product code and no quantity. Now each strength is its own activity, as the card's
    first-step orders are, supplied for the step's days at the step's change interval."""
    p = plan((BUP_35, "apply one patch every 96 hours"))
    step = p.steps[1]
    days = (p.steps[2].start - step.start).days
    details = activities_of(p, 1)
    assert [d["productCodeableConcept"]["coding"][0]["display"] for d in details] == [
        "Buprenorphine 20micrograms/hour transdermal patches",
        "Buprenorphine 10micrograms/hour transdermal patches",
    ]
    for detail in details:
        assert detail["quantity"] == {"value": math.ceil(days / 7)}
        assert "dailyAmount" not in detail
        assert "1 at a time, as part of: " in detail["description"]
        assert "changed every 7 days" in detail["description"]


def test_a_step_of_two_tablet_strengths_has_an_activity_per_strength_with_its_daily_amount() -> (
    None
):
    p = plan((MORPHINE_MR_60, "one twice a day"))
    several = [s for s in p.steps[1:] if len(s.medicines[0].option.parts) > 1]
    assert several
    for step in several:
        parts = step.medicines[0].option.parts
        details = activities_of(p, step.number)
        assert [
            (d["productCodeableConcept"]["coding"][0]["code"], d["dailyAmount"]["value"])
            for d in details
        ] == [(part.code, part.units) for part in parts]
        assert all(" a day, as part of: " in d["description"] for d in details)
