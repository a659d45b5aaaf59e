"""Reading the storage tables (docs/storage.md) into report rows.

Three indexed reads per report, whatever its size: the answered hook calls in the window
(``hook_call.recorded_at``), their findings (``issued_finding.hook_call_id``), and the
feedback naming those calls' cards (``feedback.card_uuid``) with the rules of the
suggestions it accepted (``feedback_suggestion`` → ``issued_suggestion``). Refused calls
(4xx: no cards were shown) are in the audit but not in the reports.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import Engine, select

from service.reports.periods import window
from service.reports.rows import Answer, AuditedCall, ShownFinding
from service.storage import schema
from service.storage.records import utc

_ANSWERED_BELOW = 400


def read_rows(engine: Engine, since: date, until: date) -> tuple[list[AuditedCall], list[Answer]]:
    """The answered calls recorded from ``since`` to ``until`` (inclusive, UTC days) and
    every feedback item on their cards."""
    start, end = window(since, until)
    h, i = schema.hook_call, schema.issued_finding
    f, fs, s = schema.feedback, schema.feedback_suggestion, schema.issued_suggestion
    in_window = (
        (h.c.recorded_at >= start) & (h.c.recorded_at < end) & (h.c.status < _ANSWERED_BELOW)
    )
    cards_in_window = select(i.c.card_uuid).join(h, i.c.hook_call_id == h.c.id).where(in_window)
    with engine.connect() as connection:
        call_rows = connection.execute(
            select(
                h.c.id,
                h.c.recorded_at,
                h.c.organisation,
                h.c.patient_key,
                h.c.current_ome_mg_per_day,
                h.c.proposed_ome_mg_per_day,
            )
            .where(in_window)
            .order_by(h.c.recorded_at, h.c.id)
        ).all()
        finding_rows = connection.execute(
            select(i.c.hook_call_id, i.c.rule, i.c.card_uuid, i.c.indicator, i.c.snoozed)
            .join(h, i.c.hook_call_id == h.c.id)
            .where(in_window)
            .order_by(i.c.hook_call_id, i.c.card_uuid, i.c.position)
        ).all()
        feedback_rows = connection.execute(
            select(f.c.id, f.c.card_uuid, f.c.outcome, f.c.override_reason_code).where(
                f.c.card_uuid.in_(cards_in_window)
            )
        ).all()
        accepted_rows = connection.execute(
            select(fs.c.feedback_id, s.c.rule)
            .join(s, (s.c.suggestion_uuid == fs.c.suggestion_uuid))
            .join(f, f.c.id == fs.c.feedback_id)
            .where(f.c.card_uuid.in_(cards_in_window), s.c.rule.is_not(None))
        ).all()
    findings: dict[str, list[ShownFinding]] = defaultdict(list)
    for r in finding_rows:
        findings[r.hook_call_id].append(
            ShownFinding(r.rule, r.card_uuid, r.indicator, bool(r.snoozed))
        )
    accepted_rules: dict[str, set[str]] = defaultdict(set)
    for a in accepted_rows:
        accepted_rules[a.feedback_id].add(a.rule)
    calls = [
        AuditedCall(
            at=utc(r.recorded_at),
            organisation=r.organisation,
            patient_key=r.patient_key,
            total_current=r.current_ome_mg_per_day,
            total_with_proposal=r.proposed_ome_mg_per_day,
            findings=tuple(findings.get(r.id, ())),
        )
        for r in call_rows
    ]
    answers = [
        Answer(
            card=r.card_uuid,
            outcome=r.outcome,
            override_reason=r.override_reason_code,
            rules=(
                frozenset(accepted_rules[r.id])
                if r.outcome == "accepted" and r.id in accepted_rules
                else None
            ),
        )
        for r in feedback_rows
    ]
    return calls, answers
