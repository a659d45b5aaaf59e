"""The fact the support-tier file defines (``service/stratify.py``): ``risk_factor_count``,
how many of the risk characteristics in ``rules/stratification.yaml`` hold.

The baseline is a woman of 40 on morphine MR 30mg twice a day (60 mg OME/day) with her
patient details, conditions, observations and encounters all sent and empty: no risk
factor. Each vignette adds the factors it names. Today is 22 November 2026.
"""

from __future__ import annotations

from typing import Any

import pytest

from service.fhir.systems import ICD_10
from tests.unit.facts.vignettes import (
    PIPELINE,
    born_years_ago,
    condition,
    encounter,
    facts,
    morphine_mg_a_day,
    patient,
    social_history,
    taking,
)
from tests.unit.ome.fhir_builders import DIAZEPAM_2, MORPHINE_MR_30, Json

MORPHINE = taking(MORPHINE_MR_30)
DIAZEPAM = taking(DIAZEPAM_2, "one at night")
ALCOHOL_DEPENDENCE = condition("66590003", status="resolved")
DEPRESSION = condition("35489007")
CHILD_SEXUAL_ABUSE = condition("Z61.4", ICD_10, status="resolved")


def risk_factor_count(
    gender: str = "female",
    age: int = 40,
    medicines: tuple[Json, ...] = (MORPHINE,),
    conditions: tuple[Json, ...] = (),
    observations: tuple[Json, ...] = (),
    encounters: tuple[Json, ...] = (),
) -> Any:
    f = facts(
        current=list(medicines),
        patient=[patient(gender, born_years_ago(age))],
        conditions=list(conditions) or None,
        observations=list(observations) or None,
        encounters=list(encounters) or None,
    )
    return f["risk_factor_count"]


def test_the_parameters_and_factors_the_vignettes_are_built_around() -> None:
    assert PIPELINE.stratifier.parameters["older_age_years"] == 65
    assert PIPELINE.stratifier.parameters["high_dose_mg_per_day"] == 120
    assert len(PIPELINE.stratifier.model.risk_factors) == 9


def test_risk_factor_count_0_for_a_woman_of_40_on_morphine_with_nothing_recorded() -> None:
    assert risk_factor_count() == 0.0


@pytest.mark.parametrize(
    ("age", "count"),
    [pytest.param(64, 1.0, id="a-man-of-64"), pytest.param(65, 2.0, id="a-man-of-65")],
)
def test_risk_factor_count_either_side_of_older_age_for_a_man(age: int, count: float) -> None:
    assert risk_factor_count("male", age) == count


@pytest.mark.parametrize(
    ("total_mg", "count"),
    [pytest.param(119.9, 0.0, id="119.9-mg"), pytest.param(120.0, 1.0, id="120-mg-is-high")],
)
def test_risk_factor_count_either_side_of_the_120mg_ome_a_day_threshold(
    total_mg: float, count: float
) -> None:
    assert risk_factor_count(medicines=(morphine_mg_a_day(total_mg),)) == count


@pytest.mark.parametrize(
    ("gender", "count"),
    [pytest.param("female", 1.0, id="a-woman"), pytest.param("male", 1.0, id="a-man-male-only")],
)
def test_risk_factor_count_a_childhood_sexual_abuse_history_counts_for_a_woman_only(
    gender: str, count: float
) -> None:
    # For the man the one factor is being male; the history is not a factor for him.
    assert risk_factor_count(gender, conditions=(CHILD_SEXUAL_ABUSE,)) == count
    assert risk_factor_count(gender, conditions=(CHILD_SEXUAL_ABUSE, DEPRESSION)) == count + 1


def test_risk_factor_count_8_for_a_man_of_70_with_every_factor_a_man_can_have() -> None:
    count = risk_factor_count(
        "male",
        70,
        medicines=(morphine_mg_a_day(150), DIAZEPAM),
        conditions=(ALCOHOL_DEPENDENCE, DEPRESSION),
        observations=(social_history("73438004", "Unemployed"),),
        encounters=(encounter(100),),
    )
    assert count == 8.0


def test_risk_factor_count_counts_only_known_factors_when_nothing_but_medicines_was_sent() -> None:
    f = facts(current=[MORPHINE, DIAZEPAM])
    assert (f["risk_factor_count"], f["sex_male"], f["dependence_history_recorded"]) == (
        1.0,
        None,
        None,
    )


def test_risk_factor_count_is_computed_even_without_an_opioid() -> None:
    """The fact counts factors; the tier (not this fact) requires an opioid."""
    assert risk_factor_count("male", 70, medicines=(DIAZEPAM,)) == 3.0
