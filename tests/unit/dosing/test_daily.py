"""The daily amount a prescription allows: structured Dosage → free text → quantity/supply.

These test ``service.dosing.daily.daily_amount`` on its own, in the product's own units
(tablets, ml, mg, micrograms/hour); the conversion to OME is tested in tests/unit/ome.
"""

from __future__ import annotations

from typing import Any

import pytest

from service.dosing.daily import DailyAmount, NotDosed, daily_amount, structured_doses_by_time
from service.fhir.medication_record import read_medication_record
from tests.unit.ome.fhir_builders import (
    MORPHINE_MR_30,
    MORPHINE_SOLUTION_10_5,
    SNOMED,
    UCUM,
    capsules,
    days,
    dosage,
    hours,
    mg,
    patches,
    quantity,
    request,
    tablets,
)


def daily(resource: dict[str, Any], *, cap: bool = True) -> DailyAmount | NotDosed:
    record = read_medication_record(resource, "medications[0]", {})
    return daily_amount(record, use_stated_maximum=cap)


def amount(*lines: dict[str, Any], cap: bool = True, **kw: Any) -> DailyAmount:
    result = daily(request(MORPHINE_MR_30, *lines, **kw), cap=cap)
    assert isinstance(result, DailyAmount), result
    return result


def not_dosed(*lines: dict[str, Any], **kw: Any) -> str:
    result = daily(request(MORPHINE_MR_30, *lines, **kw))
    assert isinstance(result, NotDosed), result
    return result.reason


def per_day(*lines: dict[str, Any], cap: bool = True, **kw: Any) -> tuple[float, str]:
    result = amount(*lines, cap=cap, **kw)
    return round(result.amount, 6), result.unit


# ------------------------------------------------------------------------ structured


def test_r4_dose_and_rate_and_stu3_dose_quantity_read_the_same() -> None:
    r4 = dosage(dose=tablets(1), frequency=2, period=1, period_unit="d")
    stu3 = dosage(dose=tablets(1), frequency=2, period=1, period_unit="d", stu3=True)
    assert per_day(r4) == per_day(stu3) == (2.0, "unit")


def test_the_ordered_dose_and_rate_entry_is_chosen() -> None:
    line = dosage(frequency=2, period=1, period_unit="d")
    line["doseAndRate"] = [
        {"type": {"text": "calculated"}, "doseQuantity": mg(999)},
        {"type": {"coding": [{"code": "ordered"}]}, "doseQuantity": mg(30)},
    ]
    assert per_day(line) == (60.0, "mg")


def test_dose_range_counts_its_high_end() -> None:
    line = dosage(dose_range=(tablets(1), tablets(2)), frequency=3, period=1, period_unit="d")
    assert per_day(line) == (6.0, "unit")


def test_frequency_max_over_frequency() -> None:
    line = dosage(dose=tablets(1), frequency=1, frequency_max=3, period=1, period_unit="d")
    assert per_day(line) == (3.0, "unit")


def test_period_is_the_shortest_interval_and_period_max_is_ignored() -> None:
    line = dosage(dose=tablets(1), frequency=1, period=4, period_max=6, period_unit="h")
    assert per_day(line) == (6.0, "unit")


@pytest.mark.parametrize(
    ("frequency", "period", "unit", "expected"),
    [
        (1, 12, "h", 2.0),
        (2, 1, "d", 2.0),
        (3, 1, "d", 3.0),
        (1, 2, "d", 0.5),
        (2, 1, "wk", 2 / 7),
        (1, 720, "min", 2.0),
        (1, 1, "mo", 1 / 30),
        (4, 1, "day", 4.0),  # long forms, as some clients send them
        (1, 8, "hours", 3.0),
    ],
)
def test_period_units(frequency: int, period: float, unit: str, expected: float) -> None:
    line = dosage(dose=tablets(1), frequency=frequency, period=period, period_unit=unit)
    assert amount(line).amount == pytest.approx(expected)


def test_dstu2_period_units_spelling() -> None:
    line = {"timing": {"repeat": {"frequency": 2, "period": 1, "periodUnits": "d"}}}
    line["doseQuantity"] = tablets(1)
    assert per_day(line) == (2.0, "unit")


def test_time_of_day_and_when_are_counted() -> None:
    assert per_day(dosage(dose=tablets(1), time_of_day=("08:00:00", "14:00:00", "20:00:00"))) == (
        3.0,
        "unit",
    )
    assert per_day(dosage(dose=tablets(2), when=("NIGHT",))) == (2.0, "unit")


def test_a_frequency_with_no_period_is_not_guessed() -> None:
    assert "no frequency or maximum" in not_dosed(dosage(dose=tablets(1), frequency=3))


def test_timing_without_a_dose_is_not_dosed() -> None:
    reason = not_dosed(dosage(frequency=2, period=1, period_unit="d"))
    assert "structured dosage has timing but no dose" in reason
    assert "no quantity and supply duration to fall back on" in reason


def test_micrograms_are_read_as_mg() -> None:
    line = dosage(dose=quantity(500, "microgram", "ug"), frequency=2, period=1, period_unit="d")
    assert per_day(line) == (1.0, "mg")


def test_a_dose_of_zero_gives_no_amount() -> None:
    assert "no positive daily amount" in not_dosed(
        dosage(dose=tablets(0), frequency=2, period=1, period_unit="d")
    )


def test_an_unrecognised_dose_unit_is_named() -> None:
    line = dosage(
        dose=quantity(1, "injection", "{injection}"), frequency=1, period=1, period_unit="d"
    )
    assert "unrecognised dose unit '{injection}'" in not_dosed(line)


# ------------------------------------------------------------------- when required


def prn_line(**kw: Any) -> dict[str, Any]:
    return dosage(
        dose_range=(capsules(1), capsules(2)),
        frequency=1,
        period=4,
        period_unit="h",
        as_needed=True,
        **kw,
    )


def test_when_required_counts_at_the_maximum_and_says_so() -> None:
    result = amount(prn_line())
    assert (result.amount, result.as_needed) == (12.0, True)
    assert "when required" in result.description


def test_a_stated_daily_maximum_caps_when_the_profile_says_so() -> None:
    line = prn_line(max_per_period=(capsules(8), hours(24)))
    assert per_day(line) == (8.0, "unit")
    assert per_day(line, cap=False) == (12.0, "unit")


def test_a_stated_maximum_over_several_days_is_per_day() -> None:
    line = prn_line(max_per_period=(capsules(16), days(2)))
    assert per_day(line) == (8.0, "unit")


def test_when_required_with_only_a_maximum() -> None:
    line = dosage(dose=capsules(1), as_needed=True, max_per_period=(capsules(4), hours(24)))
    assert per_day(line) == (4.0, "unit")
    assert per_day(line, cap=False) == (4.0, "unit")  # nothing else to count


def test_a_maximum_in_another_unit_is_not_mixed() -> None:
    line = prn_line(max_per_period=(mg(40), hours(24)))
    assert "maximum dose and dose use different units" in not_dosed(line)


# -------------------------------------------------------------- several dosage lines


def test_concurrent_lines_add_up() -> None:
    lines = (dosage(dose=tablets(1), when=("MORN",)), dosage(dose=tablets(2), when=("NIGHT",)))
    assert per_day(*lines) == (3.0, "unit")


def test_sequential_lines_give_the_highest_day() -> None:
    lines = (
        dosage(dose=tablets(3), frequency=1, period=1, period_unit="d", sequence=1),
        dosage(dose=tablets(1), frequency=2, period=1, period_unit="d", sequence=2),
        dosage(dose=tablets(1), frequency=1, period=1, period_unit="d", sequence=3),
    )
    assert per_day(*lines) == (3.0, "unit")


def test_lines_with_the_same_sequence_run_together() -> None:
    lines = (
        dosage(dose=tablets(1), when=("MORN",), sequence=1),
        dosage(dose=tablets(1), when=("NIGHT",), sequence=1),
        dosage(dose=tablets(1), frequency=1, period=1, period_unit="d", sequence=2),
    )
    assert per_day(*lines) == (2.0, "unit")


def test_concurrent_lines_in_different_units_are_not_added() -> None:
    lines = (
        dosage(dose=tablets(1), when=("MORN",)),
        dosage(dose=mg(30), when=("NIGHT",)),
    )
    assert "dosage lines use different units" in not_dosed(*lines)


def test_sequential_lines_in_different_units_are_not_compared() -> None:
    lines = (
        dosage(dose=tablets(1), frequency=2, period=1, period_unit="d", sequence=1),
        dosage(dose=mg(40), frequency=2, period=1, period_unit="d", sequence=2),
    )
    assert "sequential dosage lines use different units" in not_dosed(*lines)


def test_every_text_line_counts() -> None:
    assert per_day(dosage("1 in the morning"), dosage("2 at night")) == (3.0, "unit")


def test_a_text_line_adds_to_a_structured_line() -> None:
    result = amount(dosage(dose=tablets(1), when=("MORN",)), dosage("2 at night"))
    assert (result.amount, result.basis) == (3.0, "structured dosage and dosage text")


def test_sequential_text_lines_give_the_highest_day() -> None:
    lines = (dosage("1 twice a day", sequence=1), dosage("2 twice a day", sequence=2))
    assert per_day(*lines) == (4.0, "unit")


def test_one_unreadable_line_makes_the_whole_unknown_and_names_it() -> None:
    reason = not_dosed(dosage("1 in the morning"), dosage("as directed"))
    assert reason.startswith("dosage line 2: dosage text: 'as directed'")


def test_a_line_with_no_instruction_is_skipped() -> None:
    line = {"route": {"text": "oral"}}  # route only, e.g. Dose Syntax additional details
    assert per_day(dosage("1 twice a day"), line) == (2.0, "unit")


# ------------------------------------------------------------- infusions and patches


def test_rate_ratio_over_24_hours() -> None:
    assert per_day(dosage(rate_ratio=(mg(30), hours(24)))) == (30.0, "mg")


def test_rate_ratio_over_12_hours() -> None:
    assert per_day(dosage(rate_ratio=(mg(10), hours(12)))) == (20.0, "mg")


def test_rate_quantity_per_hour() -> None:
    assert per_day(dosage(rate=quantity(1.25, "mg/h"))) == (30.0, "mg")
    assert per_day(dosage(rate=quantity(500, "ug/h"))) == (12.0, "mg")


def test_an_infusion_rate_in_ml_per_hour_is_ml_a_day() -> None:
    assert per_day(dosage(rate=quantity(5, "ml/h"))) == (120.0, "ml")


def test_an_unrecognised_rate_unit_is_named() -> None:
    assert "unrecognised rate unit" in not_dosed(dosage(rate=quantity(5, "{drop}/min")))


def test_a_patch_rate_is_not_multiplied_by_how_often_it_is_changed() -> None:
    rate = quantity(25, "microgram/hour", "ug/h")
    every_72h = dosage(dose=rate, frequency=1, period=72, period_unit="h")
    daily_change = dosage(dose=rate, frequency=1, period=1, period_unit="d")
    assert (
        per_day(every_72h)
        == per_day(daily_change)
        == per_day(dosage(dose=rate))
        == (
            25.0,
            "microgram/hour",
        )
    )


def test_patches_record_how_many_are_worn_at_once() -> None:
    result = amount(dosage(dose=patches(2), frequency=1, period=3, period_unit="d"))
    assert result.per_administration == 2.0
    assert result.amount == pytest.approx(2 / 3)


# ---------------------------------------------------------------------------- text


@pytest.mark.parametrize(
    ("text", "expected", "as_needed"),
    [
        ("1 tablet twice a day", 2.0, False),
        ("TAKE ONE 3 TIMES/DAY", 3.0, False),
        ("one or two every 4-6 hours when required, max 8 in 24 hours", 8.0, True),
        ("2 at night", 2.0, False),
        ("1 tablet, daily", 1.0, False),
    ],
)
def test_free_text(text: str, expected: float, as_needed: bool) -> None:
    result = amount(text=text)
    assert (result.amount, result.unit, result.as_needed) == (expected, "unit", as_needed)
    assert result.basis == "dosage text"


def test_free_text_in_ml() -> None:
    result = daily(request(MORPHINE_SOLUTION_10_5, text="10ml four times a day"))
    assert isinstance(result, DailyAmount)
    assert (result.amount, result.unit) == (40.0, "ml")


def test_free_text_syringe_driver() -> None:
    assert per_day(text="30mg over 24 hours via syringe driver") == (30.0, "mg")


def test_patient_instruction_is_read_when_the_text_is_not() -> None:
    line = dosage("see leaflet", patient_instruction="1 twice a day")
    assert per_day(line) == (2.0, "unit")


def test_as_directed_is_not_dosed_and_says_why() -> None:
    assert "dosage text: 'as directed' gives no dose" in not_dosed(text="as directed")


def test_a_stated_maximum_in_text_is_ignored_only_when_it_bound_the_count() -> None:
    capped = "one or two every 4-6 hours when required, max 8 in 24 hours"
    assert per_day(text=capped, cap=False) == (12.0, "unit")
    assert per_day(text="1 in the morning and 2 at night", cap=False) == (3.0, "unit")
    assert per_day(text="2 four times a day, max 8 a day", cap=False) == (8.0, "unit")


# ---------------------------------------------------------------- quantity / supply


def test_quantity_over_supply_duration_when_there_is_no_dosage() -> None:
    result = amount(dispense=(tablets(56), 28))
    assert (result.amount, result.unit, result.basis) == (
        2.0,
        "unit",
        "quantity and supply duration",
    )


def test_quantity_over_supply_in_weeks_and_as_strings() -> None:
    resource = request(MORPHINE_MR_30)
    resource["dispenseRequest"] = {
        "quantity": {"value": "84", "unit": "tablet(s)"},  # GP Connect sends strings
        "expectedSupplyDuration": {"value": 4, "unit": "weeks", "system": UCUM, "code": "wk"},
    }
    result = daily(resource)
    assert isinstance(result, DailyAmount)
    assert (result.amount, result.unit) == (3.0, "unit")


def test_quantity_with_a_snomed_tablet_unit() -> None:
    assert per_day(dispense=(quantity(60, "tablet", "428673006", SNOMED), 30)) == (2.0, "unit")


def test_supply_is_the_last_resort_after_unreadable_text() -> None:
    result = amount(text="as directed", dispense=(tablets(28), 28))
    assert (result.amount, result.basis) == (1.0, "quantity and supply duration")


def test_nothing_to_go_on() -> None:
    assert not_dosed() == "no dosage instruction; no quantity and supply duration to fall back on"


# --- Doses by time of day in structured lines (the taper keeps an uneven split; issue 18) ---


def by_time(*lines: dict[str, Any]) -> tuple[tuple[str, float, str], ...]:
    record = read_medication_record(request(MORPHINE_MR_30, *lines), "medications[0]", {})
    return structured_doses_by_time(record)


def test_structured_lines_at_named_times_give_their_doses_by_time() -> None:
    assert by_time(dosage(dose=mg(30), when=["MORN"]), dosage(dose=mg(60), when=["NIGHT"])) == (
        ("morning", 30.0, "mg"),
        ("night", 60.0, "mg"),
    )
    assert by_time(
        dosage(dose=tablets(1), time_of_day=["08:00:00"]),
        dosage(dose=tablets(2), time_of_day=["20:00"]),
    ) == (("08:00", 1.0, "unit"), ("20:00", 2.0, "unit"))


@pytest.mark.parametrize(
    "lines",
    [
        # one line, or lines that are not each one dose once a day at one time
        (dosage(dose=mg(30), when=["MORN", "NIGHT"]),),
        (dosage(dose=mg(30), frequency=1, period=1, period_unit="d"), dosage(dose=mg(60))),
        (dosage(dose=mg(30), when=["MORN"]), dosage(dose=mg(60), when=["NIGHT"], as_needed=True)),
        (dosage(dose=mg(30), when=["MORN"]), dosage(dose=tablets(2), when=["NIGHT"])),
        (dosage(dose=mg(30), when=["MORN"]), dosage(dose=mg(60), when=["XYZ"])),
        (dosage(dose=mg(30), when=["MORN"]), dosage("60mg at night")),
    ],
)
def test_anything_else_gives_no_doses_by_time(lines: tuple[dict[str, Any], ...]) -> None:
    assert by_time(*lines) == ()
