"""Feedback kept in memory until the storage issue adds SQLite/PostgreSQL persistence.

Records only what medicines-optimisation reporting needs: service, card uuid, outcome,
accepted suggestion ids, override reason code and time. No patient data arrives in feedback.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from service.cds_hooks.models import Feedback
from service.rulefiles import OverrideReasons


@dataclass(frozen=True, slots=True)
class FeedbackEntry:
    service_id: str
    card: str
    outcome: str
    accepted_suggestions: tuple[str, ...]
    override_reason: str | None
    #: Whether the reason is one the cards offer (its code, and its system if sent).
    override_reason_recognised: bool | None
    has_comment: bool
    outcome_timestamp: datetime


class FeedbackLog:
    def __init__(self) -> None:
        self._entries: list[FeedbackEntry] = []
        self._lock = threading.Lock()

    def record(self, service_id: str, items: list[Feedback], known: OverrideReasons) -> None:
        entries = [
            FeedbackEntry(
                service_id=service_id,
                card=str(f.card),
                outcome=f.outcome,
                accepted_suggestions=tuple(str(s.id) for s in f.accepted_suggestions or ()),
                override_reason=(
                    f.override_reason.reason.code
                    if f.override_reason and f.override_reason.reason
                    else None
                ),
                override_reason_recognised=_recognised(f, known),
                has_comment=bool(f.override_reason and f.override_reason.user_comment),
                outcome_timestamp=f.outcome_timestamp,
            )
            for f in items
        ]
        with self._lock:
            self._entries.extend(entries)

    def entries(self) -> tuple[FeedbackEntry, ...]:
        with self._lock:
            return tuple(self._entries)


def _recognised(item: Feedback, known: OverrideReasons) -> bool | None:
    reason = item.override_reason.reason if item.override_reason else None
    if reason is None:
        return None
    return reason.system in (None, known.system) and reason.code in known.reasons
