"""Clinical vignettes, one file per rule (``tests/scenarios/<rule-id>.yaml``), run through the
real pipeline, and those marked ``http: true`` through the HTTP API as well.

Each scenario says ``expect: fires`` or ``expect: silent`` for its file's rule; scenarios that
sit either side of a parameter name it in ``boundary`` (boundary pairs).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class

from service.api.deps import now_dependency
from service.cds_hooks.hook_input import read_hook_input
from service.cds_hooks.models import HookRequest
from service.config import Settings
from service.main import create_app
from service.pipeline import Pipeline
from tests.scenarios.builder import hook_request

HERE = Path(__file__).parent
SCENARIO_FILES = sorted(HERE.glob("*.yaml"))


def _load() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in SCENARIO_FILES:
        data = yaml.safe_load(path.read_text("utf-8"))
        for scenario in data["scenarios"]:
            out.append((data["rule"], scenario))
    return out


SCENARIOS = _load()
IDS = [f"{rule}: {s['name']}" for rule, s in SCENARIOS]


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline(Settings())


def _now(scenario: dict[str, Any]) -> datetime:
    day = scenario.get("today", date(2026, 11, 22))
    return datetime.combine(day, time(12, 0), tzinfo=UTC)


def _check(
    rule: str, scenario: dict[str, Any], fired: list[str], cards: list[dict[str, Any]]
) -> None:
    if scenario["expect"] == "fires":
        assert rule in fired, f"expected {rule} to fire; fired: {fired}"
        card = next(c for c in cards if f"Rule {rule} v" in c.get("detail", ""))
        for text in scenario.get("summary_contains", []):
            assert text in card["summary"], card["summary"]
        for text in scenario.get("detail_contains", []):
            assert text in card["detail"], card["detail"]
        if "indicator" in scenario:
            assert card["indicator"] == scenario["indicator"]
        if "suggestions" in scenario:
            assert [s["label"] for s in card.get("suggestions", [])] == scenario["suggestions"]
    else:
        assert scenario["expect"] == "silent"
        assert rule not in fired, f"expected {rule} to stay silent; fired: {fired}"


@pytest.mark.parametrize(("rule", "scenario"), SCENARIOS, ids=IDS)
def test_scenario_through_the_engine(
    pipeline: Pipeline, rule: str, scenario: dict[str, Any]
) -> None:
    service, body = hook_request(scenario, pipeline.dictionary)
    request = HookRequest.model_validate(body)
    record = read_hook_input(service, request)
    evaluation = pipeline.evaluate(record, _now(scenario), request.hook_instance)
    for name, value in scenario.get("facts", {}).items():
        assert evaluation.facts[name] == value, (name, evaluation.facts[name])
    cards = [c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in evaluation.cards]
    _check(rule, scenario, evaluation.rule_ids, cards)
    _actions_are_valid_fhir(cards)


HTTP = [(r, s) for r, s in SCENARIOS if s.get("http")]


@pytest.fixture(scope="module")
def http_client() -> Iterator[TestClient]:
    app = create_app()
    with TestClient(app) as client:
        yield client


@pytest.mark.parametrize(("rule", "scenario"), HTTP, ids=[f"{r}: {s['name']}" for r, s in HTTP])
def test_scenario_through_http(
    http_client: TestClient, rule: str, scenario: dict[str, Any]
) -> None:
    pipeline: Pipeline = http_client.app.state.pipeline  # type: ignore[attr-defined]
    service, body = hook_request(scenario, pipeline.dictionary)
    http_client.app.dependency_overrides[now_dependency] = lambda: _now(scenario)  # type: ignore[attr-defined]
    try:
        response = http_client.post(f"/cds-services/{service}", json=body)
    finally:
        http_client.app.dependency_overrides.clear()  # type: ignore[attr-defined]
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    fired = [r for c in cards for r in [_rule_of(c)] if r]
    _check(rule, scenario, fired, cards)


def _rule_of(card: dict[str, Any]) -> str | None:
    detail = card.get("detail", "")
    marker = detail.rfind("*Rule ")
    return detail[marker + 6 :].split(" ", 1)[0] if marker >= 0 else None


def _actions_are_valid_fhir(cards: list[dict[str, Any]]) -> None:
    """Every created or updated resource a card suggests is valid FHIR R4 (checked with the
    fhir.resources R4B models, identical to R4 for these resources)."""
    for card in cards:
        for suggestion in card.get("suggestions", []):
            for action in suggestion.get("actions", []):
                if action["type"] == "delete":
                    assert "/" in action["resourceId"]
                    continue
                resource = action["resource"]
                model = get_fhir_model_class(resource["resourceType"])
                model.model_validate(resource)
