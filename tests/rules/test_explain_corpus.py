"""The workbench's explanation agrees with the engine on every clinical vignette
(tests/scenarios/): the rules it says fired are exactly those the pipeline fired, and each
rule that stayed silent on a hook it serves names the condition or the exclusion why."""

from __future__ import annotations

from typing import Any

import pytest

from service.cds_hooks.hook_input import read_hook_input
from service.cds_hooks.models import HookRequest
from service.engine.explain import explain
from service.pipeline import Pipeline
from tests.scenarios.builder import hook_request
from tests.scenarios.test_scenarios import IDS, SCENARIOS, _now, _pipeline


@pytest.fixture(scope="module")
def pipelines() -> dict[str, Pipeline]:
    """One pipeline per scenario ``settings`` (another OME profile, a rule switched on)."""
    return {}


@pytest.mark.parametrize(("rule", "scenario"), SCENARIOS, ids=IDS)
def test_explanations_agree_with_the_pipeline(
    pipelines: dict[str, Pipeline], rule: str, scenario: dict[str, Any]
) -> None:
    pipeline = _pipeline(pipelines, scenario)
    service, body = hook_request(scenario, pipeline.dictionary)
    request = HookRequest.model_validate(body)
    record = read_hook_input(service, request)
    evaluation = pipeline.evaluate(record, _now(scenario), request.hook_instance)
    rules = pipeline.rules_for(record.hook)
    explanations = {r.id: explain(r, evaluation.facts, record.hook) for r in rules}
    assert {i for i, e in explanations.items() if e.fired} == set(evaluation.rule_ids)
    for e in explanations.values():
        if e.outcome == "inclusion not met":
            assert e.failed is not None and e.failed.path.startswith("inclusion")
        if e.outcome == "excluded":
            assert e.exclusion is not None and e.exclusion.path.startswith("exclusion")
    if rule not in explanations:  # not running in this deployment (e.g. naloxone in the UK)
        assert scenario["expect"] == "silent"
        return
    mine = explanations[rule]
    assert mine.fired == (scenario["expect"] == "fires"), mine
