"""Hostile numbers (issue 12 item 5): the free-text dose parser and the dose arithmetic never
raise and never return a non-finite number, whatever the text or the numbers (finite, huge,
tiny, 400 digits). An input may be refused (HookRequestError, a 400) or unresolved, never a
crash and never an infinity in a report.

Hypothesis runs derandomized (``derandomize=True``) so CI sees the same examples every run.
"""

from __future__ import annotations

import math
from dataclasses import fields
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.dosing.sig_text import SigDose, parse_sig
from service.errors import HookRequestError
from service.ome.calculate import Status
from tests.unit.ome.fhir_builders import (
    FENTANYL_PATCH_25,
    MORPHINE_MR_30,
    MORPHINE_SOLUTION_10_5,
    assess_resource,
    dosage,
    mg,
    ml,
    patches,
    request,
    tablets,
)

SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow],
)

#: Numbers as text, from ordinary to absurd: the parser reads digits with float().
number_text = st.one_of(
    st.integers(min_value=0, max_value=10**6).map(str),
    st.floats(min_value=0, allow_nan=False, allow_infinity=False).map(repr),
    st.integers(min_value=1, max_value=400).map(lambda n: "9" * n),
    st.sampled_from(["1e308", "1e309", "0.0000001", "1e-320", ".5", "0", "00"]),
)
words = st.sampled_from(
    ["take", "one", "two", "tablet", "tablets", "mg", "ml", "twice", "a", "day", "every",
     "hours", "hourly", "up to", "max", "in 24 hours", "when required", "then", "daily",
     "at night", "morning", "patch", "change", "weekly", "-", "to", "x", "/", "times"]
)  # fmt: skip
sig_texts = st.one_of(
    st.text(max_size=80),
    st.lists(st.one_of(words, number_text), min_size=1, max_size=14).map(" ".join),
)


def _all_finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, tuple):
        return all(_all_finite(v) for v in value)
    return True


@SETTINGS
@given(text=sig_texts)
def test_the_dose_parser_never_raises_nor_returns_a_non_finite_number(text: str) -> None:
    result = parse_sig(text)
    if isinstance(result, SigDose):
        for f in fields(result):
            assert _all_finite(getattr(result, f.name)), (f.name, text)


huge_or_tiny = st.one_of(
    st.floats(min_value=0, allow_nan=False, allow_infinity=False),
    st.integers(min_value=0, max_value=10**400),
    st.sampled_from([1e308, 10**30, 5e-324, 0]),
)
products = st.sampled_from(
    [(MORPHINE_MR_30, tablets), (MORPHINE_MR_30, mg), (MORPHINE_SOLUTION_10_5, ml),
     (FENTANYL_PATCH_25, patches)]
)  # fmt: skip
period_units = st.sampled_from(["s", "min", "h", "d", "wk", "mo"])


@SETTINGS
@given(
    product=products,
    dose=huge_or_tiny,
    frequency=huge_or_tiny,
    period=huge_or_tiny,
    unit=period_units,
    text=st.one_of(st.none(), sig_texts),
)
def test_the_arithmetic_never_raises_nor_returns_a_non_finite_number(
    product: Any, dose: float, frequency: float, period: float, unit: str, text: str | None
) -> None:
    med, amount = product
    line = dosage(text, dose=amount(dose), frequency=frequency, period=period, period_unit=unit)
    try:
        result = assess_resource(request(med, line))
    except HookRequestError as refusal:  # a 400 naming the field: allowed, never a crash
        assert refusal.location and refusal.location.startswith("medications")
        return
    if result.status is Status.CALCULATED:
        assert result.ome_mg_per_day is not None and math.isfinite(result.ome_mg_per_day)
    else:
        assert result.ome_mg_per_day is None and result.reason
    if result.daily is not None:
        assert math.isfinite(result.daily.amount)
    for ingredient in result.ingredients:
        for f in fields(ingredient):
            assert _all_finite(getattr(ingredient, f.name)), f.name
