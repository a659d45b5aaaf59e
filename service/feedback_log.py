"""Feedback as storage rows: what prescribers did with the cards (CDS Hooks 2.0 §Feedback).

Records only what medicines-optimisation reporting needs: service, card uuid, outcome,
accepted suggestion ids, override reason code (and whether the cards offer it) and time.
A comment's text is never kept, only that there was one. No patient data arrives in
feedback; the card uuid joins it to the audit row of the call that issued the card.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from service.cds_hooks.models import Coding, Feedback
from service.rulefiles import OverrideReasons
from service.storage.records import FeedbackItem


def feedback_items(
    service_id: str, items: list[Feedback], known: OverrideReasons, now: datetime
) -> list[FeedbackItem]:
    out = []
    for f in items:
        reason = _reason(f)
        out.append(
            FeedbackItem(
                id=str(uuid.uuid4()),
                received_at=now,
                service_id=service_id[:100],
                card_uuid=str(f.card),
                outcome=f.outcome,
                # Cut to the columns' sizes: a code that long is not one the cards offer.
                override_reason_code=reason.code[:100] if reason else None,
                override_reason_system=reason.system[:300] if reason and reason.system else None,
                override_reason_recognised=_recognised(f, known),
                has_comment=bool(f.override_reason and f.override_reason.user_comment),
                outcome_timestamp=f.outcome_timestamp,
                accepted_suggestions=tuple(str(s.id) for s in f.accepted_suggestions or ()),
            )
        )
    return out


def _reason(item: Feedback) -> Coding | None:
    return item.override_reason.reason if item.override_reason else None


def _recognised(item: Feedback, known: OverrideReasons) -> bool | None:
    """Whether the reason is one the cards offer (its code, and its system if sent)."""
    reason = _reason(item)
    if reason is None:
        return None
    return reason.system in (None, known.system) and reason.code in known.reasons
