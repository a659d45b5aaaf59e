"""Bounded everything (issue 12 item 3): feedback items, string lengths, resources per
request, paces, and unknown keys in the service's own bodies are refused with a 400 naming
the field (never echoing the value); the boundary itself is accepted."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.cds_hooks.models import (
    MAX_FEEDBACK_ITEMS,
    MAX_ID_CHARS,
    MAX_RESOURCES_PER_REQUEST,
    MAX_TEXT_CHARS,
)
from tests.conftest import REPO_ROOT

EXAMPLES = REPO_ROOT / "openapi" / "examples"
HOOKS = json.loads((EXAMPLES / "hook-requests.json").read_text("utf-8"))
FEEDBACK = json.loads((EXAMPLES / "feedback.json").read_text("utf-8"))
TAPER = json.loads((EXAMPLES / "taper.json").read_text("utf-8"))["morphine-mr"]["value"]
SIGN = "/cds-services/opioid-safety-sign"


def refused(response: Any, location: str) -> str:
    assert response.status_code == 400, response.text
    issues = response.json()["issue"]
    assert any(location in (i.get("expression") or [""])[0] for i in issues), issues
    return str(response.text)


def feedback(items: int) -> dict[str, Any]:
    item = FEEDBACK["overridden"]["value"]["feedback"][0]
    return {"feedback": [copy.deepcopy(item) for _ in range(items)]}


def test_feedback_items_are_bounded(client: TestClient) -> None:
    url = f"{SIGN}/feedback"
    assert client.post(url, json=feedback(MAX_FEEDBACK_ITEMS)).status_code == 200
    refused(client.post(url, json=feedback(MAX_FEEDBACK_ITEMS + 1)), "feedback")


def test_a_user_comment_is_bounded(client: TestClient) -> None:
    body = feedback(1)
    body["feedback"][0]["overrideReason"]["userComment"] = "x" * (MAX_TEXT_CHARS + 1)
    text = refused(client.post(f"{SIGN}/feedback", json=body), "userComment")
    assert "x" * 50 not in text


def conditions(n: int) -> dict[str, Any]:
    entries = [{"resource": {"resourceType": "Condition", "id": f"c{i}"}} for i in range(n)]
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


def test_resources_per_service_call_are_bounded(client: TestClient) -> None:
    body = copy.deepcopy(HOOKS["order-sign-morphine"]["value"])
    body["prefetch"]["extraConditions"] = conditions(MAX_RESOURCES_PER_REQUEST)
    response = client.post(SIGN, json=body)
    assert response.status_code == 400
    assert f"more than {MAX_RESOURCES_PER_REQUEST}" in response.text


@pytest.mark.parametrize("url", ["/ome", "/support-tier"])
def test_resources_per_report_are_bounded(client: TestClient, url: str) -> None:
    response = client.post(url, json=conditions(MAX_RESOURCES_PER_REQUEST + 1))
    assert response.status_code == 400
    assert f"more than {MAX_RESOURCES_PER_REQUEST}" in response.text


def test_a_context_id_is_bounded(client: TestClient) -> None:
    body = copy.deepcopy(HOOKS["order-sign-morphine"]["value"])
    body["context"]["userId"] = "P" * (MAX_ID_CHARS + 1)
    text = refused(client.post(SIGN, json=body), "context.userId")
    assert "P" * 50 not in text


def test_a_10000_character_service_id_is_404_without_echo(client: TestClient) -> None:
    response = client.post("/cds-services/" + "s" * 10_000, json={})
    assert response.status_code == 404
    assert "s" * 50 not in response.text


def test_an_unknown_pace_key_is_refused_not_ignored(client: TestClient) -> None:
    body = {**TAPER, "pace": {"percent": 50}}
    refused(client.post("/taper", json=body), "pace.percent")


def test_an_unknown_taper_key_is_refused(client: TestClient) -> None:
    refused(client.post("/taper", json={**TAPER, "startDate": "2026-12-01"}), "startDate")


def test_an_unknown_ome_wrapper_key_is_refused(client: TestClient) -> None:
    body = {"medications": TAPER["medications"], "profle": "us-cdc-2022"}
    refused(client.post("/ome", json=body), "profle")


def test_a_pace_above_100_percent_is_not_a_percent(client: TestClient) -> None:
    response = client.post("/taper", json={**TAPER, "pace": {"reduction_percent": 101}})
    text = refused(response, "pace.reduction_percent")
    assert "100" in text  # the bound is said


def test_an_ordinary_pace_is_accepted(client: TestClient) -> None:
    response = client.post("/taper", json={**TAPER, "pace": {"reduction_percent": 10}})
    assert response.status_code == 200, response.text
