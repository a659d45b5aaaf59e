"""What the reports read from storage: one audited hook call with the findings it showed,
and one answer (feedback item) to a card. Plain values, so the counting is pure and is
tested without a database; ``service.reports.query`` builds them from the tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ShownFinding:
    """A rule's finding as shown in a card."""

    rule: str
    card: str  # the card's uuid: feedback names it
    indicator: str  # as shown: critical, warning or info
    snoozed: bool  # shown as information because a snooze for this patient was in force


@dataclass(frozen=True, slots=True)
class AuditedCall:
    at: datetime
    organisation: str | None
    patient_key: str | None  # pseudonymous (HMAC); None when the call named no patient
    total_current: float | None  # mg OME/day; None when unresolved or implausible
    total_with_proposal: float | None
    findings: tuple[ShownFinding, ...]

    @property
    def highest_total(self) -> float | None:
        """The larger of the two totals that are known; None when neither is."""
        known = [t for t in (self.total_current, self.total_with_proposal) if t is not None]
        return max(known) if known else None


@dataclass(frozen=True, slots=True)
class Answer:
    """One feedback item: what the user did with a card."""

    card: str
    outcome: str  # accepted or overridden
    override_reason: str | None  # the reason's code, when one was given
    #: For an accepted suggestion, the rules that offered its kind (ADR 0007); None: every
    #: rule on the card (an override, or an acceptance naming no suggestion we issued).
    rules: frozenset[str] | None = None
