"""Snoozes: which override reasons quiet which rule, for how long (``rules/snooze.yaml``),
and a snooze in force applied to findings: a warning becomes information (never dropped)
and says when the reason was recorded (issue 13).

Pure: the snoozes in force for the patient are given (the route reads them from storage,
as it gives ``now``); nothing here reads a clock or a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from pydantic import Field

from service.engine.definitions import RuleDefinition
from service.engine.evaluate import SEVERITY, Finding
from service.errors import RuleDefinitionError
from service.rulefiles import StrictModel, Text, read_yaml
from service.rulefiles.sources import Sources

SNOOZE_FILE = "snooze.yaml"


class SnoozeDef(StrictModel):
    rule: str
    reasons: tuple[str, ...] = Field(min_length=1)
    period_days: int = Field(gt=0)
    source: str
    locator: Text


class _SnoozeFile(StrictModel):
    snoozes: tuple[SnoozeDef, ...] = ()


@dataclass(frozen=True, slots=True)
class SnoozeInForce:
    """A snooze for this patient and rule: ``reason`` was recorded at ``since``."""

    rule: str
    since: datetime
    until: datetime
    reason: str | None


#: rule id -> override reason code -> days
SnoozePolicy = dict[str, dict[str, int]]


def load_snooze_policy(
    rules_dir: Path,
    sources: Sources,
    rules: Iterable[RuleDefinition],
    disabled: frozenset[str] = frozenset(),
) -> SnoozePolicy:
    path = rules_dir / SNOOZE_FILE
    if not path.exists():
        return {}
    file = str(path)
    by_id = {r.id: r for r in rules}
    policy: SnoozePolicy = {}
    for i, s in enumerate(read_yaml(path, _SnoozeFile, error=RuleDefinitionError).snoozes):
        field = f"snoozes[{i}]"
        sources.check(s.source, file, f"{field}.source", error=RuleDefinitionError)
        if s.rule in disabled:
            continue
        rule = by_id.get(s.rule)
        if rule is None:
            raise RuleDefinitionError(file, f"{field}.rule", f"unknown rule {s.rule!r}")
        if s.rule in policy:
            raise RuleDefinitionError(file, f"{field}.rule", f"{s.rule!r} is listed twice")
        for code in s.reasons:
            if code not in rule.card.override_reasons:
                raise RuleDefinitionError(
                    file,
                    f"{field}.reasons",
                    f"{code!r} is not an override reason the card of {s.rule!r} offers",
                )
        policy[s.rule] = dict.fromkeys(s.reasons, s.period_days)
    return policy


def apply_snoozes(findings: list[Finding], snoozes: Mapping[str, SnoozeInForce]) -> list[Finding]:
    """Findings with each snoozed warning shown as information, re-sorted as the engine
    sorts them (by the severity shown, then priority)."""
    if not snoozes:
        return findings
    out = [
        replace(f, indicator="info", snoozed=snoozes[f.rule.id])
        if f.rule.id in snoozes and f.indicator != "info"
        else f
        for f in findings
    ]
    out.sort(key=lambda f: (SEVERITY[f.indicator], f.rule.priority, f.rule.id))
    return out
