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
from service.hooks import PATIENT_VIEW, SUMMARY_MAX_CHARS
from service.rulefiles import OverrideReasons, Sources, read_yaml

PLACEHOLDER = re.compile(r"\{(\w+)\}")
RULES_FOLDER = "recommendations"
SHARED_PARAMETERS_FILE = "parameters.yaml"


def load_shared_parameters(
    rules_dir: Path,
    sources: Sources,
    overrides: Mapping[str, float] | None = None,
    *,
    profile: str | None = None,
    known_profiles: frozenset[str] | None = None,
) -> dict[str, Parameter]:
    """``rules/parameters.yaml``, with the OME profile's values (``profile_values``) and a
    deployment's overrides of its values, in that order."""
    path = rules_dir / SHARED_PARAMETERS_FILE
    shared = read_yaml(path, SharedParameters, error=RuleDefinitionError).parameters
    for name, p in shared.items():
        sources.check(p.source, str(path), f"parameters.{name}.source", error=RuleDefinitionError)
        _check_profiles(p, str(path), f"parameters.{name}.profile_values", known_profiles)
    shared = {name: _for_profile(p, profile) for name, p in shared.items()}
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
    profile: str | None = None,
    known_profiles: frozenset[str] | None = None,
    enabled: frozenset[str] = frozenset(),
) -> tuple[RuleDefinition, ...]:
    """The active rules for this deployment. A rule that names ``profiles`` runs under
    those OME profiles, and under any other only when ``enabled`` names it."""
    rules = read_rules(
        rules_dir,
        sources,
        override_reasons,
        suggestion_kinds,
        facts,
        shared,
        known_profiles=known_profiles,
    )
    ids = [r.id for r in rules]
    unknown = (set(disabled) | set(enabled) | set(overrides or {})) - set(ids)
    if unknown:
        raise ConfigurationError(f"settings name unknown rule ids: {', '.join(sorted(unknown))}")
    out = []
    for rule in rules:
        if rule.id in disabled or rule.status != "active":
            continue
        if rule.profiles is not None and profile not in rule.profiles and rule.id not in enabled:
            continue
        parameters = {n: _for_profile(p, profile) for n, p in rule.parameters.items()}
        rule = rule.model_copy(update={"parameters": parameters})
        out.append(_override(rule, (overrides or {}).get(rule.id, {})))
    return tuple(out)


def read_rules(
    rules_dir: Path,
    sources: Sources,
    override_reasons: OverrideReasons,
    suggestion_kinds: frozenset[str],
    facts: Mapping[str, FactDefinition],
    shared: Mapping[str, Parameter],
    *,
    known_profiles: frozenset[str] | None = None,
) -> tuple[RuleDefinition, ...]:
    """Every rule file, parsed and checked, whatever its status and the deployment's switches
    (the rule workbench lists them all; ``load_rules`` keeps those that run)."""
    rules: list[RuleDefinition] = []
    for path in sorted((rules_dir / RULES_FOLDER).glob("*.yaml")):
        rule = _parse(path, shared)
        check_rule(rule, path, sources, override_reasons, suggestion_kinds, facts)
        for name, parameter in rule.parameters.items():
            where = f"parameters.{name}.profile_values"
            _check_profiles(parameter, str(path), where, known_profiles)
        if known_profiles is not None and set(rule.profiles or ()) - known_profiles:
            known = ", ".join(sorted(known_profiles))
            raise RuleDefinitionError(str(path), "profiles", f"unknown OME profile; known: {known}")
        rules.append(rule)
    return tuple(rules)


def _for_profile(parameter: Parameter, profile: str | None) -> Parameter:
    """The parameter with its value under the profile; ``profile_values`` is then spent, so
    a shared value a deployment overrides is never reset by a rule's copy of it."""
    if not parameter.profile_values:
        return parameter
    value = parameter.profile_values.get(profile or "", parameter.value)
    return parameter.model_copy(update={"value": float(value), "profile_values": {}})


def _check_profiles(
    parameter: Parameter, file: str, where: str, known: frozenset[str] | None
) -> None:
    unknown = set(parameter.profile_values) - (known if known is not None else set())
    if known is not None and unknown:
        raise RuleDefinitionError(
            file, where, f"unknown OME profile {sorted(unknown)[0]!r}; known: {sorted(known)}"
        )


def patient_view_rules(rules: tuple[RuleDefinition, ...]) -> tuple[RuleDefinition, ...]:
    """The chart-open review rules (issue 17): each rule's ``patient_view`` as a rule of its
    own for the ``patient-view`` hook, shown as information, with its review wording, and
    never for cancer or palliative care (added here, so no rule file can forget it)."""
    out = []
    for rule in rules:
        view = rule.patient_view
        if view is None:
            continue
        not_cancer = Condition.model_validate({"not": {"fact": "cancer_or_palliative_care"}})
        card = rule.card.model_copy(
            update={
                "indicator": "info",
                "summary": view.summary,
                "detail": view.detail,
                "suggestions": view.suggestions,
                "info_when": None,
                "variants": (),
            }
        )
        out.append(
            rule.model_copy(
                update={
                    "hooks": (PATIENT_VIEW,),
                    "inclusion": Condition.model_validate({"all": (view.inclusion, not_cancer)}),
                    "exclusion": None,
                    "card": card,
                }
            )
        )
    return tuple(out)


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
    for ingredient, source_id in rule.card.ingredient_sources.items():
        source(f"card.ingredient_sources.{ingredient}", source_id, needs_label=True)
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
    texts = [("card.summary", rule.card.summary), ("card.detail", rule.card.detail)]
    for i, variant in enumerate(rule.card.variants):
        where = f"card.variants[{i}]"
        check_condition(variant.when, f"{where}.when", rule.parameters, file, facts)
        texts += [
            (f"{where}.{field}", text)
            for field, text in (("summary", variant.summary), ("detail", variant.detail))
            if text is not None
        ]
    kinds = [("card.suggestions", k) for k in rule.card.suggestions]
    if rule.patient_view is not None:
        view = rule.patient_view
        check_condition(view.inclusion, "patient_view.inclusion", rule.parameters, file, facts)
        texts += [("patient_view.summary", view.summary), ("patient_view.detail", view.detail)]
        kinds += [("patient_view.suggestions", k) for k in view.suggestions]
    for field, kind in kinds:
        if kind not in suggestion_kinds:
            raise RuleDefinitionError(file, field, f"unknown suggestion {kind!r}")
    for code in rule.card.override_reasons:
        if code not in override_reasons.reasons:
            raise RuleDefinitionError(
                file,
                "card.override_reasons",
                f"unknown reason {code!r}: see rules/override_reasons.yaml",
            )
    for field, template in texts:
        for name in PLACEHOLDER.findall(template):
            if name not in facts and name not in rule.parameters:
                raise RuleDefinitionError(
                    file, field, f"{{{name}}} is neither a fact nor a parameter"
                )
        widest = longest_summary(template, rule.parameters, facts)
        if field.endswith("summary") and widest > SUMMARY_MAX_CHARS:
            raise RuleDefinitionError(
                file, field, f"could reach {widest} characters; the limit is {SUMMARY_MAX_CHARS}"
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


def check_link_ingredients(
    rules: tuple[RuleDefinition, ...], rules_dir: Path, known: frozenset[str]
) -> None:
    """A card link or source chosen by ingredient (the pregabalin notice for pregabalin) names
    an ingredient of the medicines vocabulary: a misspelt one would never show, silently."""
    for rule in rules:
        named = [
            (f"card.links[{i}].ingredient", link.ingredient)
            for i, link in enumerate(rule.card.links)
        ]
        named += [(f"card.ingredient_sources.{i}", i) for i in rule.card.ingredient_sources]
        for field, ingredient in named:
            if ingredient is not None and ingredient not in known:
                raise RuleDefinitionError(
                    str(rules_dir / RULES_FOLDER / f"{rule.id}.yaml"),
                    field,
                    f"unknown ingredient {ingredient!r}: see rules/medicines/ingredients.csv",
                )
