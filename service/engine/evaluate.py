"""Pure evaluation: (rules, facts, hook) → findings. No I/O, no clock, no FHIR.

A fact may be unknown (``None``): a comparison with an unknown number is false, and an
unknown boolean is false, so an unknown never makes a rule fire on its own. Whether data
was missing is itself a fact (e.g. ``conditions_available``) that rules and cards use, so
"could not check" is said, not hidden.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from service.engine.definitions import Condition, RuleDefinition
from service.facts.registry import FactValue

if TYPE_CHECKING:
    from service.engine.snooze import SnoozeInForce

SEVERITY = {"critical": 0, "warning": 1, "info": 2}


@dataclass(frozen=True, slots=True)
class Finding:
    """A rule that applies, with the fact values and parameters that made it apply."""

    rule: RuleDefinition
    facts: Mapping[str, FactValue]
    parameters: Mapping[str, float]
    criteria: tuple[str, ...]  # each criterion that held, in words, for the card and the audit
    #: The severity to show: the rule's, ``info`` when its ``info_when`` holds, else
    #: ``critical`` when its ``critical_when`` holds.
    indicator: str
    #: The facts that made ``info_when`` hold (e.g. cancer or palliative care), if it did.
    shown_as_info_because: tuple[str, ...] = ()
    #: The snooze that made a warning show as information (service.engine.snooze), if any.
    snoozed: SnoozeInForce | None = None


def evaluate(
    rules: Iterable[RuleDefinition], facts: Mapping[str, FactValue], hook: str
) -> list[Finding]:
    findings = []
    for rule in rules:
        if hook not in rule.hooks:
            continue
        parameters = {name: p.value for name, p in rule.parameters.items()}
        reasons: list[str] = []
        if not holds(rule.inclusion, facts, parameters, reasons):
            continue
        if rule.exclusion is not None and holds(rule.exclusion, facts, parameters, []):
            continue
        indicator: str = rule.card.indicator
        because: list[str] = []
        info_when = rule.card.info_when
        if info_when is not None and holds(info_when, facts, parameters, because):
            indicator = "info"
        elif rule.card.critical_when is not None and holds(
            rule.card.critical_when, facts, parameters, []
        ):
            indicator = "critical"
        # Other words for the same finding (a lower dose tier): the first that holds.
        variant = next(
            (v for v in rule.card.variants if holds(v.when, facts, parameters, [])), None
        )
        if variant is not None:
            words = {"summary": variant.summary, "detail": variant.detail}
            card = rule.card.model_copy(update={k: v for k, v in words.items() if v is not None})
            rule = rule.model_copy(update={"card": card})
        findings.append(Finding(rule, facts, parameters, tuple(reasons), indicator, tuple(because)))
    # Cards sort by the severity they are shown with.
    findings.sort(key=lambda f: (SEVERITY[f.indicator], f.rule.priority, f.rule.id))
    return findings


def holds(
    c: Condition,
    facts: Mapping[str, FactValue],
    parameters: Mapping[str, float],
    reasons: list[str],
) -> bool:
    if c.all is not None:
        return all(holds(child, facts, parameters, reasons) for child in c.all)
    if c.any is not None:
        return any(holds(child, facts, parameters, reasons) for child in c.any)
    if c.not_ is not None:
        return not holds(c.not_, facts, parameters, [])
    if c.fact is None:  # pragma: no cover - Condition._one_kind guarantees a fact here
        return False
    value = facts.get(c.fact)
    comparison = c.comparison
    if comparison is None:
        result = value is True
        if result:
            reasons.append(c.fact)
        return result
    op, name = comparison
    if value is None or isinstance(value, bool | str):
        return False
    limit = parameters[name]
    if op == "at_least":
        result = value >= limit
    elif op == "above":
        result = value > limit
    elif op == "at_most":
        result = value <= limit
    else:
        result = value < limit
    if result:
        reasons.append(f"{c.fact} {op.replace('_', ' ')} {name}")
    return result
