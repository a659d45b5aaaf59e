"""The rule workbench over HTTP (issue 16): list, explain, try and validate rules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.api.deps import now_dependency
from service.cards.suggestions import SUGGESTION_KINDS
from service.config import Settings
from service.engine.loader import read_rules
from service.errors import RuleDefinitionError
from service.main import create_app
from service.pipeline import Pipeline
from tests.conftest import NOW, REPO_ROOT
from tests.scenarios.builder import hook_request

RULE_FILES = sorted((REPO_ROOT / "rules" / "recommendations").glob("*.yaml"))


@pytest.fixture(scope="module")
def workbench() -> Iterator[TestClient]:
    app = create_app()
    app.dependency_overrides[now_dependency] = lambda: NOW
    with TestClient(app) as client:
        yield client


def _pipeline(client: TestClient) -> Pipeline:
    pipeline: Pipeline = client.app.state.pipeline  # type: ignore[attr-defined]
    return pipeline


def _morphine_mr(client: TestClient, strength: int) -> dict[str, Any]:
    """A man on nothing else prescribed morphine MR <strength>mg, one twice a day."""
    scenario = {
        "name": f"man prescribed morphine MR {strength}mg twice daily",
        "proposed": [
            {"product": f"Morphine {strength}mg modified-release tablets", "sig": "one twice a day"}
        ],
    }
    _, body = hook_request(scenario, _pipeline(client).dictionary)
    return body


# --- GET /rules, /rules/{id}, /facts -------------------------------------------------------


def test_every_rule_file_is_listed_with_its_parameters_and_review(workbench: TestClient) -> None:
    rules = workbench.get("/rules").json()
    assert [r["id"] for r in rules] == [p.stem for p in RULE_FILES]
    high = next(r for r in rules if r["id"] == "high-dose-risk-assessment")
    assert high["running"] is True and high["status"] == "active"
    threshold, lower_tier = high["parameters"]  # the dose tiers (issue 17)
    assert lower_tier["shared"] == "dose_review_mg_per_day" and lower_tier["value"] == 120
    assert threshold["shared"] == "high_dose_mg_per_day"
    assert (threshold["value"], threshold["file_value"], threshold["override"]) == (120, 120, None)
    assert threshold["unit"] == "mg OME/day" and threshold["source"] and threshold["alternatives"]
    assert "≥ threshold_mg_per_day (120 mg OME/day)" in high["inclusion"]
    assert high["exclusion"] == "is_reauthorisation"
    assert high["review"]["next_review"] == "2027-06-01"


def test_a_deployments_overrides_and_switches_are_shown_beside_the_files_values() -> None:
    settings = Settings(
        rule_parameter_overrides={"high-dose-risk-assessment": {"threshold_mg_per_day": 90}},
        parameter_overrides={"high_dose_mg_per_day": 100},
        disabled_rules=frozenset({"opioid-sedative"}),
    )
    with TestClient(create_app(settings)) as client:
        rules = {r["id"]: r for r in client.get("/rules").json()}
    high, _ = rules["high-dose-risk-assessment"]["parameters"]
    assert (high["value"], high["file_value"]) == (90, 120)
    assert high["override"] == {"value": 90, "setting": "OPIOID_CDS_RULE_PARAMETER_OVERRIDES"}
    assert "(90 mg OME/day)" in rules["high-dose-risk-assessment"]["inclusion"]
    shared = next(p for p in rules["escalation"]["parameters"] if p["shared"])
    assert shared["override"] == {"value": 100, "setting": "OPIOID_CDS_PARAMETER_OVERRIDES"}
    assert rules["opioid-sedative"]["running"] is False
    assert rules["opioid-gabapentinoid"]["running"] is True


def test_one_rule_with_its_sources_resolved_from_the_bibliography(workbench: TestClient) -> None:
    rule = workbench.get("/rules/opioid-sedative").json()
    assert rule["title"].startswith("Opioid prescribed with a benzodiazepine")
    assert rule["info_when"] == "cancer_or_palliative_care"
    # Critical at a high dose with a gabapentinoid: the shared threshold's sources follow.
    assert rule["critical_when"] == (
        "all of (gabapentinoid_in_regimen; total_ome_with_proposal_mg_per_day ≥ "
        "threshold_mg_per_day (120 mg OME/day))"
    )
    source, *threshold = rule["sources"]
    assert {s["id"] for s in threshold} >= {
        "medsip-opioids",
        "opioids-aware-key-messages",
        "national-review-opioid-interventions",
    }
    assert source["id"] == "mhra-dsu-benzodiazepines-opioids-2020"
    assert source["title"] and source["url"] and source["label"] == "MHRA Drug Safety Update"
    cited = {s["id"] for s in workbench.get("/rules/high-dose-risk-assessment").json()["sources"]}
    assert cited == {
        "national-review-opioid-interventions",
        "opioids-aware-key-messages",
        "medsip-opioids",
        "cdc-2022-rec8",  # the dose tiers (issue 17)
        "cqf-opioid-cds",
    }


def test_an_unknown_rule_is_a_404_operation_outcome(workbench: TestClient) -> None:
    response = workbench.get("/rules/no-such-rule")
    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome"
    assert "no-such-rule" not in response.text


def test_the_fact_vocabulary_says_which_rules_use_each_fact(workbench: TestClient) -> None:
    facts = {f["name"]: f for f in workbench.get("/facts").json()}
    assert set(facts) == set(_pipeline(workbench).facts_catalogue)
    total = facts["total_ome_with_proposal_mg_per_day"]
    assert (total["kind"], total["unit"]) == ("number", "mg OME/day")
    assert {"high-dose-risk-assessment", "escalation"} <= set(total["used_by"])
    assert "opioid-sedative" in facts["sedative_names"]["used_by"]  # a card placeholder
    assert facts["proposed_sedative"]["meaning"]


# --- POST /rules/evaluate ------------------------------------------------------------------


def test_morphine_mr_60mg_twice_daily_fires_high_dose_and_the_trace_says_why(
    workbench: TestClient,
) -> None:
    body = _morphine_mr(workbench, 60)
    response = workbench.post("/rules/evaluate?service=opioid-safety-sign", json=body)
    assert response.status_code == 200, response.text
    out = response.json()
    (medicine,) = out["trace"]["medicines"]
    assert medicine["role"] == "proposed" and medicine["status"] == "calculated"
    assert medicine["identified_by"].startswith("dm+d code")
    assert medicine["daily_dose"]["amount"] == 2 and medicine["ome_mg_per_day"] == 120
    assert medicine["ingredients"] == [
        {"ingredient": "morphine", "amount": 120, "amount_unit": "mg/day", "factor": 1.0,
         "ome_mg_per_day": 120, "source": ["opioids-aware-2020", "bnf-palliative",
                                           "openprescribing-ome"]}
    ]  # fmt: skip
    # The /ome report's own row (one way to say a medicine), with its role in the call.
    assert (medicine["counted"], medicine["role"]) == (True, "proposed")
    assert out["trace"]["facts"]["total_ome_with_proposal_mg_per_day"] == 120
    rules = {r["id"]: r for r in out["trace"]["rules"]}
    assert set(rules) == {r.id for r in _pipeline(workbench).rules}
    high = rules["high-dose-risk-assessment"]
    assert (high["fired"], high["outcome"], high["indicator"]) == (True, "fired", "warning")
    assert "total_ome_with_proposal_mg_per_day at least threshold_mg_per_day" in high["criteria"]
    # The same cards as the CDS Service gives, which carries no trace.
    cds = workbench.post("/cds-services/opioid-safety-sign", json=body).json()
    assert "trace" not in cds
    assert [(c["summary"], c["indicator"]) for c in cds["cards"]] == [
        (c["summary"], c["indicator"]) for c in out["cards"]
    ]


def test_morphine_mr_30mg_twice_daily_is_silent_and_the_trace_names_the_threshold(
    workbench: TestClient,
) -> None:
    out = workbench.post(
        "/rules/evaluate?service=opioid-safety-sign", json=_morphine_mr(workbench, 30)
    ).json()
    assert out["cards"] == []
    high = next(r for r in out["trace"]["rules"] if r["id"] == "high-dose-risk-assessment")
    assert (high["fired"], high["outcome"]) == (False, "inclusion not met")
    assert high["failed"] == {
        "path": "inclusion.all[1].any[0]",  # the loosest dose tier (both 120 in the UK)
        "condition": "total_ome_with_proposal_mg_per_day ≥ threshold_mg_per_day (120 mg OME/day)",
        "fact": "total_ome_with_proposal_mg_per_day",
        "value": 60,
        "parameter": "threshold_mg_per_day",
        "limit": 120,
    }
    # Every fact is there, unknown ones as null rather than left out.
    assert set(out["trace"]["facts"]) == set(_pipeline(workbench).facts_catalogue)
    assert out["trace"]["facts"]["ome_increase_percent"] is None


def test_evaluate_refuses_what_the_cds_service_refuses(workbench: TestClient) -> None:
    body = _morphine_mr(workbench, 30)
    assert workbench.post("/rules/evaluate?service=nope", json=body).status_code == 404
    missing = workbench.post("/rules/evaluate", json=body)
    assert missing.status_code == 400 and "service" in missing.text
    wrong = workbench.post("/rules/evaluate?service=opioid-discharge", json=body)
    assert wrong.status_code == 400
    no_history = {**body, "prefetch": {"patient": body["prefetch"]["patient"]}}
    assert (
        workbench.post("/rules/evaluate?service=opioid-safety-sign", json=no_history).status_code
        == 412
    )


# --- POST /rules/validate ------------------------------------------------------------------


@pytest.mark.parametrize("path", RULE_FILES, ids=[p.stem for p in RULE_FILES])
def test_every_rule_file_as_written_is_valid(workbench: TestClient, path: Path) -> None:
    response = workbench.post(
        "/rules/validate",
        content=path.read_text("utf-8"),
        headers={"content-type": "application/yaml"},
    )
    assert response.json() == {"valid": True, "errors": [], "examples": []}


def _high_dose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(
        (REPO_ROOT / "rules/recommendations/high-dose-risk-assessment.yaml").read_text("utf-8")
    )
    # As JSON has it: dates as text.
    as_json: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return as_json


def _mutate(change: str) -> dict[str, Any]:
    rule = _high_dose()
    if change == "unknown fact":
        rule["inclusion"]["all"][0]["fact"] = "proposed_opiod"
    elif change == "unit":
        rule["parameters"]["threshold_mg_per_day"] = {
            "value": 120, "unit": "mg/day", "source": "project-decision", "locator": "x"
        }  # fmt: skip
    elif change == "source":
        rule["card"]["source"] = "opioids-awear"
    elif change == "summary":
        rule["card"]["summary"] = "Total {total_ome_with_proposal_mg_per_day} " + "x" * 130
    elif change == "suggestion":
        rule["card"]["suggestions"] = ["phone-a-friend"]
    return rule


@pytest.mark.parametrize("change", ["unknown fact", "unit", "source", "summary", "suggestion"])
def test_a_draft_gets_the_error_start_up_would_give(
    workbench: TestClient, change: str, tmp_path: Path
) -> None:
    draft = _mutate(change)
    out = workbench.post("/rules/validate", json=draft).json()
    # The same file in a rules folder, through the start-up loader.
    folder = tmp_path / "recommendations"
    folder.mkdir()
    (folder / "high-dose-risk-assessment.yaml").write_text(yaml.safe_dump(draft), "utf-8")
    p = _pipeline(workbench)
    with pytest.raises(RuleDefinitionError) as at_start_up:
        read_rules(
            tmp_path, p.sources, p.override_reasons, SUGGESTION_KINDS, p.facts_catalogue,
            p.shared_parameters,
        )  # fmt: skip
    assert out == {
        "valid": False,
        "errors": [{"path": at_start_up.value.field, "message": at_start_up.value.problem}],
        "examples": [],
    }


def test_every_schema_error_is_listed_with_its_path(workbench: TestClient) -> None:
    draft = _high_dose()
    draft["priority"] = "high"
    del draft["review"]
    draft["colour"] = "red"
    out = workbench.post("/rules/validate", json=draft).json()
    assert out["valid"] is False
    assert {e["path"] for e in out["errors"]} == {"priority", "review", "colour"}


def test_a_draft_says_which_example_requests_it_would_fire_on(workbench: TestClient) -> None:
    draft = _high_dose()
    wrapper = {
        "rule": draft,
        "examples": {
            "120 mg": _morphine_mr(workbench, 60),
            "60 mg": _morphine_mr(workbench, 30),
            "broken": {"hook": "order-sign", "hookInstance": "not-a-uuid", "context": {}},
        },
    }
    text = yaml.safe_dump(wrapper, sort_keys=False)
    out = workbench.post(
        "/rules/validate", content=text, headers={"content-type": "application/yaml"}
    ).json()
    assert out["valid"] is True
    fires, silent, broken = out["examples"]
    assert (fires["name"], fires["fired"]) == ("120 mg", True)
    assert (silent["fired"], silent["failed"]["value"]) == (False, 60)
    assert broken["fired"] is None and broken["error"]["path"] == "hookInstance"
    assert "not-a-uuid" not in json.dumps(out)


def test_a_draft_inside_the_wrapper_has_its_paths_prefixed(workbench: TestClient) -> None:
    draft = _mutate("source")
    out = workbench.post("/rules/validate", json={"rule": draft, "extra": 1}).json()
    assert out["errors"] == [{"path": "extra", "message": "unrecognised field"}]
    out = workbench.post("/rules/validate", json={"rule": draft}).json()
    assert out["errors"][0]["path"] == "rule.card.source"


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        ("application/yaml", "a: [1\n", "not valid YAML"),
        ("application/yaml", "a: &x [1]\nb: *x\n", "anchors and aliases"),
        ("application/json", "{", "not valid JSON"),
    ],
)
def test_an_unreadable_draft_is_invalid_not_an_error(
    workbench: TestClient, content_type: str, body: str, message: str
) -> None:
    response = workbench.post(
        "/rules/validate", content=body, headers={"content-type": content_type}
    )
    assert response.status_code == 200
    (error,) = response.json()["errors"]
    assert error["path"] == "" and message in error["message"]


def test_a_draft_in_another_format_is_a_400(workbench: TestClient) -> None:
    response = workbench.post(
        "/rules/validate", content="id: x", headers={"content-type": "text/plain"}
    )
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["Content-Type"]


# --- Admin protection ----------------------------------------------------------------------

ENDPOINTS = [
    ("GET", "/rules"),
    ("GET", "/rules/high-dose-risk-assessment"),
    ("GET", "/facts"),
    ("POST", "/rules/evaluate?service=opioid-safety-sign"),
    ("POST", "/rules/validate"),
]


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_with_auth_on_the_workbench_needs_the_admin_token(method: str, url: str) -> None:
    settings = Settings(auth="jwt", admin_token=SecretStr("workbench-admin-token"))
    app = create_app(settings)
    app.dependency_overrides[now_dependency] = lambda: NOW
    with TestClient(app) as client:
        body = {"json": _morphine_mr(client, 30)} if "evaluate" in url else {"json": _high_dose()}
        kwargs: dict[str, Any] = body if method == "POST" else {}
        refused = client.request(method, url, **kwargs)
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
        wrong = client.request(method, url, headers={"Authorization": "Bearer nope"}, **kwargs)
        assert wrong.status_code == 401
        ok = client.request(
            method, url, headers={"Authorization": "Bearer workbench-admin-token"}, **kwargs
        )
        assert ok.status_code == 200, ok.text


def test_with_auth_on_and_no_admin_token_the_workbench_is_closed() -> None:
    with TestClient(create_app(Settings(auth="jwt"))) as client:
        assert client.get("/rules").status_code == 401


def test_an_order_select_with_nothing_selected_says_nothing_was_evaluated(
    workbench: TestClient,
) -> None:
    examples = json.loads((REPO_ROOT / "openapi/examples/hook-requests.json").read_text("utf-8"))
    body = examples["order-select-empty-draft"]["value"]
    body = {**body, "context": {**body["context"], "selections": [], "draftOrders": []}}
    out = workbench.post("/rules/evaluate?service=opioid-safety-select", json=body).json()
    assert out["cards"] == [] and out["trace"]["rules"] == []
    assert "nothing selected" in out["trace"]["note"]
