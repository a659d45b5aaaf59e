"""Clinical vignettes, one file per rule (``tests/scenarios/<rule-id>.yaml``), run through the
real pipeline, and those marked ``http: true`` through the HTTP API as well.

Each scenario says ``expect: fires`` or ``expect: silent`` for its file's rule; scenarios that
sit either side of a parameter name it in ``boundary`` (boundary pairs).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from fhir.resources.R4B import get_fhir_model_class
from markdown_it import MarkdownIt

from service.api.deps import now_dependency
from service.api.review_memory import InMemoryReviewPromptMemory
from service.cards.render import FINDINGS_EXTENSION
from service.cds_hooks.hook_input import read_hook_input
from service.cds_hooks.models import Card, HookRequest
from service.config import Settings
from service.main import create_app
from service.pipeline import Evaluation, Pipeline
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
def pipelines() -> dict[str, Pipeline]:
    """One pipeline per scenario ``settings`` (e.g. a rule switched on, another OME profile),
    built once."""
    return {}


def _settings(scenario: dict[str, Any]) -> Settings:
    return Settings(**scenario.get("settings", {}))


def _pipeline(pipelines: dict[str, Pipeline], scenario: dict[str, Any]) -> Pipeline:
    key = repr(sorted(scenario.get("settings", {}).items()))
    if key not in pipelines:
        pipelines[key] = Pipeline(_settings(scenario))
    return pipelines[key]


def _now(scenario: dict[str, Any]) -> datetime:
    day = scenario.get("today", date(2026, 11, 22))
    return datetime.combine(day, time(12, 0), tzinfo=UTC)


def _check_section(rule: str, scenario: dict[str, Any], evaluation: Evaluation) -> None:
    """The rule's own words (before the findings are composed into one prompt)."""
    if scenario["expect"] == "silent":
        assert rule not in evaluation.rule_ids, f"expected {rule} to stay silent"
        return
    assert rule in evaluation.rule_ids, f"expected {rule} to fire; fired: {evaluation.rule_ids}"
    section = next(s for s in evaluation.sections if s.rule_id == rule)
    (card,) = [c for c in evaluation.cards if rule in _rules_of(_dump(c))]
    for text in scenario.get("summary_contains", []):
        assert text in section.summary, section.summary
    for text in scenario.get("detail_contains", []):
        # The rule's own text, or what the card adds once (the medicines table).
        assert text in section.detail or text in (card.detail or ""), section.detail
    for text in scenario.get("detail_lacks", []):
        assert text not in section.detail, section.detail
    if "indicator" in scenario:
        assert section.indicator == scenario["indicator"]
    if "source_url" in scenario:
        assert section.source.url == scenario["source_url"]
    if "suggestions" in scenario:
        assert [d.label for _, d in section.suggestions] == scenario["suggestions"]


def _check_cards(rule: str, scenario: dict[str, Any], cards: list[dict[str, Any]]) -> None:
    """One prompt, not four (issue 11): at most one warning card and one information card;
    the rule is listed on the card that carries it, and leads it when it is the only one."""
    assert len([c for c in cards if c["indicator"] != "info"]) <= 1, cards
    assert len([c for c in cards if c["indicator"] == "info"]) <= 1, cards
    # Budgets (issue 11): the warning card's words, tables aside, fit 1,200 characters, and
    # all the card text of a call 2,500.
    for card in cards:
        if card["indicator"] != "info":
            assert len(_words(card["detail"])) <= WARNING_DETAIL_BUDGET, card["detail"]
    text = sum(len(c["summary"]) + len(_words(c.get("detail", ""))) for c in cards)
    assert text <= RESPONSE_TEXT_BUDGET, [c["summary"] for c in cards]
    # The sandbox shows every line break in a detail (react-markdown, softBreak="br"): a
    # sentence must never break mid-line (service/rulefiles/text.py).
    for card in cards:
        assert _soft_breaks(card.get("detail", "")) == [], card["detail"]
        # Rendered as the sandbox renders it, no Markdown is left showing (an unclosed **,
        # a table that did not parse).
        shown = re.sub(r"<[^>]+>", "", SANDBOX_MARKDOWN.render(card.get("detail", "")))
        assert "**" not in shown and "|---" not in shown, shown
    fired = [r for c in cards for r in _rules_of(c)]
    if scenario["expect"] == "silent":
        assert rule not in fired, f"expected {rule} to stay silent; fired: {fired}"
        return
    assert rule in fired, f"expected {rule} to fire; fired: {fired}"
    (card,) = [c for c in cards if rule in _rules_of(c)]
    if card["source"].get("topic", {}).get("code") == rule:
        for text in scenario.get("summary_contains", []):
            assert text in card["summary"], card["summary"]
    else:  # listed in the card as one line
        for text in scenario.get("summary_contains", []):
            assert text in card["detail"], card["detail"]
    if "indicator" in scenario:
        assert card["indicator"] in (scenario["indicator"], "critical")


@pytest.mark.parametrize(("rule", "scenario"), SCENARIOS, ids=IDS)
def test_scenario_through_the_engine(
    pipelines: dict[str, Pipeline], rule: str, scenario: dict[str, Any]
) -> None:
    pipeline = _pipeline(pipelines, scenario)
    service, body = hook_request(scenario, pipeline.dictionary)
    request = HookRequest.model_validate(body)
    record = read_hook_input(service, request)
    evaluation = pipeline.evaluate(record, _now(scenario), request.hook_instance)
    for name, value in scenario.get("facts", {}).items():
        assert evaluation.facts[name] == value, (name, evaluation.facts[name])
    cards = [_dump(c) for c in evaluation.cards]
    _check_section(rule, scenario, evaluation)
    _check_cards(rule, scenario, cards)
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
    if "settings" in scenario:
        with TestClient(create_app(_settings(scenario))) as client:
            _through_http(client, rule, scenario)
        return
    _through_http(http_client, rule, scenario)


def _through_http(http_client: TestClient, rule: str, scenario: dict[str, Any]) -> None:
    # Each vignette is a first chart-open: the once-per-period memory starts empty.
    http_client.app.state.review_prompt_memory = InMemoryReviewPromptMemory()  # type: ignore[attr-defined]
    pipeline: Pipeline = http_client.app.state.pipeline  # type: ignore[attr-defined]
    service, body = hook_request(scenario, pipeline.dictionary)
    http_client.app.dependency_overrides[now_dependency] = lambda: _now(scenario)  # type: ignore[attr-defined]
    try:
        response = http_client.post(f"/cds-services/{service}", json=body)
    finally:
        http_client.app.dependency_overrides.clear()  # type: ignore[attr-defined]
    assert response.status_code == 200, response.text
    _check_cards(rule, scenario, response.json()["cards"])


WARNING_DETAIL_BUDGET = 1200
#: The sandbox's renderer: CommonMark with GitHub tables, soft line breaks shown as breaks
#: (react-markdown with softBreak="br" in cds-hooks/sandbox src/components/CardList).
SANDBOX_MARKDOWN = MarkdownIt("commonmark", {"breaks": True}).enable("table")
_STRUCTURED_LINE = re.compile(r"^\s*(\||[-*+] |\d+[.)] |#|>)")


def _soft_breaks(detail: str) -> list[str]:
    """Lines of plain paragraphs that a soft line break splits (a structured line, or one
    before a list, table or heading that interrupts the paragraph, is fine)."""
    broken = []
    for block in re.split(r"\n\s*\n", detail):
        lines = block.split("\n")
        for line, following in itertools.pairwise(lines):
            if not (_STRUCTURED_LINE.match(line) or _STRUCTURED_LINE.match(following)):
                broken.append(f"{line} ⏎ {following}")
    return broken


RESPONSE_TEXT_BUDGET = 2500


def _words(detail: str) -> str:
    """A card's detail without its tables (the medicines table, the taper steps) and without
    link targets (a URL is not read: the plan link's opaque reference, issue 12)."""
    lines = (line for line in detail.splitlines() if not line.startswith("|"))
    return re.sub(r"\]\([^)]*\)", "]()", "\n".join(lines))


def _dump(card: Card) -> dict[str, Any]:
    return card.model_dump(mode="json", by_alias=True, exclude_none=True)


def _rules_of(card: dict[str, Any]) -> list[str]:
    """The rule ids a card carries (its findings extension)."""
    return [f["rule"] for f in card.get("extension", {}).get(FINDINGS_EXTENSION, [])]


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
