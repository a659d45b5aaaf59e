"""Scripted hook calls and feedback for the report tests (issue 13 item 5), written through
``service.storage`` as the request path writes them, and the numbers they must give.

Fixed dates and ids, no random data. The report window is 2026-09-28..2026-11-30: two
8-week periods, the second cut short (2026-11-23..2026-11-30).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text

from service.storage.records import FeedbackItem, HookCall, IssuedFinding, IssuedSuggestion
from service.storage.store import Storage

SINCE, UNTIL = date(2026, 9, 28), date(2026, 11, 30)
RULE_HIGH, RULE_ESC = "high-dose-risk-assessment", "escalation"
_N = 0


def _id() -> str:
    global _N
    _N += 1
    return str(uuid.UUID(int=_N))


def finding(
    card: str, rule: str, indicator: str = "warning", snoozed: bool = False, position: int = 0
) -> IssuedFinding:
    return IssuedFinding(card, indicator, position, rule, "1.0.0", indicator, snoozed)


def call(
    at: datetime,
    organisation: str | None,
    patient: str | None,
    current: float | None,
    proposed: float | None,
    *findings: IssuedFinding,
    status: int = 200,
    suggestions: tuple[IssuedSuggestion, ...] = (),
) -> HookCall:
    return HookCall(
        id=_id(),
        recorded_at=at,
        service_id="opioid-safety-sign",
        hook="order-sign",
        hook_instance=_id(),
        patient_key=patient,
        organisation=organisation,
        organisation_source="client" if organisation else None,
        client=None,
        current_ome_mg_per_day=current,
        proposed_ome_mg_per_day=proposed,
        status=status,
        error_code=None if status == 200 else "prefetch-unavailable",
        latency_ms=5.0,
        findings=findings,
        suggestions=suggestions,
    )


def answer(
    card: str, outcome: str, reason: str | None = None, accepted: tuple[str, ...] = ()
) -> FeedbackItem:
    at = datetime(2026, 11, 30, 9, tzinfo=UTC)
    return FeedbackItem(
        id=_id(),
        received_at=at,
        service_id="opioid-safety-sign",
        card_uuid=card,
        outcome=outcome,
        override_reason_code=reason,
        override_reason_system=None,
        override_reason_recognised=None if reason is None else reason != "made-up",
        has_comment=False,
        outcome_timestamp=at,
        accepted_suggestions=accepted,
    )


def day(month: int, d: int) -> datetime:
    return datetime(2026, month, d, 10, tzinfo=UTC)


def script(storage: Storage) -> None:
    """The scripted series; EXPECTED_* below are what it must give."""
    k0, k1, k2, k3, k4, k5, k6, k7 = (f"card-{i}" for i in range(8))
    s1 = "suggestion-1"
    for c in (
        # Before the window: not counted, nor is feedback on its card.
        call(day(9, 1), "A", "p1", 150, 150, finding(k0, RULE_HIGH)),
        # One card with two findings; its suggestion offered by the high-dose rule only.
        call(
            day(10, 1),
            "A",
            "p1",
            40,
            150,
            finding(k1, RULE_HIGH),
            finding(k1, RULE_ESC, position=1),
            suggestions=(IssuedSuggestion(k1, s1, "refer-pain-pharmacist", RULE_HIGH),),
        ),
        call(day(10, 2), "A", "p1", None, None, status=412),  # refused: not counted
        call(day(10, 5), "A", "p2", 100, 100, finding(k2, "opioid-gabapentinoid")),
        # Snoozed: information, counted as snoozed, not fired.
        call(day(10, 20), "A", "p1", 150, 150, finding(k3, RULE_HIGH, "info", snoozed=True)),
        # Total unknown (a medicine unresolved): counted apart, never as below threshold.
        call(
            day(11, 1),
            "B",
            "p3",
            None,
            None,
            finding(k4, "opioid-sedative"),
            finding(k5, "unresolved-medicine", "info"),
        ),
        call(day(11, 24), "B", "p4", 130, 130, finding(k6, "reauthorisation-taper")),
        call(day(11, 25), None, "p5", 10, 20),
        call(day(11, 26), "A", "p2", 60, 90, finding(k7, RULE_ESC)),  # never answered
        call(day(12, 1), "A", "p2", 200, 200, finding("card-8", RULE_HIGH)),  # after the window
    ):
        storage.record_hook_call(c)
    storage.record_feedback(
        [
            answer(k1, "overridden", "risk-assessment-done"),
            answer(k1, "overridden", "risk-assessment-done"),  # a client's retry: counts once
            answer(k1, "accepted", accepted=(s1,)),  # for the high-dose rule only
            answer(k2, "overridden", "co-prescribing-reviewed"),
            answer(k4, "overridden"),  # no reason given
            answer(k6, "overridden", "made-up"),  # a code the cards never offered: kept
            answer("card-unknown", "overridden", "specialist-plan"),  # no such card
            answer(k0, "overridden", "specialist-plan"),  # its call is before the window
        ]
    )


def _zero(rule: str) -> dict[str, object]:
    return {
        "rule": rule, "fired": 0, "snoozed": 0, "accepted": 0, "overridden": 0,
        "override_reasons": {},
    }  # fmt: skip


#: The rules that fired or were answered; every other rule in rules/ is all zeros.
EXPECTED_RULES = {
    RULE_HIGH: {
        "rule": RULE_HIGH, "fired": 1, "snoozed": 1, "accepted": 1, "overridden": 1,
        "override_reasons": {"risk-assessment-done": 1},
    },
    RULE_ESC: {
        "rule": RULE_ESC, "fired": 2, "snoozed": 0, "accepted": 0, "overridden": 1,
        "override_reasons": {"risk-assessment-done": 1},
    },
    "opioid-gabapentinoid": {
        "rule": "opioid-gabapentinoid", "fired": 1, "snoozed": 0, "accepted": 0,
        "overridden": 1, "override_reasons": {"co-prescribing-reviewed": 1},
    },
    "opioid-sedative": {
        "rule": "opioid-sedative", "fired": 1, "snoozed": 0, "accepted": 0, "overridden": 1,
        "override_reasons": {},
    },
    "reauthorisation-taper": {
        "rule": "reauthorisation-taper", "fired": 1, "snoozed": 0, "accepted": 0,
        "overridden": 1, "override_reasons": {"made-up": 1},
    },
}  # fmt: skip


def expected_rules(rule_ids: list[str]) -> list[dict[str, object]]:
    return [EXPECTED_RULES.get(r, _zero(r)) for r in sorted(rule_ids)]


_P1 = {"start": "2026-09-28", "end": "2026-11-22"}
_P2 = {"start": "2026-11-23", "end": "2026-11-30"}
_ORG_FIELDS = (
    "calls patients_seen patients_high_dose patients_total_unknown patients_with_gabapentinoid "
    "patients_with_benzodiazepine_or_z_drug escalations high_dose_reauthorisations "
    "prompts_shown prompts_accepted prompts_overridden prompts_unanswered"
).split()


def _org(organisation: str | None, period: dict[str, str], *counts: int) -> dict[str, object]:
    return {"organisation": organisation, **period, **dict(zip(_ORG_FIELDS, counts, strict=True))}


EXPECTED_ORGANISATIONS = {
    "period_weeks": 8,
    "threshold_mg_per_day": 120.0,
    "periods": [
        _org("A", _P1, 3, 2, 1, 0, 1, 0, 1, 0, 2, 1, 2, 0),
        _org("A", _P2, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1),
        _org("B", _P1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0),
        _org("B", _P2, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 1, 0),
        _org(None, _P2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    ],
}


def expected_ome_bins() -> dict[float, int]:
    """Non-empty bands (from_mg → patients) at the default 20 mg width: p2 (100, its highest
    flagged total), p4 (130), p1 (150); p3 has no known total."""
    return {100.0: 1, 120.0: 1, 140.0: 1}


# -- databases ---------------------------------------------------------------------------


@contextmanager
def database_url(kind: str, folder: Path) -> Iterator[str]:
    """A fresh database: a SQLite file in ``folder``, or a new schema in the PostgreSQL of
    ``OPIOID_CDS_TEST_DATABASE_URL`` (dropped afterwards), so runs never collide."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'reports.db'}"
        return
    base = os.environ["OPIOID_CDS_TEST_DATABASE_URL"]
    schema = f"reports_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in base else "?"
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def backends() -> list[str]:
    return (
        ["sqlite", "postgresql"] if os.environ.get("OPIOID_CDS_TEST_DATABASE_URL") else ["sqlite"]
    )


# -- a larger series for the dashboard ---------------------------------------------------

DASHBOARD_SINCE, DASHBOARD_UNTIL = date(2026, 1, 5), date(2026, 11, 22)
_REASONS = ("risk-assessment-done", "specialist-plan", "palliative-care", "co-prescribing-reviewed")


#: As the audit records them: ODS codes, or a client's id (its JWT tenant or iss, a URL that
#: may be long), so the dashboard's labels are tried at their real lengths.
DASHBOARD_ORGANISATIONS = (
    "https://gp-system.example",
    "Y01002",
    "Y01003",
    "https://ehr.example.nhs.uk/tenants/leeds-north-primary-care-network/Y01004",
    "Y01005",
)


def dashboard_script(storage: Storage) -> int:
    """Five organisations over six 8-week periods, made by arithmetic (no random data):
    each organisation's doses and answers differ, so the charts have something to compare.
    Returns the number of calls written."""
    calls: list[HookCall] = []
    answers: list[FeedbackItem] = []
    for o, org in enumerate(DASHBOARD_ORGANISATIONS):
        for k in range(6):
            start = datetime.combine(DASHBOARD_SINCE, datetime.min.time(), UTC)
            for j in range(6 + 2 * o + k):
                at = start + timedelta(days=56 * k + (j * 5) % 56, hours=9 + j % 8)
                total = float(20 + (o * 37 + j * 53 + k * 11) % (160 + 30 * o))
                card = f"c-{o}-{k}-{j}"
                found = []
                if total >= 120:
                    found.append(finding(card, RULE_HIGH, position=len(found)))
                if j % 4 == 0:
                    found.append(finding(card, "opioid-gabapentinoid", position=len(found)))
                if (j + o) % 5 == 0:
                    found.append(finding(card, "opioid-sedative", position=len(found)))
                if j % 6 == 1:
                    found.append(finding(card, RULE_ESC, position=len(found)))
                calls.append(call(at, org, f"p-{o}-{j}", total * 0.8, total, *found))
                if found and (j + k + o) % 3 != 0:
                    answers.append(answer(card, "overridden", _REASONS[(j + o) % len(_REASONS)]))
                elif found and (j + o) % 2 == 0:
                    answers.append(answer(card, "accepted"))
    for c in calls:
        storage.record_hook_call(c)
    storage.record_feedback(answers)
    return len(calls)
