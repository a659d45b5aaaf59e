"""Feedback is stored (issue 13 item 2): batches and repeats, accepted suggestions and
override reasons with or without display, against the card's findings; feedback for a card
this service never issued is kept and flagged; comment text never kept."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from service.storage import schema
from tests.storage.conftest import HIGH_DOSE, scenario_call, storage_of
from tests.storage.rows import rows

URL = "/cds-services/opioid-safety-sign/feedback"
REASONS = "https://opioid-cds.example.org/CodeSystem/override-reason"


def _warning(client: TestClient) -> dict[str, Any]:
    response = scenario_call(client, HIGH_DOSE)
    card: dict[str, Any] = next(c for c in response["cards"] if c["indicator"] == "warning")
    return card


def test_a_batch_of_feedback_is_stored_against_the_card_and_its_findings(
    client: TestClient,
) -> None:
    card = _warning(client)
    suggestion = next(s["uuid"] for s in card["suggestions"] if "pharmacist" in s["label"])
    body = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": suggestion}],
                "outcomeTimestamp": "2026-11-22T12:01:00Z",
            },
            {
                "card": card["uuid"],
                "outcome": "overridden",
                # Without display, as the sandbox sends it.
                "overrideReason": {
                    "reason": {"system": REASONS, "code": "specialist-plan"},
                    "userComment": "seen by Dr Jones at the pain clinic",
                },
                "outcomeTimestamp": "2026-11-22T12:02:00Z",
            },
        ]
    }
    assert client.post(URL, json=body).status_code == 200
    storage = storage_of(client)
    stored = rows(storage, schema.feedback)
    assert [(f["outcome"], f["override_reason_code"], f["card_known"]) for f in stored] == [
        ("accepted", None, True),
        ("overridden", "specialist-plan", True),
    ]
    assert stored[1]["override_reason_recognised"] is True and stored[1]["has_comment"] is True
    assert "Jones" not in repr(rows(storage, schema.feedback))
    accepted = rows(storage, schema.feedback_suggestion)
    assert [a["suggestion_uuid"] for a in accepted] == [suggestion]
    # What the card said: its findings, and which rules offered the accepted suggestion.
    findings = rows(storage, schema.issued_finding, card_uuid=card["uuid"])
    assert [f["rule"] for f in findings] == [
        f["rule"] for f in card["extension"]["org.example.opioid-cds.findings"]
    ]
    assert "high-dose-risk-assessment" in {f["rule"] for f in findings}
    offered = rows(storage, schema.issued_suggestion, suggestion_uuid=suggestion)
    assert ("refer-pain-pharmacist", "high-dose-risk-assessment") in {
        (o["kind"], o["rule"]) for o in offered
    }


def test_the_same_feedback_sent_twice_is_kept_twice(client: TestClient) -> None:
    card = _warning(client)
    item = {
        "card": card["uuid"],
        "outcome": "overridden",
        "overrideReason": {"reason": {"code": "declined-after-discussion"}},
        "outcomeTimestamp": "2026-11-22T12:01:00Z",
    }
    for _ in range(2):
        assert client.post(URL, json={"feedback": [item]}).status_code == 200
    stored = rows(storage_of(client), schema.feedback, card_uuid=card["uuid"])
    assert len(stored) == 2 and len({f["id"] for f in stored}) == 2


def test_feedback_for_a_card_never_issued_is_kept_and_flagged(client: TestClient) -> None:
    body = {
        "feedback": [
            {
                "card": "0b7c1a52-7d1f-4a4e-9f0e-1d2c3b4a5f60",
                "outcome": "overridden",
                "overrideReason": {"reason": {"code": "risk-assessment-done"}},
                "outcomeTimestamp": "2026-11-22T12:01:00Z",
            }
        ]
    }
    assert client.post(URL, json=body).status_code == 200
    (stored,) = rows(storage_of(client), schema.feedback)
    assert stored["card_known"] is False
    # Nothing to snooze: the card's patient is unknown.
    assert rows(storage_of(client), schema.patient_memory) == []


def test_feedback_posted_to_another_services_endpoint_is_kept_flagged_and_snoozes_nothing(
    client: TestClient,
) -> None:
    """The order-sign card's override sent to the discharge service (found by a new-user
    trial): kept, not attributed to the card, and no snooze for the order-sign finding."""
    card = _warning(client)
    body = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "overridden",
                "overrideReason": {"reason": {"system": REASONS, "code": "risk-assessment-done"}},
                "outcomeTimestamp": "2026-11-22T12:01:00Z",
            }
        ]
    }
    response = client.post("/cds-services/opioid-discharge/feedback", json=body)
    assert response.status_code == 200
    (stored,) = rows(storage_of(client), schema.feedback)
    assert stored["card_known"] is False
    assert rows(storage_of(client), schema.patient_memory) == []


def test_feedback_survives_a_restart(make_client: Callable[..., TestClient]) -> None:
    first = make_client()
    card = _warning(first)
    item = {
        "card": card["uuid"],
        "outcome": "overridden",
        "overrideReason": {"reason": {"code": "specialist-plan"}},
        "outcomeTimestamp": "2026-11-22T12:01:00Z",
    }
    assert first.post(URL, json={"feedback": [item]}).status_code == 200
    first.__exit__(None, None, None)  # the app stops
    second = make_client()
    (stored,) = rows(storage_of(second), schema.feedback)
    assert (stored["card_uuid"], stored["card_known"]) == (card["uuid"], True)
