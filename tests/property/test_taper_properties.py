"""Properties of tapering schedules over generated regimens of real dm+d products.

Regimens of one to three opioids are drawn from a fixed list of real products and doses;
paces from 5-25% every 7-28 days, with or without the slower pace near the end, and floors.
For every plan (``service.taper.from_regimen.plan_for``, as ``POST /taper`` builds it):

- each medicine's dose, each dose time (morning, night) and the total never increase, and
  every step reduces the total;
- no step is larger than the pace: a step's reduction is at most the pace times the days
  since the previous step over the interval, where the first step also counts the interval
  before the start date (the planner's rule: the first reduction starts on the start date
  unless it must wait longer); at the slower pace, that times the slower fraction;
- no step reduces the total by more than the maximum step size (rules/taper.yaml) unless
  the step says so, and every wait longer than one interval is said;
- the plan ends at zero or at the agreed floor, with no further real step above the floor;
- at most two strengths make a modified-release dose;
- every product in every step is a real dm+d product whose strength times units makes the
  step's amount, of the same ingredient, route and (modified-release) release time.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from service.fhir.medication_record import read_medication_record
from service.fhir.patient_record import PatientRecord
from service.medicines.dictionary import brand_of
from service.medicines.model import Product, Route
from service.ome.calculate import MedicationOme, Status
from service.taper.from_regimen import plan_for, uneven_split
from service.taper.options import Family, family_for
from service.taper.planner import TaperPlan
from service.taper.settings import Pace
from tests.unit.taper.test_planner import PIPELINE, request

# One engine for the taper tests (built once at start-up, as the service does).
DMD = "https://dmd.nhs.uk"
TODAY = date(2026, 11, 22)
EPSILON = 1e-6
ROUNDING = 0.1  # step totals are rounded to 0.1 mg OME/day

_MR_SIGS = (
    "one twice a day",
    "two twice a day",
    "one in the morning and two at night",
    # Structured dosage lines, one per time (``_record``; issue 18: kept as uneven splits).
    "structured: 1 MORN, 2 NIGHT",
    "structured: 2 08:00, 1 20:00",
)
_IR_SIGS = (
    "one four times a day",
    "two four times a day",
    "one three times a day",
    "one or two every 4-6 hours when required, max 8 in 24 hours",
    "one every 4 hours when required, max 4 in 24 hours",
)
_LIQUID_SIGS = (
    "2.5ml four times a day",
    "2.5ml three times a day",
    "10ml twice a day",
    "5ml every 4 hours when required, max 6 doses in 24 hours",
)

#: (product name, the doses it may be given at): real dm+d products only.
PRODUCTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    *((f"Morphine {s}mg modified-release tablets", _MR_SIGS) for s in (10, 15, 30, 60, 100, 200)),
    *((f"Morphine {s}mg modified-release capsules", _MR_SIGS) for s in (10, 30, 60, 100)),
    *((f"Oxycodone {s}mg modified-release tablets", _MR_SIGS) for s in (5, 10, 20, 40, 80)),
    *((f"Tapentadol {s}mg modified-release tablets", _MR_SIGS) for s in (50, 100, 150, 250)),
    *((f"Tramadol {s}mg modified-release tablets", _MR_SIGS[:1]) for s in (50, 100, 150, 200)),
    *((f"Dihydrocodeine {s}mg modified-release tablets", _MR_SIGS[:2]) for s in (60, 120)),
    *((f"Hydromorphone {s}mg modified-release capsules", _MR_SIGS) for s in (2, 8, 24)),
    # Brands (issue 18): a branded order steps through its own brand's strengths.
    ("MXL 60mg capsules", ("one once a day",)),
    ("MXL 200mg capsules", ("one once a day",)),
    ("Zydol XL 400mg tablets", ("one once a day",)),
    ("Zomorph 100mg modified-release capsules", _MR_SIGS),
    ("Targinact 20mg/10mg modified-release tablets", _MR_SIGS[:2]),
    ("Morphine 10mg tablets", _IR_SIGS),
    ("Oxycodone 5mg capsules", _IR_SIGS),
    ("Oxycodone 10mg capsules", _IR_SIGS),
    ("Co-codamol 30mg/500mg tablets", _IR_SIGS),
    ("Co-codamol 8mg/500mg tablets", _IR_SIGS),
    ("Codeine 30mg tablets", _IR_SIGS),
    ("Tramadol 50mg capsules", _IR_SIGS),
    ("Dihydrocodeine 30mg tablets", _IR_SIGS),
    ("Tapentadol 50mg tablets", _IR_SIGS[:3]),
    ("Morphine sulfate 10mg/5ml oral solution", _LIQUID_SIGS),
    ("Oxycodone 5mg/5ml oral solution", _LIQUID_SIGS),
    ("Oxycodone 10mg/ml oral solution sugar free", ("0.5ml twice a day", "1.5ml twice a day")),
    *(
        (f"Fentanyl {s}micrograms/hour transdermal patches", ("apply one patch every 72 hours",))
        for s in (12, 25, 50, 75, 100)
    ),
    ("Fentanyl 100micrograms/hour transdermal patches", ("apply two patches every 72 hours",)),
    *(
        (f"Buprenorphine {s}micrograms/hour transdermal patches", ("apply one patch every 7 days",))
        for s in (5, 10, 20)
    ),
    *(
        (
            f"Buprenorphine {s}micrograms/hour transdermal patches",
            ("apply one patch every 96 hours",),
        )
        for s in (35, 52.5, 70)
    ),
)
FLOORS = (0.0, 0.0, 0.0, 10.0, 30.0, 45.5, 60.0, 90.0, 120.0)


def _record(name: str, sig: str, index: int) -> Any:
    resource = request(name, sig, index)
    if sig.startswith("structured:"):
        # "structured: 1 MORN, 2 NIGHT": a structured line per time, ``when`` codes or
        # ``timeOfDay``, each a tablet count once a day.
        lines = []
        for entry in sig.removeprefix("structured:").split(","):
            count, time = entry.split()
            repeat = {"timeOfDay": [f"{time}:00"]} if ":" in time else {"when": [time]}
            dose = {"doseQuantity": {"value": int(count), "unit": "tablet"}}
            lines.append({"timing": {"repeat": repeat}, "doseAndRate": [dose]})
        resource["dosageInstruction"] = lines
    return read_medication_record(resource, f"medications[{index}]", {})


def _items(regimen: list[tuple[str, str]]) -> tuple[MedicationOme, ...]:
    records = tuple(_record(name, sig, i) for i, (name, sig) in enumerate(regimen))
    return PIPELINE.regimen(PatientRecord("taper", None, (), records), TODAY).with_proposal


def regimens() -> st.SearchStrategy[list[tuple[str, str]]]:
    """One to three (product, dose) pairs; the same product may come twice at two doses
    (regular and when required), as GP records often hold it."""
    dosed = st.sampled_from(PRODUCTS).flatmap(
        lambda p: st.sampled_from(p[1]).map(lambda sig: (p[0], sig))
    )
    return st.lists(dosed, min_size=1, max_size=3, unique=True)


@st.composite
def paces(draw: st.DrawFn) -> Pace:
    percent = draw(st.integers(5, 25))
    interval = draw(st.integers(7, 28))
    taper_settings = PIPELINE.taper_settings
    if draw(st.booleans()):
        return Pace(
            float(percent),
            interval,
            taper_settings.slower_below_percent,
            taper_settings.slower_fraction,
        )
    return Pace(float(percent), interval)


def _plan(items: tuple[MedicationOme, ...], pace: Pace, start: date, floor: float) -> TaperPlan:
    return plan_for(
        items, pace, start, PIPELINE.dictionary, PIPELINE.taper_settings, floor_mg_per_day=floor
    )


def _labels(items: tuple[MedicationOme, ...]) -> dict[str, MedicationOme]:
    """Items by the label the plan gives them: the product name, or with its dose when the
    same product comes twice."""
    names = [item.label for item in items]
    return {
        (
            item.label
            if names.count(item.label) == 1
            else f"{item.label} ({item.daily.description if item.daily else ''})"
        ): item
        for item in items
    }


def _families(items: tuple[MedicationOme, ...]) -> dict[str, tuple[Family, float]]:
    """Each planned medicine's family of real options and its OME factor, by label."""
    out: dict[str, tuple[Family, float]] = {}
    for label, item in _labels(items).items():
        assert item.product is not None and item.daily is not None
        part = item.ingredients[0]
        units = item.daily.amount if item.daily.unit == "unit" else None
        family = family_for(
            item.product,
            part.ingredient,
            part.amount,
            units,
            item.daily.as_needed,
            PIPELINE.dictionary,
            PIPELINE.taper_settings,
        )
        assert isinstance(family, Family), (label, family)
        out[label] = (family, part.factor)
    return out


SETTINGS = hypothesis_settings(
    derandomize=True,
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_every_product_in_the_list_is_real_and_its_doses_are_calculated() -> None:
    for name, sigs in PRODUCTS:
        for sig in sigs:
            (item,) = _items([(name, sig)])
            assert item.status is Status.CALCULATED, (name, sig, item.reason)
            assert item.product is not None and item.product.concept_type in ("VMP", "AMP")


@SETTINGS
@given(
    regimen=regimens(),
    pace=paces(),
    start=st.dates(date(2026, 1, 1), date(2028, 12, 31)),
    floor=st.sampled_from(FLOORS),
)
def test_schedule_properties(
    regimen: list[tuple[str, str]], pace: Pace, start: date, floor: float
) -> None:
    items = _items(regimen)
    plan = _plan(items, pace, start, floor)
    steps = plan.steps
    start_total = sum(m.ome_mg_per_day or 0.0 for m in items)

    # The plan starts from the regimen as it is: nothing rounded up, nothing lost.
    assert not plan.not_planned
    assert steps[0].number == 0 and steps[0].start == start
    assert abs(steps[0].total_ome_mg_per_day - start_total) <= ROUNDING + EPSILON
    assert {m.label for m in steps[0].medicines} == set(_labels(items))
    # An uneven twice-daily split, in text or structured lines, starts as written (issue 18).
    for medicine in steps[0].medicines:
        split = uneven_split(_labels(items)[medicine.label])
        if split is not None:
            assert medicine.option.doses == split, medicine.label

    pace_ome = pace.reduction_percent / 100 * steps[0].total_ome_mg_per_day
    for before, step in pairwise(steps):
        # Never increasing: each medicine and the total; every step reduces the total.
        for old, new in zip(before.medicines, step.medicines, strict=True):
            assert old.label == new.label
            assert new.amount <= old.amount + EPSILON, (step.number, new.label)
            # ... and no dose time: neither the morning nor the night dose rises (issue 18).
            if old.option.doses and len(new.option.doses) == len(old.option.doses):
                for before_dose, after_dose in zip(old.option.doses, new.option.doses, strict=True):
                    assert after_dose <= before_dose + EPSILON, (step.number, new.label)
            assert (new.amount < old.amount - EPSILON) == (new.label == step.changed)
        assert step.total_ome_mg_per_day < before.total_ome_mg_per_day
        reduction = before.total_ome_mg_per_day - step.total_ome_mg_per_day
        assert abs(reduction - step.reduction_mg_per_day) <= ROUNDING + EPSILON

        # No step larger than the pace over the days it had.
        days = (step.start - before.start).days
        if step.number == 1:
            assert days >= 0 and days % pace.interval_days == 0
            days += pace.interval_days
        else:
            assert days >= pace.interval_days and days % pace.interval_days == 0
        allowed = pace_ome * days / pace.interval_days
        slower = pace.slower_below_percent is not None and before.total_ome_mg_per_day <= (
            pace.slower_below_percent / 100 * steps[0].total_ome_mg_per_day + EPSILON
        )
        if slower:
            allowed *= pace.slower_fraction
        assert reduction <= allowed + ROUNDING + EPSILON, (step.number, reduction, allowed)
        # ... and the wait is no longer than that step needs (a whole number of intervals).
        per_interval = allowed * pace.interval_days / days
        needed = math.ceil((reduction + ROUNDING) / per_interval - EPSILON)
        assert days // pace.interval_days <= max(needed, 1), (step.number, days, needed)
        # No step larger than the maximum step size unless the step says so; a longer wait
        # is always said (issue 18).
        max_step = PIPELINE.taper_settings.max_step_percent / 100 * steps[0].total_ome_mg_per_day
        if reduction > max_step + ROUNDING + EPSILON:
            assert "maximum step" in step.note, (step.number, reduction, max_step)
        waited = days // pace.interval_days
        assert (waited > 1) == bool(step.note), (step.number, waited, step.note)

    # The plan ends at zero or at the floor, with no further real step above the floor.
    last = steps[-1]
    if steps[0].total_ome_mg_per_day <= floor:  # already at or below the floor: no step
        assert len(steps) == 1
    else:
        assert last.total_ome_mg_per_day == 0 or last.total_ome_mg_per_day >= floor - EPSILON
    if floor == 0:
        assert last.total_ome_mg_per_day == 0
        assert all(m.amount == 0 for m in last.medicines)
    families = _families(items)
    for medicine in last.medicines:
        family, factor = families[medicine.label]
        for option in family.options:
            # A step never goes back to a product it has left nor raises a dose time.
            if option.amount < medicine.amount - EPSILON and medicine.option.allows(option):
                below = last.total_ome_mg_per_day - (medicine.amount - option.amount) * factor
                assert below < floor - EPSILON, (medicine.label, option.how)

    _assert_constructible(plan, items)


def _assert_constructible(plan: TaperPlan, items: tuple[MedicationOme, ...]) -> None:
    """Every product code resolves to a real product whose strength × units makes the dose."""
    originals = {label: item.product for label, item in _labels(items).items()}
    starting = {m.label: m.amount for m in plan.steps[0].medicines}
    for step in plan.steps:
        for medicine in step.medicines:
            original = originals[medicine.label]
            assert original is not None
            parts = medicine.option.parts
            if medicine.option.how == "as now":  # a dose no whole units make: kept as it was
                assert medicine.amount == starting[medicine.label]
                continue
            assert bool(parts) == (medicine.amount > 0), (step.number, medicine.how)
            made = 0.0
            for part in parts:
                product = PIPELINE.dictionary.by_code(DMD, part.code)
                assert product is not None, part.code
                assert product.name == part.name
                assert part.units == int(part.units) and part.units > 0
                made += _strength(product, medicine.ingredient) * part.units
                _assert_same_kind(product, original)
            assert math.isclose(made, medicine.amount, abs_tol=1e-6), (made, medicine.amount)
            _assert_twice_daily(medicine.how, parts, original)


def _strength(product: Product, ingredient: str) -> float:
    """mg per tablet, capsule or ml; micrograms/hour per patch."""
    strength = next(i.strength for i in product.ingredients if i.name == ingredient)
    assert strength is not None
    return strength.mg_per_one * (1000 if product.is_patch else 1)


def _assert_same_kind(product: Product, original: Product) -> None:
    assert product.route is original.route
    assert {i.name for i in product.opioids} == {i.name for i in original.opioids}
    if product.code != original.code and brand_of(original) is not None:
        assert brand_of(product) == brand_of(original)  # a brand stays on its brand
    elif product.code != original.code:
        assert product.concept_type == "VMP" and len(product.ingredients) == 1
    if original.modified_release:
        assert product.modified_release
        assert product.release_hours == original.release_hours
        assert product.dose_form == original.dose_form
    elif not original.is_patch:  # immediate-release and liquids: the same product
        assert product.code == original.code


def _assert_twice_daily(how: str, parts: tuple[Any, ...], original: Product) -> None:
    """A 12-hour product is never given once a day, and at night only just at the lowest
    strength, one tablet."""
    if not original.modified_release:
        return
    # At most two strengths a dose (rules/taper.yaml; issue 18): "a + b" at each dose time.
    most = PIPELINE.taper_settings.max_strengths_per_administration
    for dose_words in how.split(" in the morning and "):
        assert dose_words.count("+") <= most - 1, how
    if (original.release_hours or 12) >= 24:
        return
    assert "once a day" not in how
    if "at night only" in how:
        (part,) = parts
        assert part.units == 1
        product = PIPELINE.dictionary.by_code(DMD, part.code)
        assert product is not None
        ingredient = original.opioids[0].name
        lowest = min(
            _strength(p, ingredient)
            for p in PIPELINE.dictionary.products_with(ingredient, Route.ORAL, True)
            if p.dose_form == original.dose_form and p.release_hours == original.release_hours
        )
        assert _strength(product, ingredient) == lowest


@SETTINGS
@given(regimen=regimens(), pace=paces())
def test_a_plan_is_the_same_for_the_same_input_and_only_shifts_with_the_start_date(
    regimen: list[tuple[str, str]], pace: Pace
) -> None:
    items = _items(regimen)
    first = _plan(items, pace, date(2026, 12, 1), 0.0)
    again = _plan(items, pace, date(2026, 12, 1), 0.0)
    later = _plan(items, pace, date(2027, 3, 1), 0.0)
    assert first == again
    shift = date(2027, 3, 1) - date(2026, 12, 1)
    assert [s.start + shift for s in first.steps] == [s.start for s in later.steps]
    assert [s.medicines for s in first.steps] == [s.medicines for s in later.steps]


@SETTINGS
@given(regimen=regimens(), percent=st.integers(5, 24), interval=st.integers(7, 28))
def test_a_slower_pace_never_ends_sooner(
    regimen: list[tuple[str, str]], percent: int, interval: int
) -> None:
    items = _items(regimen)
    start = date(2026, 12, 1)
    faster = _plan(items, Pace(float(percent + 1), interval), start, 0.0)
    slower = _plan(items, Pace(float(percent), interval), start, 0.0)
    near_end = _plan(
        items,
        Pace(
            float(percent),
            interval,
            PIPELINE.taper_settings.slower_below_percent,
            PIPELINE.taper_settings.slower_fraction,
        ),
        start,
        0.0,
    )
    assert faster.end_date <= slower.end_date <= near_end.end_date
    assert slower.end_date <= _plan(items, Pace(float(percent), interval + 7), start, 0.0).end_date


def test_the_start_date_is_the_plan_start_and_the_first_step_waits_only_when_it_must() -> None:
    items = _items([("Morphine 60mg modified-release tablets", "one twice a day")])
    plan = _plan(items, Pace(10.0, 14), date(2026, 12, 1), 0.0)
    assert plan.steps[1].start == date(2026, 12, 1)
    items = _items([("Fentanyl 12micrograms/hour transdermal patches", _PATCH)])
    plan = _plan(items, Pace(10.0, 14), date(2026, 12, 1), 0.0)
    # One 12 patch is 30 mg OME/day, ten intervals' worth of 3 mg: nine intervals after the
    # start date (the start date's own interval counts).
    assert plan.steps[1].start == date(2026, 12, 1) + timedelta(days=14 * 9)


_PATCH = "apply one patch every 72 hours"
