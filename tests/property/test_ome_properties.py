"""Properties of the OME arithmetic that must hold for every prescription, not only the
vignettes: additivity, monotonicity, independence from how a daily dose is split, unknown
products never counted as 0, and rounding that never drifts.

Hypothesis runs derandomized (``derandomize=True``) so CI sees the same examples every run.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from service.ome.calculate import MedicationOme, Status
from tests.unit.ome.fhir_builders import (
    BUPRENORPHINE_PATCH_10,
    CO_CODAMOL_30_500,
    CO_DYDRAMOL_10_500,
    DMD,
    FENTANYL_PATCH_25,
    MORPHINE_MR_10,
    MORPHINE_MR_30,
    MORPHINE_MR_60,
    MORPHINE_SOLUTION_10_5,
    OXYCODONE_CAPS_5,
    OXYCODONE_MR_40,
    OXYCODONE_NALOXONE_10_5,
    TAPENTADOL_50,
    TRAMADOL_CAPS_50,
    UK,
    US,
    Med,
    assess_resource,
    capsules,
    dictionary,
    dosage,
    mg,
    ml,
    patches,
    regimen,
    request,
    tablets,
)

SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow],
)

#: Products whose dose is a count of their units, with the unit to count them in.
COUNTED = [
    (MORPHINE_MR_10, tablets),
    (MORPHINE_MR_30, tablets),
    (MORPHINE_MR_60, tablets),
    (OXYCODONE_MR_40, tablets),
    (OXYCODONE_CAPS_5, capsules),
    (CO_CODAMOL_30_500, tablets),
    (CO_DYDRAMOL_10_500, tablets),
    (TRAMADOL_CAPS_50, capsules),
    (TAPENTADOL_50, tablets),
    (OXYCODONE_NALOXONE_10_5, tablets),
    (MORPHINE_SOLUTION_10_5, ml),
    (FENTANYL_PATCH_25, patches),
    (BUPRENORPHINE_PATCH_10, patches),
]
#: Products CDC 2022 gives no factor (dihydrocodeine) or does not count (buprenorphine).
NOT_CALCULATED_UNDER_US = frozenset({CO_DYDRAMOL_10_500, BUPRENORPHINE_PATCH_10})
#: Single-opioid products that take a dose in mg (the dose overrides the strength).
MG_DOSED = [MORPHINE_MR_10, MORPHINE_MR_30, OXYCODONE_MR_40, OXYCODONE_CAPS_5, TRAMADOL_CAPS_50]

profiles = st.sampled_from([UK, US])
frequencies = st.integers(min_value=1, max_value=6)
counts = st.integers(min_value=1, max_value=4)


def order(
    med: Med, unit: Any, count: float, frequency: int, id_: str | None = None
) -> dict[str, Any]:
    line = dosage(dose=unit(count), frequency=frequency, period=1, period_unit="d")
    return request(med, line, id=id_)


def calculated(resource: dict[str, Any], profile: str = UK) -> MedicationOme:
    result = assess_resource(resource, profile)
    assert result.status is Status.CALCULATED, result.explanation
    assert result.ome_mg_per_day is not None
    return result


# ---------------------------------------------------------------------------- additivity


@SETTINGS
@given(
    picks=st.lists(
        st.tuples(st.sampled_from(range(len(COUNTED))), counts, frequencies),
        min_size=1,
        max_size=5,
        unique_by=lambda pick: pick[0],  # distinct medicines: none is a duplicate of another
    ),
)
def test_the_total_is_the_sum_of_the_orders(picks: list[tuple[int, int, int]]) -> None:
    orders = [
        order(COUNTED[i][0], COUNTED[i][1], n, f, id_=f"order-{k}")
        for k, (i, n, f) in enumerate(picks)
    ]
    each = [calculated(o).ome_mg_per_day or 0.0 for o in orders]
    assert regimen(orders).current_total == pytest.approx(sum(each), abs=1e-9)


@SETTINGS
@given(
    first=st.tuples(st.sampled_from(range(len(COUNTED))), counts, frequencies),
    second=st.tuples(st.sampled_from(range(len(COUNTED))), counts, frequencies),
)
def test_adding_an_order_never_lowers_the_total(
    first: tuple[int, int, int], second: tuple[int, int, int]
) -> None:
    one = [order(COUNTED[first[0]][0], COUNTED[first[0]][1], first[1], first[2], id_="a")]
    two = [*one, order(COUNTED[second[0]][0], COUNTED[second[0]][1], second[1], second[2], id_="b")]
    assert regimen(two).current_total >= regimen(one).current_total


# ---------------------------------------------------------------------------- monotonic


@SETTINGS
@given(
    pick=st.sampled_from(range(len(COUNTED))),
    frequency=frequencies,
    low=counts,
    extra=st.integers(min_value=0, max_value=4),
    profile=profiles,
)
def test_more_of_the_product_never_gives_less_ome(
    pick: int, frequency: int, low: int, extra: int, profile: str
) -> None:
    med, unit = COUNTED[pick]
    assume(profile == UK or med not in NOT_CALCULATED_UNDER_US)
    smaller = calculated(order(med, unit, low, frequency), profile).ome_mg_per_day or 0.0
    larger = calculated(order(med, unit, low + extra, frequency), profile).ome_mg_per_day or 0.0
    assert larger >= smaller
    if extra and med not in (FENTANYL_PATCH_25, BUPRENORPHINE_PATCH_10):
        assert larger > smaller  # strictly, once rounding has room (every product here)


@SETTINGS
@given(
    med=st.sampled_from(MG_DOSED),
    frequency=frequencies,
    low=st.floats(min_value=1, max_value=200, allow_nan=False),
    extra=st.floats(min_value=0, max_value=200, allow_nan=False),
)
def test_a_larger_mg_dose_never_gives_less_ome(
    med: Med, frequency: int, low: float, extra: float
) -> None:
    smaller = calculated(order(med, mg, low, frequency)).ome_mg_per_day or 0.0
    larger = calculated(order(med, mg, low + extra, frequency)).ome_mg_per_day or 0.0
    assert larger >= smaller


# ----------------------------------------------------- how a daily dose is split does not matter


@SETTINGS
@given(
    med=st.sampled_from(MG_DOSED),
    twelfths=st.integers(min_value=1, max_value=40),
    profile=profiles,
)
def test_one_daily_dose_split_any_way_gives_the_same_ome(
    med: Med, twelfths: int, profile: str
) -> None:
    """60 mg once = 30 mg twice = 20 mg three times = 15 mg four times = 10 mg six times,
    by frequency or by times of day (the daily dose is a multiple of 12 mg so each split
    is exact)."""
    daily_mg = 12 * twelfths
    times = ["06:00:00", "10:00:00", "14:00:00", "18:00:00", "22:00:00", "02:00:00"]
    results = set()
    for n in (1, 2, 3, 4, 6):
        by_frequency = dosage(dose=mg(daily_mg / n), frequency=n, period=1, period_unit="d")
        by_interval = dosage(dose=mg(daily_mg / n), frequency=1, period=24 / n, period_unit="h")
        by_time = dosage(dose=mg(daily_mg / n), time_of_day=times[:n])
        for line in (by_frequency, by_interval, by_time):
            results.add(calculated(request(med, line), profile).ome_mg_per_day)
    assert len(results) == 1, results


@SETTINGS
@given(tablets_a_day=st.sampled_from([1, 2, 3, 4, 6, 12]))
def test_tablets_split_across_concurrent_lines_give_the_same_ome(tablets_a_day: int) -> None:
    one_line = order(MORPHINE_MR_30, tablets, tablets_a_day, 1)
    per_line = [
        dosage(dose=tablets(1), time_of_day=[f"{h:02d}:00:00"]) for h in range(tablets_a_day)
    ]
    many_lines = request(MORPHINE_MR_30, *per_line)
    assert (
        calculated(one_line).ome_mg_per_day
        == calculated(many_lines).ome_mg_per_day
        == 30.0 * tablets_a_day
    )


# --------------------------------------------------------------- unknown is never zero


def unknown_codes() -> st.SearchStrategy[str]:
    return st.from_regex(r"[1-9][0-9]{5,17}", fullmatch=True).filter(
        lambda code: dictionary().by_code(DMD, code) is None
    )


@SETTINGS
@given(
    code=unknown_codes(),
    count=counts,
    frequency=frequencies,
    profile=profiles,
    known=st.sampled_from(range(len(COUNTED))),
)
def test_an_unknown_product_is_unresolved_never_zero_and_never_counted(
    code: str, count: int, frequency: int, profile: str, known: int
) -> None:
    unknown = order(Med("", code), tablets, count, frequency, id_="unknown")
    unknown["medicationCodeableConcept"] = {"coding": [{"system": DMD, "code": code}]}  # no name
    result = assess_resource(unknown, profile)
    assert result.status is Status.UNRESOLVED
    assert result.ome_mg_per_day is None
    med, unit = COUNTED[known]
    assume(profile == UK or med not in NOT_CALCULATED_UNDER_US)
    other = order(med, unit, count, frequency, id_="known")
    plan = regimen([unknown, other], profile=profile)
    assert plan.current_total == calculated(other, profile).ome_mg_per_day
    assert [m.record.id for m in plan.unresolved] == ["unknown"]


@SETTINGS
@given(
    word=st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=3, max_size=10),
    count=counts,
    frequency=frequencies,
)
def test_an_unreadable_opioid_name_is_unresolved_never_zero(
    word: str, count: int, frequency: int
) -> None:
    unknown = order(Med(f"Opioid {word} preparation"), tablets, count, frequency)
    result = assess_resource(unknown)
    assert result.status is Status.UNRESOLVED
    assert result.ome_mg_per_day is None


# ---------------------------------------------------------------------------- rounding


@SETTINGS
@given(
    picks=st.lists(
        st.tuples(
            st.sampled_from(range(len(COUNTED))),
            st.floats(min_value=0.25, max_value=6, allow_nan=False),
            st.floats(min_value=0.1, max_value=8, allow_nan=False),
        ),
        min_size=1,
        max_size=5,
        unique_by=lambda pick: pick[0],
    ),
    profile=profiles,
)
def test_rounding_never_drifts_more_than_0_05_per_ingredient(
    picks: list[tuple[int, float, float]], profile: str
) -> None:
    orders = [
        request(
            COUNTED[i][0],
            dosage(dose=COUNTED[i][1](n), frequency=f, period=1, period_unit="d"),
            id=f"order-{k}",
        )
        for k, (i, n, f) in enumerate(picks)
    ]
    results = [assess_resource(o, profile) for o in orders]
    counted = [r for r in results if r.status is Status.CALCULATED]
    parts = [p for r in counted for p in r.ingredients]
    exact = sum(p.amount * p.factor for p in parts)
    for part in parts:
        assert abs(part.ome_mg_per_day - part.amount * part.factor) <= 0.05 + 1e-9
        assert round(part.ome_mg_per_day * 10) == pytest.approx(part.ome_mg_per_day * 10)
    total = regimen(orders, profile=profile).current_total
    assert abs(total - exact) <= 0.05 * len(parts) + 1e-9
