"""The rules report over real hook calls and feedback posted to the service (issue 13 item
5): what the prescriber was shown and did, counted exactly — including a snoozed repeat and
feedback for a card the service never issued."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient

from tests.conftest import NOW
from tests.storage.conftest import HIGH_DOSE, findings_of, override, scenario_call

RULE = "high-dose-risk-assessment"


def test_a_scripted_day_of_calls_and_feedback_gives_exact_counts(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client()
    # Patient a: the high-dose prompt, overridden: risk assessment done (a snoozing reason).
    first = findings_of(scenario_call(client, HIGH_DOSE, patient="a", instance="a1"))
    assert first[RULE]["indicator"] == "warning"
    override(client, first[RULE]["card"], "risk-assessment-done")
    # Patient a again: snoozed, shown as information.
    again = findings_of(scenario_call(client, HIGH_DOSE, patient="a", instance="a2"))
    assert again[RULE]["indicator"] == "info" and again[RULE].get("snoozed") is True
    # Patient b: the prompt, overridden with a reason the cards never offered, then the
    # same feedback again (a client's retry).
    other = findings_of(scenario_call(client, HIGH_DOSE, patient="b", instance="b1"))
    for _ in range(2):
        override(client, other[RULE]["card"], "not-a-listed-reason")
    # Patient c: the prompt, never answered.
    scenario_call(client, HIGH_DOSE, patient="c", instance="c1")
    # Feedback for a card no call showed: stored, flagged, not counted.
    override(client, {"uuid": "00000000-0000-4000-8000-000000000000"}, "specialist-plan")

    since = NOW.date().isoformat()
    body = client.get("/reports/rules", params={"since": since}).json()
    counts = {r["rule"]: r for r in body["rules"]}
    reasons = {"not-a-listed-reason": 1, "risk-assessment-done": 1}
    # The vignette's card carries three findings (one prompt, ADR 0007); on patient a's
    # second call only the high-dose one is snoozed, the other two still warn.
    assert counts[RULE] == {
        "rule": RULE, "fired": 3, "snoozed": 1, "accepted": 0, "overridden": 2,
        "override_reasons": reasons,
    }  # fmt: skip
    for rule in ("escalation", "multiple-opioids"):
        assert counts[rule] == {
            "rule": rule, "fired": 4, "snoozed": 0, "accepted": 0, "overridden": 2,
            "override_reasons": reasons,
        }  # fmt: skip
    assert set(first) == {RULE, "escalation", "multiple-opioids"}
    assert all(
        r["fired"] == r["snoozed"] == r["overridden"] == 0
        for r in body["rules"]
        if r["rule"] not in first
    )
    # The day after: nothing.
    tomorrow = (NOW.date() + timedelta(days=1)).isoformat()
    later = client.get("/reports/rules", params={"since": tomorrow, "until": tomorrow}).json()
    assert all(r["fired"] == r["overridden"] == 0 for r in later["rules"])
    # Three patients were seen, all at 120 mg OME/day: at the threshold.
    orgs = client.get("/reports/organisations", params={"since": since}).json()["periods"]
    assert [(p["patients_seen"], p["patients_high_dose"]) for p in orgs] == [(3, 3)]
    assert (orgs[0]["prompts_shown"], orgs[0]["prompts_overridden"]) == (4, 2)
    assert orgs[0]["prompts_unanswered"] == 2  # patient a's second card, patient c's
