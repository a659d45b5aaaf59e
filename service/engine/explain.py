"""Why a rule fired or stayed silent (the rule workbench, issue 16).

Beside :func:`service.engine.evaluate.evaluate`, never on its path: the CDS Hooks endpoints
call ``evaluate`` alone and pay nothing for this. Every truth value here comes from the
engine's own :func:`~service.engine.evaluate.holds`, so an explanation cannot disagree with
what the engine decided; this module only walks the tree to find *which* node decided it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from service.engine.definitions import Condition, Parameter, RuleDefinition
from service.engine.evaluate import evaluate, holds
from service.engine.loader import format_value
from service.facts.registry import FactValue

Outcome = Literal["fired", "hook not served", "inclusion not met", "excluded"]

_SYMBOL = {"at_least": "≥", "above": ">", "at_most": "≤", "below": "<"}


@dataclass(frozen=True, slots=True)
class Decisive:
    """The condition that decided a rule's outcome: the first inclusion condition that failed,
    or the exclusion condition that held. ``path`` is its place in the rule file
    (``inclusion.all[1]``); ``fact`` and ``value`` are the fact it reads and its value (None:
    unknown), absent for a group (an ``any`` none of whose branches held)."""

    path: str
    condition: str
    fact: str | None = None
    value: FactValue = None
    parameter: str | None = None
    limit: float | None = None


@dataclass(frozen=True, slots=True)
class Explanation:
    rule_id: str
    fired: bool
    outcome: Outcome
    #: The inclusion condition that failed (outcome ``inclusion not met``).
    failed: Decisive | None = None
    #: The exclusion condition that held (outcome ``excluded``).
    exclusion: Decisive | None = None
    #: When it fired: the severity shown and the criteria that held (as on the finding).
    indicator: str | None = None
    criteria: tuple[str, ...] = ()
    #: The facts that made ``card.info_when`` hold, when it was shown as info.
    shown_as_info_because: tuple[str, ...] = ()


def explain(rule: RuleDefinition, facts: Mapping[str, FactValue], hook: str) -> Explanation:
    """Whether ``rule`` fires for these facts on ``hook``, and if not, why not. Whether it
    fires is the engine's own answer (``evaluate``); the rest finds the deciding node."""
    found = evaluate((rule,), facts, hook)
    if found:
        f = found[0]
        return Explanation(
            rule.id,
            True,
            "fired",
            indicator=f.indicator,
            criteria=f.criteria,
            shown_as_info_because=f.shown_as_info_because,
        )
    if hook not in rule.hooks:
        return Explanation(rule.id, False, "hook not served")
    parameters = {name: p.value for name, p in rule.parameters.items()}
    if not holds(rule.inclusion, facts, parameters, []) or rule.exclusion is None:
        failed = decisive(rule.inclusion, False, "inclusion", facts, rule.parameters)
        return Explanation(rule.id, False, "inclusion not met", failed=failed)
    held = decisive(rule.exclusion, True, "exclusion", facts, rule.parameters)
    return Explanation(rule.id, False, "excluded", exclusion=held)


def decisive(
    c: Condition,
    result: bool,
    path: str,
    facts: Mapping[str, FactValue],
    params: Mapping[str, Parameter],
) -> Decisive:
    """The node under ``c`` that made it evaluate to ``result``: for ``all`` false, its first
    false child; for ``any`` true, its first true child; ``not`` flips; a fact is itself. An
    ``all`` that held has no single cause, nor an ``any`` that failed, unless its branches are
    tiers of one number (then the loosest tier): the group is named."""
    values = {name: p.value for name, p in params.items()}
    if c.not_ is not None:
        return decisive(c.not_, not result, f"{path}.not", facts, params)
    group = c.all if c.all is not None else c.any
    if group is not None:
        kind = "all" if c.all is not None else "any"
        if (kind == "all") != result:
            for i, child in enumerate(group):
                if holds(child, facts, values, []) == result:
                    return decisive(child, result, f"{path}.{kind}[{i}]", facts, params)
        loosest = _loosest(group, values) if kind == "any" and not result else None
        if loosest is not None:
            # Tiers of one number ("≥ 120 or ≥ the lower tier"): the number failed even the
            # loosest limit, which names the fact, its value and the limit it missed.
            return decisive(group[loosest], result, f"{path}.any[{loosest}]", facts, params)
        return Decisive(path, describe(c, params))
    comparisons = c.comparisons()
    parameter = comparisons[0][1] if comparisons else None
    return Decisive(
        path,
        describe(c, params),
        fact=c.fact,
        value=facts.get(c.fact or ""),
        parameter=parameter,
        limit=params[parameter].value if parameter is not None else None,
    )


_LOWER_IS_LOOSER = {"at_least": True, "above": True, "at_most": False, "below": False}


def _loosest(group: tuple[Condition, ...], values: Mapping[str, float]) -> int | None:
    """The index of the loosest branch when every branch compares the same fact the same
    way (≥ or >; or ≤ or <); None otherwise."""
    compared = [(c.fact, c.comparisons()) for c in group]
    if not compared or any(fact is None or len(cs) != 1 for fact, cs in compared):
        return None
    facts = {fact for fact, _ in compared}
    directions = {_LOWER_IS_LOOSER[cs[0][0]] for _, cs in compared}
    if len(facts) != 1 or len(directions) != 1:
        return None
    limits = [values[cs[0][1]] for _, cs in compared]
    best = min(limits) if directions == {True} else max(limits)
    return limits.index(best)


def describe(c: Condition, params: Mapping[str, Parameter] | None = None) -> str:
    """A condition in words: ``total_ome_with_proposal_mg_per_day ≥ threshold_mg_per_day
    (120 mg OME/day)``; groups as ``all of (…; …)``, ``any of (…)``, ``not (…)``."""
    params = params or {}
    if c.not_ is not None:
        return f"not ({describe(c.not_, params)})"
    if c.all is not None or c.any is not None:
        kind, children = ("all", c.all) if c.all is not None else ("any", c.any or ())
        return f"{kind} of ({'; '.join(describe(child, params) for child in children)})"
    comparisons = c.comparisons()
    if not comparisons:
        return str(c.fact)
    op, name = comparisons[0]
    p = params.get(name)
    value = f" ({format_value(p.value)} {p.unit})" if p is not None else ""
    return f"{c.fact} {_SYMBOL[op]} {name}{value}"
