"""The fact registry (``service/facts/registry.py``) and its start-up checks: every declared
fact has a unit test here, a fact cannot be declared twice or computed as the wrong kind, a
rule naming an unknown fact stops start-up, and a rule may use the support tier's
``risk_factor_count`` like any other fact.
"""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import yaml

from service.config import Settings
from service.errors import ConfigurationError, RuleDefinitionError
from service.facts.registry import FactCatalogue, FactDefinition, FactSet, FactValue, check_values
from service.hooks import ORDER_SIGN
from service.pipeline import Pipeline
from tests.unit.facts.vignettes import PIPELINE, born_years_ago, draft, patient, record
from tests.unit.ome.fhir_builders import MORPHINE_MR_30

HERE = Path(__file__).resolve().parent
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
HOOK_INSTANCE = UUID("d1577c69-dfbe-44ad-ba6d-3e05e953b2ea")


# --- Every fact has a unit test ----------------------------------------------------------------


def _test_sources() -> dict[str, str]:
    """The text of every test module in this folder but this one (which names no fact
    on purpose: a fact named only here would not be tested)."""
    return {
        p.name: p.read_text("utf-8")
        for p in sorted(HERE.glob("test_*.py"))
        if p.name != Path(__file__).name
    }


def _untested(names: list[str]) -> list[str]:
    sources = "\n".join(_test_sources().values())
    return [n for n in names if not re.search(rf"\b{re.escape(n)}\b", sources)]


def test_every_declared_fact_is_named_by_a_unit_test_in_this_folder() -> None:
    catalogue = list(PIPELINE.facts_catalogue)
    assert len(catalogue) >= 30
    assert {"test_medicines.py", "test_event.py", "test_patient.py"} <= set(_test_sources())
    assert _untested(catalogue) == [], "facts without a unit test in tests/unit/facts/"


def test_the_meta_test_would_catch_a_fact_without_a_test() -> None:
    assert _untested(["proposed_opioid", "opioid_dose_is_scary"]) == ["opioid_dose_is_scary"]


# --- Declaring facts ---------------------------------------------------------------------------


def _definition(name: str, kind: Any = "bool", evidence: str | None = None) -> FactDefinition:
    return FactDefinition(name, kind, None, f"test fact {name}", evidence=evidence)


def _set(name: str, *definitions: FactDefinition) -> FactSet[None]:
    fact_set = FactSet[None](name)
    for d in definitions:
        fact_set.add(d, lambda _: None)
    return fact_set


def test_a_fact_set_refuses_a_fact_declared_twice() -> None:
    fact_set = FactSet[None]("test set")

    @fact_set.fact("on_opioids", "bool", None, "first declaration")
    def _first(_: None) -> FactValue:
        return True

    with pytest.raises(ConfigurationError, match="'on_opioids' is declared twice in test set"):

        @fact_set.fact("on_opioids", "bool", None, "second declaration")
        def _second(_: None) -> FactValue:
            return False

    assert fact_set.compute(None) == {"on_opioids": True}


def test_the_catalogue_refuses_a_name_declared_by_two_sets() -> None:
    one, two = _set("one", _definition("on_opioids")), _set("two", _definition("on_opioids"))
    with pytest.raises(ConfigurationError, match="'on_opioids' is declared by two fact sets"):
        FactCatalogue(one, two)


def test_the_catalogue_refuses_evidence_that_names_no_fact() -> None:
    cancer = _definition("has_cancer", evidence="cancer_records")
    with pytest.raises(ConfigurationError, match="names evidence 'cancer_records'"):
        FactCatalogue(_set("patient", cancer))


def test_the_catalogue_accepts_evidence_declared_by_another_set() -> None:
    cancer = _definition("has_cancer", evidence="cancer_records")
    catalogue = FactCatalogue(
        _set("one", cancer), _set("two", _definition("cancer_records", "text"))
    )
    assert list(catalogue) == ["has_cancer", "cancer_records"]
    assert catalogue["has_cancer"].evidence == "cancer_records"


# --- The start-up check of computed values ------------------------------------------------------

CATALOGUE = FactCatalogue(
    _set(
        "test",
        _definition("on_opioids", "bool"),
        _definition("total_mg", "number"),
        _definition("names", "text"),
    )
)
GOOD: dict[str, FactValue] = {"on_opioids": True, "total_mg": 60.0, "names": "Morphine"}


def test_check_values_accepts_every_fact_of_its_kind_or_unknown() -> None:
    check_values(GOOD, CATALOGUE)
    check_values({"on_opioids": None, "total_mg": 0, "names": None}, CATALOGUE)


@pytest.mark.parametrize(
    ("values", "words"),
    [
        pytest.param(
            {"on_opioids": True, "total_mg": 60.0},
            "declared but not computed: names; computed but not declared: none",
            id="missing",
        ),
        pytest.param(
            {**GOOD, "dose_is_scary": True},
            "declared but not computed: none; computed but not declared: dose_is_scary",
            id="undeclared",
        ),
        pytest.param(
            {**GOOD, "on_opioids": "yes"},
            "'on_opioids' is declared bool but computed 'yes'",
            id="text-for-bool",
        ),
        pytest.param(
            {**GOOD, "total_mg": True},
            "'total_mg' is declared number but computed True",
            id="bool-for-number",
        ),
        pytest.param(
            {**GOOD, "names": 3.0},
            "'names' is declared text but computed 3.0",
            id="number-for-text",
        ),
    ],
)
def test_check_values_refuses(values: dict[str, FactValue], words: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(words)):
        check_values(values, CATALOGUE)


# --- Rule files and facts at start-up ----------------------------------------------------------


@pytest.fixture
def rules_copy(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(Settings().rules_dir, target)
    return target


def _edit(path: Path, change: Any) -> None:
    rule = yaml.safe_load(path.read_text("utf-8"))
    change(rule)
    path.write_text(yaml.safe_dump(rule, sort_keys=False), "utf-8")


def test_start_up_refuses_a_rule_that_names_an_unknown_fact(rules_copy: Path) -> None:
    path = rules_copy / "recommendations" / "long-term-use.yaml"
    _edit(path, lambda rule: rule["inclusion"]["all"][0].update(fact="no_such_fact"))
    with pytest.raises(RuleDefinitionError) as caught:
        Pipeline(Settings(rules_dir=rules_copy))
    assert caught.value.file == str(path)
    assert "long-term-use.yaml" in str(caught.value) and "no_such_fact" in str(caught.value)


def _many_risk_factors(rule: dict[str, Any]) -> None:
    """long-term-use, turned into a rule on the support tier's risk factor count."""
    rule.update(
        id="many-risk-factors",
        title="An opioid for a patient with two or more risk factors",
        hooks=["order-sign"],
        parameters={
            "min_risk_factors": {
                "value": 2,
                "unit": "count",
                "source": "project-decision",
                "locator": "a test rule",
            }
        },
        inclusion={"fact": "risk_factor_count", "at_least": "min_risk_factors"},
    )
    rule["card"].update(
        summary="{risk_factor_count} risk factors for harm from opioids",
        detail="At least {min_risk_factors} risk factors: **{opioid_names}**.",
    )


@pytest.fixture
def risk_factor_pipeline(rules_copy: Path) -> Pipeline:
    recommendations = rules_copy / "recommendations"
    path = recommendations / "many-risk-factors.yaml"
    shutil.copy(recommendations / "long-term-use.yaml", path)
    _edit(path, _many_risk_factors)
    return Pipeline(Settings(rules_dir=rules_copy))


def _morphine_drafted_for_a_man(age: int) -> Any:
    return record(
        ORDER_SIGN,
        orders=[draft(MORPHINE_MR_30)],
        patient=[patient("male", born_years_ago(age))],
        conditions=None,
    )


def test_a_rule_on_risk_factor_count_loads(risk_factor_pipeline: Pipeline) -> None:
    rule = next(r for r in risk_factor_pipeline.rules if r.id == "many-risk-factors")
    assert rule.parameters["min_risk_factors"].value == 2


@pytest.mark.parametrize(
    ("age", "count", "fires"),
    [
        pytest.param(70, 2.0, True, id="a-man-of-70-two-factors-fires"),
        pytest.param(40, 1.0, False, id="a-man-of-40-one-factor-silent"),
    ],
)
def test_a_rule_on_risk_factor_count_fires_at_two_factors_and_not_at_one(
    risk_factor_pipeline: Pipeline, age: int, count: float, fires: bool
) -> None:
    evaluation = risk_factor_pipeline.evaluate(_morphine_drafted_for_a_man(age), NOW, HOOK_INSTANCE)
    assert evaluation.facts["risk_factor_count"] == count
    assert ("many-risk-factors" in evaluation.rule_ids) is fires
    summaries = [c.summary for c in evaluation.cards]
    assert ("2 risk factors for harm from opioids" in summaries) is fires
