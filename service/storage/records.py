"""What the request path hands to storage: plain, frozen data (no wire models, no FHIR).

The route builds these from the pipeline's evaluation; storage never imports the pipeline
(they are on the same layer). Each serialises to JSON for the spool file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class IssuedFinding:
    card_uuid: str
    card_indicator: str
    position: int  # 0: the finding that leads the card
    rule: str
    rule_version: str
    indicator: str
    snoozed: bool


@dataclass(frozen=True, slots=True)
class IssuedSuggestion:
    card_uuid: str
    suggestion_uuid: str
    kind: str | None
    rule: str | None  # one row per rule that offered the suggestion's kind


@dataclass(frozen=True, slots=True)
class HookCall:
    """One audit row: a hook call and what it answered."""

    id: str
    recorded_at: datetime
    service_id: str
    hook: str
    hook_instance: str
    patient_key: str | None
    organisation: str | None
    organisation_source: str | None
    client: str | None
    current_ome_mg_per_day: float | None
    proposed_ome_mg_per_day: float | None
    status: int
    error_code: str | None
    latency_ms: float
    findings: tuple[IssuedFinding, ...] = ()
    suggestions: tuple[IssuedSuggestion, ...] = ()

    @property
    def card_count(self) -> int:
        return len({f.card_uuid for f in self.findings})


@dataclass(frozen=True, slots=True)
class FeedbackItem:
    """One feedback item as received (reason code only: never the comment's text)."""

    id: str
    received_at: datetime
    service_id: str
    card_uuid: str
    outcome: str
    override_reason_code: str | None
    override_reason_system: str | None
    override_reason_recognised: bool | None
    has_comment: bool
    outcome_timestamp: datetime
    accepted_suggestions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Snooze:
    """A snooze in force: rule ``rule`` for this patient is shown as information until
    ``until``, because of ``reason_code`` given at ``recorded_at``."""

    rule: str
    recorded_at: datetime
    until: datetime
    reason_code: str | None


def utc(value: datetime) -> datetime:
    """Times are stored in UTC; SQLite gives them back naive."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def to_json(record: HookCall | FeedbackItem) -> dict[str, Any]:
    def plain(v: Any) -> Any:
        if isinstance(v, datetime):
            return v.isoformat()
        if isinstance(v, list | tuple):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return {k: plain(v) for k, v in asdict(record).items()}


def hook_call_from_json(data: dict[str, Any]) -> HookCall:
    values = {f.name: data[f.name] for f in fields(HookCall)}
    values["recorded_at"] = datetime.fromisoformat(data["recorded_at"])
    values["findings"] = tuple(IssuedFinding(**f) for f in data["findings"])
    values["suggestions"] = tuple(IssuedSuggestion(**s) for s in data["suggestions"])
    return HookCall(**values)


def feedback_from_json(data: dict[str, Any]) -> FeedbackItem:
    values = {f.name: data[f.name] for f in fields(FeedbackItem)}
    values["received_at"] = datetime.fromisoformat(data["received_at"])
    values["outcome_timestamp"] = datetime.fromisoformat(data["outcome_timestamp"])
    values["accepted_suggestions"] = tuple(data["accepted_suggestions"])
    return FeedbackItem(**values)
