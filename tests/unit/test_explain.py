"""Why a rule fired or stayed silent (service.engine.explain, issue 16): the deciding
condition for each outcome, in boundary pairs on the high-dose rule as written."""

from __future__ import annotations

from typing import Any

import pytest

from service.config import Settings
from service.engine.definitions import Condition, RuleDefinition
from service.engine.evaluate import evaluate
from service.engine.explain import describe, explain
from service.facts.registry import FactValue
from service.pipeline import Pipeline


@pytest.fixture(scope="module")
def high_dose() -> RuleDefinition:
    (rule,) = [r for r in Pipeline(Settings()).rules if r.id == "high-dose-risk-assessment"]
    return rule


def _facts(**overrides: FactValue) -> dict[str, FactValue]:
    base: dict[str, FactValue] = {
        "proposed_opioid": True,
        "total_ome_with_proposal_mg_per_day": 120.0,
        "is_reauthorisation": False,
        "cancer_or_palliative_care": False,
    }
    return {**base, **overrides}


def test_at_the_threshold_it_fires_with_the_engines_criteria(high_dose: RuleDefinition) -> None:
    why = explain(high_dose, _facts(), "order-sign")
    assert (why.fired, why.outcome, why.failed, why.exclusion) == (True, "fired", None, None)
    assert why.indicator == "warning"
    (finding,) = evaluate((high_dose,), _facts(), "order-sign")
    assert why.criteria == finding.criteria


def test_just_below_the_threshold_names_the_comparison_that_failed(
    high_dose: RuleDefinition,
) -> None:
    why = explain(high_dose, _facts(total_ome_with_proposal_mg_per_day=119.9), "order-sign")
    assert (why.fired, why.outcome) == (False, "inclusion not met")
    assert why.failed is not None
    # The dose rule fires at the lower of its tiers (issue 17): the total missed even the
    # loosest, which is named (in the UK both tiers are 120 mg; the first is named).
    assert why.failed.path == "inclusion.all[1].any[0]"
    assert why.failed.fact == "total_ome_with_proposal_mg_per_day"
    assert (why.failed.value, why.failed.parameter, why.failed.limit) == (
        119.9,
        "threshold_mg_per_day",
        120.0,
    )
    assert "≥ threshold_mg_per_day (120 mg OME/day)" in why.failed.condition


def test_an_unknown_total_is_reported_unknown_not_zero(high_dose: RuleDefinition) -> None:
    why = explain(high_dose, _facts(total_ome_with_proposal_mg_per_day=None), "order-sign")
    assert why.failed is not None and why.failed.value is None
    assert why.failed.fact == "total_ome_with_proposal_mg_per_day"


def test_the_first_failed_condition_is_named_when_several_fail(high_dose: RuleDefinition) -> None:
    facts = _facts(proposed_opioid=False, total_ome_with_proposal_mg_per_day=10.0)
    why = explain(high_dose, facts, "order-sign")
    assert why.failed is not None and why.failed.path == "inclusion.all[0]"
    assert (why.failed.fact, why.failed.value) == ("proposed_opioid", False)


def test_reauthorisation_is_the_exclusion_that_applied(high_dose: RuleDefinition) -> None:
    why = explain(high_dose, _facts(is_reauthorisation=True), "order-sign")
    assert (why.fired, why.outcome, why.failed) == (False, "excluded", None)
    assert why.exclusion is not None
    assert (why.exclusion.path, why.exclusion.fact, why.exclusion.value) == (
        "exclusion",
        "is_reauthorisation",
        True,
    )


def test_cancer_shows_as_info_and_still_fires(high_dose: RuleDefinition) -> None:
    why = explain(high_dose, _facts(cancer_or_palliative_care=True), "order-sign")
    assert (why.fired, why.indicator) == (True, "info")
    assert why.shown_as_info_because == ("cancer_or_palliative_care",)


def test_a_hook_the_rule_does_not_run_on(high_dose: RuleDefinition) -> None:
    assert explain(high_dose, _facts(), "patient-view").outcome == "hook not served"


def _rule_with(inclusion: dict[str, Any], high_dose: RuleDefinition) -> RuleDefinition:
    return high_dose.model_copy(
        update={"inclusion": Condition.model_validate(inclusion), "exclusion": None}
    )


def test_a_not_names_the_fact_that_held(high_dose: RuleDefinition) -> None:
    rule = _rule_with({"all": [{"fact": "proposed_opioid"}, {"not": {"fact": "x"}}]}, high_dose)
    why = explain(rule, {"proposed_opioid": True, "x": True}, "order-sign")
    assert why.failed is not None
    assert (why.failed.path, why.failed.fact, why.failed.value) == (
        "inclusion.all[1].not",
        "x",
        True,
    )
    assert explain(rule, {"proposed_opioid": True, "x": False}, "order-sign").fired


def test_an_any_none_of_whose_branches_held_is_named_as_a_group(
    high_dose: RuleDefinition,
) -> None:
    rule = _rule_with({"any": [{"fact": "a"}, {"fact": "b"}]}, high_dose)
    why = explain(rule, {"a": False, "b": None}, "order-sign")
    assert why.failed is not None
    assert (why.failed.path, why.failed.condition, why.failed.fact) == (
        "inclusion",
        "any of (a; b)",
        None,
    )
    assert explain(rule, {"a": False, "b": True}, "order-sign").fired


def test_describe_writes_groups_and_comparisons(high_dose: RuleDefinition) -> None:
    assert describe(high_dose.inclusion, high_dose.parameters) == (
        "all of (proposed_opioid; any of (total_ome_with_proposal_mg_per_day ≥ "
        "threshold_mg_per_day (120 mg OME/day); total_ome_with_proposal_mg_per_day ≥ "
        "lower_tier_mg_per_day (120 mg OME/day)))"
    )
    assert describe(Condition.model_validate({"not": {"fact": "a"}})) == "not (a)"
