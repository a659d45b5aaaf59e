"""Snooze vignettes (issue 13 item 4), in boundary pairs: an override with a reason the rule
lists in rules/snooze.yaml turns the same finding for the same patient into information
(never dropped) for the period the file gives, and the card says when it was last assessed.
Periods are read from the rules, not written here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient

from service.storage import schema
from tests.conftest import NOW
from tests.storage.conftest import (
    HIGH_DOSE,
    Clock,
    findings_of,
    override,
    scenario_call,
    storage_of,
)
from tests.storage.rows import rows

RULE = "high-dose-risk-assessment"


def _period(client: TestClient) -> timedelta:
    policy = client.app.state.pipeline.snooze_policy  # type: ignore[attr-defined]
    return timedelta(days=policy[RULE]["risk-assessment-done"])


def _assessed(client: TestClient, code: str = "risk-assessment-done", **kw: str) -> None:
    """The high-dose prompt is shown, and overridden with ``code``."""
    finding = findings_of(scenario_call(client, HIGH_DOSE, instance="first prescription"))[RULE]
    assert finding["indicator"] == "warning"
    override(client, finding["card"], code, **kw)


def _next(client: TestClient, patient: str | None = None) -> dict[str, object]:
    response = scenario_call(client, HIGH_DOSE, patient=patient, instance="next prescription")
    return findings_of(response)[RULE]


def test_risk_assessment_recorded_next_prescription_just_inside_the_period_is_information(
    client: TestClient, clock: Clock
) -> None:
    _assessed(client)
    clock.now = NOW + _period(client) - timedelta(minutes=1)
    finding = _next(client)
    assert (finding["indicator"], finding.get("snoozed")) == ("info", True)
    card = finding["card"]
    assert isinstance(card, dict)
    assert f"Last assessed {NOW.date().isoformat()}" in card["detail"]
    assert "Risk assessment already completed" in card["detail"]
    # The summary says it was assessed; it does not ask again for what was done.
    assert card["summary"] == (
        f"Total 120 mg OME/day is at or above 120 mg: last assessed {NOW.date().isoformat()}"
    )


def test_risk_assessment_recorded_next_prescription_just_after_the_period_is_a_warning(
    client: TestClient, clock: Clock
) -> None:
    _assessed(client)
    clock.now = NOW + _period(client)
    finding = _next(client)
    assert (finding["indicator"], finding.get("snoozed")) == ("warning", None)


def test_an_override_with_a_reason_that_does_not_snooze_leaves_the_warning(
    client: TestClient, clock: Clock
) -> None:
    _assessed(client, "specialist-plan")
    clock.now = NOW + timedelta(days=1)
    assert _next(client)["indicator"] == "warning"


def test_a_snoozing_code_from_another_code_system_does_not_snooze(
    client: TestClient, clock: Clock
) -> None:
    _assessed(client, system="http://example.org/other-reasons")
    clock.now = NOW + timedelta(days=1)
    assert _next(client)["indicator"] == "warning"


def test_the_snooze_is_for_that_patient_only(client: TestClient, clock: Clock) -> None:
    _assessed(client)
    clock.now = NOW + timedelta(days=1)
    assert _next(client, patient="another-patient")["indicator"] == "warning"
    assert _next(client)["indicator"] == "info"


def test_the_snooze_quiets_that_rule_only(client: TestClient, clock: Clock) -> None:
    _assessed(client)
    clock.now = NOW + timedelta(days=1)
    response = scenario_call(client, HIGH_DOSE, instance="next prescription")
    others = {r: f for r, f in findings_of(response).items() if r != RULE}
    assert others and all(not f.get("snoozed") for f in others.values())
    assert any(f["indicator"] == "warning" for f in others.values())


def test_a_snooze_holds_across_workers_and_restarts(
    make_client: Callable[..., TestClient], clock: Clock
) -> None:
    worker_1, worker_2 = make_client(), make_client()
    _assessed(worker_1)
    clock.now = NOW + timedelta(days=1)
    assert _next(worker_2)["indicator"] == "info"
    worker_1.__exit__(None, None, None)
    worker_2.__exit__(None, None, None)
    restarted = make_client()
    assert _next(restarted)["indicator"] == "info"
    (memory,) = rows(storage_of(restarted), schema.patient_memory)
    assert (memory["rule"], memory["kind"], memory["reason_code"]) == (
        RULE,
        "snooze",
        "risk-assessment-done",
    )


def test_the_audit_counts_a_snoozed_finding(client: TestClient, clock: Clock) -> None:
    _assessed(client)
    clock.now = NOW + timedelta(days=1)
    _next(client)
    issued = rows(storage_of(client), schema.issued_finding, rule=RULE)
    assert [(f["indicator"], f["snoozed"]) for f in issued] == [
        ("warning", False),
        ("info", True),
    ]


def test_other_memories_are_kept_per_patient_and_rule(client: TestClient) -> None:
    """The store's general memory (e.g. "a review reminder was shown"), for other features."""
    storage = storage_of(client)
    storage.remember("k" * 64, "naloxone", "reminder-shown", NOW - timedelta(days=3))
    storage.remember("k" * 64, "naloxone", "reminder-shown", NOW)
    assert storage.last_recorded("k" * 64, "reminder-shown") == {"naloxone": NOW}
    assert storage.last_recorded("j" * 64, "reminder-shown") == {}
