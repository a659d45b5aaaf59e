"""Load and check every rule file at start-up; refuse to start on any problem.

Checks (style guide G5): the file parses against ``RuleDefinition``; its id is its file
name and unique; every fact is in the catalogue and is used as its kind allows; every
comparison names a parameter of the rule in the fact's unit (a shared parameter, from
``rules/parameters.yaml``, only with the comparison that file gives it); every source id resolves;
every suggestion and override reason is known; and the card summary cannot exceed 139
characters whatever values fill it. Then the deployment's switches apply: rules switched
off, parameters overridden (``service.config.Settings``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from service.engine.definitions import (
    CONSISTENT,
    SHARED,
    Condition,
    Parameter,
    RuleDefinition,
    SharedParameters,
)
from service.errors import ConfigurationError, RuleDefinitionError
from service.facts.event import EVENT
from service.facts.registry import FactDefinition
from service.hooks import SUMMARY_MAX_CHARS
from service.rulefiles import OverrideReasons, Sources, read_yaml

PLACEHOLDER = re.compile(r"\{(\w+)\}")
RULES_FOLDER = "recommendations"
SHARED_PARAMETERS_FILE = "parameters.yaml"


def load_shared_parameters(
    rules_dir: Path, sources: Sources, overrides: Mapping[str, float] | None = None
) -> dict[str, Parameter]:
    """``rules/parameters.yaml``, with a deployment's overrides of its values."""
    path = rules_dir / SHARED_PARAMETERS_FILE
    shared = read_yaml(path, SharedParameters, error=RuleDefinitionError).parameters
    for name, p in shared.items():
        sources.check(p.source, str(path), f"parameters.{name}.source", error=RuleDefinitionError)
    unknown = set(overrides or {}) - set(shared)
    if unknown:
        raise ConfigurationError(
            f"settings override unknown shared parameters: {', '.join(sorted(unknown))} "
            f"(rules/{SHARED_PARAMETERS_FILE}: {', '.join(sorted(shared))})"
        )
    return {
        name: p.model_copy(update={"value": float((overrides or {})[name])})
        if name in (overrides or {})
        else p
        for name, p in shared.items()
    }


def load_rules(
    rules_dir: Path,
    sources: Sources,
    override_reasons: OverrideReasons,
    suggestion_kinds: frozenset[str],
    facts: Mapping[str, FactDefinition],
    shared: Mapping[str, Parameter],
    *,
    disabled: frozenset[str] = frozenset(),
    overrides: Mapping[str, Mapping[str, float]] | None = None,
) -> tuple[RuleDefinition, ...]:
    rules = read_rules(rules_dir, sources, override_reasons, suggestion_kinds, facts, shared)
    ids = [r.id for r in rules]
    unknown = (set(disabled) | set(overrides or {})) - set(ids)
    if unknown:
        raise ConfigurationError(f"settings name unknown rule ids: {', '.join(sorted(unknown))}")
    out = []
    for rule in rules:
        if rule.id in disabled or rule.status != "active":
            continue
        out.append(_override(rule, (overrides or {}).get(rule.id, {})))
    return tuple(out)


def read_rules(
    rules_dir: Path,
    sources: Sources,
    override_reasons: OverrideReasons,
    suggestion_kinds: frozenset[str],
    facts: Mapping[str, FactDefinition],
    shared: Mapping[str, Parameter],
) -> tuple[RuleDefinition, ...]:
    """Every rule file, parsed and checked, whatever its status and the deployment's switches
    (the rule workbench lists them all; ``load_rules`` keeps those that run)."""
    rules: list[RuleDefinition] = []
    for path in sorted((rules_dir / RULES_FOLDER).glob("*.yaml")):
        rule = _parse(path, shared)
        check_rule(rule, path, sources, override_reasons, suggestion_kinds, facts)
        rules.append(rule)
    return tuple(rules)


def _parse(path: Path, shared: Mapping[str, Parameter]) -> RuleDefinition:
    rule = read_yaml(path, RuleDefinition, error=RuleDefinitionError, context={SHARED: shared})
    if rule.id != path.stem:
        raise RuleDefinitionError(str(path), "id", f"must equal the file name {path.stem!r}")
    return rule


def check_rule(
    rule: RuleDefinition,
    path: Path,
    sources: Sources,
    override_reasons: OverrideReasons,
    suggestion_kinds: frozenset[str],
    facts: Mapping[str, FactDefinition],
) -> None:
    """Every check start-up applies to a parsed rule but its id being its file name (the
    rule workbench's validate runs it on a draft that has no file)."""
    file = str(path)

    def source(field: str, source_id: str, *, needs_label: bool = False) -> None:
        sources.check(source_id, file, field, needs_label=needs_label, error=RuleDefinitionError)

    source("guideline.source", rule.guideline.source)
    source("card.source", rule.card.source, needs_label=True)
    for name, parameter in rule.parameters.items():
        source(f"parameters.{name}.source", parameter.source)
        if not parameter.unit.strip():
            raise RuleDefinitionError(
                file, f"parameters.{name}.unit", "every parameter needs a unit"
            )
    check_condition(rule.inclusion, "inclusion", rule.parameters, file, facts)
    if rule.exclusion is not None:
        check_condition(rule.exclusion, "exclusion", rule.parameters, file, facts)
        _check_exclusion(rule.exclusion, "exclusion", file, facts)
    if rule.card.info_when is not None:
        check_condition(rule.card.info_when, "card.info_when", rule.parameters, file, facts)
    if rule.card.critical_when is not None:
        if rule.card.indicator == "info":
            raise RuleDefinitionError(
                file, "card.critical_when", "an information card cannot become critical"
            )
        check_condition(rule.card.critical_when, "card.critical_when", rule.parameters, file, facts)
    for i, variant in enumerate(rule.card.detail_when):
        check_condition(variant.when, f"card.detail_when[{i}].when", rule.parameters, file, facts)
    for kind in rule.card.suggestions:
        if kind not in suggestion_kinds:
            raise RuleDefinitionError(file, "card.suggestions", f"unknown suggestion {kind!r}")
    for code in rule.card.override_reasons:
        if code not in override_reasons.reasons:
            raise RuleDefinitionError(
                file,
                "card.override_reasons",
                f"unknown reason {code!r}: see rules/override_reasons.yaml",
            )
    templates = [("card.summary", rule.card.summary), ("card.detail", rule.card.detail)]
    templates += [
        (f"card.detail_when[{i}].detail", v.detail) for i, v in enumerate(rule.card.detail_when)
    ]
    for field, template in templates:
        for name in PLACEHOLDER.findall(template):
            if name not in facts and name not in rule.parameters:
                raise RuleDefinitionError(
                    file, field, f"{{{name}}} is neither a fact nor a parameter"
                )
    widest = longest_summary(rule.card.summary, rule.parameters, facts)
    if widest > SUMMARY_MAX_CHARS:
        raise RuleDefinitionError(
            file,
            "card.summary",
            f"could reach {widest} characters; the limit is {SUMMARY_MAX_CHARS}",
        )


def _check_exclusion(
    c: Condition, where: str, file: str, facts: Mapping[str, FactDefinition]
) -> None:
    """An exclusion only routes an event to another rule's card (re-authorisation, discharge).
    A clinical reason to soften a card (cancer or palliative care) must be ``card.info_when``,
    which still shows the card, as information, saying what was found: an exclusion must
    never hide a warning without saying so (docs/adr/0006-new-increase-continue.md)."""
    for i, child in enumerate(c.all or c.any or ()):
        _check_exclusion(child, f"{where}.{'all' if c.all else 'any'}[{i}]", file, facts)
    if c.not_ is not None:
        _check_exclusion(c.not_, f"{where}.not", file, facts)
    if c.fact is not None and facts[c.fact].fact_set != EVENT:
        raise RuleDefinitionError(
            file,
            f"{where}.fact",
            f"{c.fact} would hide the card without saying so: exclude only on facts of the "
            f"{EVENT!r} set; to soften a card, use card.info_when",
        )


def check_condition(
    c: Condition,
    where: str,
    params: Mapping[str, Parameter],
    file: str,
    facts: Mapping[str, FactDefinition],
    *,
    extra_bool_facts: frozenset[str] | set[str] = frozenset(),
) -> None:
    """Every fact exists and is used as its kind allows; comparisons name a parameter in the
    fact's unit. ``extra_bool_facts``: booleans a model defines itself (risk factors)."""
    for i, child in enumerate(c.all or c.any or ()):
        check_condition(
            child,
            f"{where}.{'all' if c.all else 'any'}[{i}]",
            params,
            file,
            facts,
            extra_bool_facts=extra_bool_facts,
        )
    if c.not_ is not None:
        check_condition(
            c.not_, f"{where}.not", params, file, facts, extra_bool_facts=extra_bool_facts
        )
    if c.fact is None or (c.fact in extra_bool_facts and not c.comparisons()):
        return
    fact = facts.get(c.fact)
    if fact is None:
        raise RuleDefinitionError(
            file,
            f"{where}.fact",
            f"unknown fact {c.fact!r}: no fact set computes it (see service/facts/)",
        )
    comparisons = c.comparisons()
    if not comparisons:
        if fact.kind != "bool":
            raise RuleDefinitionError(
                file, f"{where}.fact", f"{c.fact} is a {fact.kind}: compare it with a parameter"
            )
        return
    op, name = comparisons[0]
    if fact.kind != "number":
        raise RuleDefinitionError(file, f"{where}.{op}", f"{c.fact} is not a number")
    parameter = params.get(name)
    if parameter is None:
        raise RuleDefinitionError(file, f"{where}.{op}", f"unknown parameter {name!r}")
    if parameter.comparison is not None and op not in CONSISTENT[parameter.comparison]:
        allowed = " or ".join(sorted(CONSISTENT[parameter.comparison]))
        raise RuleDefinitionError(
            file,
            f"{where}.{op}",
            f"{name} is the shared {parameter.shared!r}, compared with {allowed} everywhere "
            f"(rules/{SHARED_PARAMETERS_FILE}): one threshold, one meaning",
        )
    if parameter.unit != fact.unit:
        raise RuleDefinitionError(
            file,
            f"parameters.{name}.unit",
            f"is {parameter.unit!r} but {c.fact} is in {fact.unit!r}",
        )


def longest_summary(
    template: str, params: Mapping[str, Parameter], facts: Mapping[str, FactDefinition]
) -> int:
    """The summary's length with every placeholder at its widest."""

    def width(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in params:
            return "x" * len(format_value(params[name].value))
        return "x" * facts[name].max_chars if name in facts else match.group(0)

    return len(PLACEHOLDER.sub(width, template))


def format_value(value: float | int | str | bool | None) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return str(value)


def _override(rule: RuleDefinition, values: Mapping[str, float]) -> RuleDefinition:
    if not values:
        return rule
    unknown = set(values) - set(rule.parameters)
    if unknown:
        raise ConfigurationError(f"rule {rule.id} has no parameters {', '.join(sorted(unknown))}")
    parameters = {
        name: p.model_copy(update={"value": float(values[name])}) if name in values else p
        for name, p in rule.parameters.items()
    }
    return rule.model_copy(update={"parameters": parameters})
