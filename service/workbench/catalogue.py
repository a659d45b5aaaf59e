"""The rules and facts as the workbench lists them (issue 16 items 1 and 2), built once at
start-up from the pipeline's own indexes: no file is read per request.

Every rule file is listed, whatever its status, with the values the service uses and, where
this deployment overrides one, the file's value beside it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from service.cards.suggestions import SUGGESTION_KINDS
from service.engine.definitions import Condition, Parameter, RuleDefinition
from service.engine.explain import describe
from service.engine.loader import PLACEHOLDER, load_shared_parameters, read_rules
from service.errors import UnknownRuleError
from service.pipeline import Pipeline
from service.workbench.models import (
    FactOut,
    OverrideOut,
    ParameterOut,
    ReviewOut,
    RuleDetail,
    RuleSummary,
    SourceOut,
)

RULE_SETTING = "OPIOID_CDS_RULE_PARAMETER_OVERRIDES"
SHARED_SETTING = "OPIOID_CDS_PARAMETER_OVERRIDES"


class Catalogue:
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        settings = pipeline.settings
        # The files as written: shared parameters without this deployment's overrides.
        as_written = load_shared_parameters(settings.rules_dir, pipeline.sources)
        self.files = read_rules(
            settings.rules_dir,
            pipeline.sources,
            pipeline.override_reasons,
            SUGGESTION_KINDS,
            pipeline.facts_catalogue,
            as_written,
        )
        running = {r.id: r for r in pipeline.rules}
        self._details = {rule.id: self._detail(rule, running.get(rule.id)) for rule in self.files}

    def rules(self) -> list[RuleSummary]:
        return [
            RuleSummary.model_validate(d.model_dump(include=_SUMMARY))
            for d in self._details.values()
        ]

    def rule(self, rule_id: str) -> RuleDetail:
        detail = self._details.get(rule_id)
        if detail is None:
            raise UnknownRuleError("no rule with this id: GET /rules lists them", "rule_id")
        return detail

    def facts(self) -> list[FactOut]:
        used: dict[str, list[str]] = {}
        for rule in self.files:
            for name in sorted(set(facts_used(rule))):
                used.setdefault(name, []).append(rule.id)
        return [
            FactOut(
                name=name,
                kind=d.kind,
                unit=d.unit,
                meaning=d.definition,
                fact_set=d.fact_set,
                used_by=used.get(name, []),
            )
            for name, d in self.pipeline.facts_catalogue.items()
        ]

    def _ids(self, source: str) -> list[str]:
        # Checked at start-up already; ``check`` is the one reader of a source field.
        return list(self.pipeline.sources.check(source, "rules", "source"))

    def _detail(self, rule: RuleDefinition, running: RuleDefinition | None) -> RuleDetail:
        settings = self.pipeline.settings
        rule_overrides = settings.rule_parameter_overrides.get(rule.id, {})
        params = []
        for name, p in rule.parameters.items():
            override = None
            if name in rule_overrides:
                override = OverrideOut(value=rule_overrides[name], setting=RULE_SETTING)
            elif p.shared is not None and p.shared in settings.parameter_overrides:
                override = OverrideOut(
                    value=settings.parameter_overrides[p.shared], setting=SHARED_SETTING
                )
            params.append(
                ParameterOut(
                    name=name,
                    value=override.value if override is not None else p.value,
                    unit=p.unit,
                    source=self._ids(p.source),
                    locator=p.locator,
                    alternatives=p.alternatives,
                    shared=p.shared,
                    file_value=p.value,
                    override=override,
                )
            )
        # Conditions in words with the values the service uses.
        shown: Mapping[str, Parameter] = (
            running.parameters if running is not None else rule.parameters
        )
        cited = [
            rule.guideline.source,
            rule.card.source,
            *rule.card.ingredient_sources.values(),
            *(p.source for p in rule.parameters.values()),
        ]
        sources = self.pipeline.sources
        return RuleDetail(
            id=rule.id,
            version=rule.version,
            status=rule.status,
            running=running is not None,
            title=rule.title,
            hooks=list(rule.hooks),
            parameters=params,
            inclusion=describe(rule.inclusion, shown),
            exclusion=describe(rule.exclusion, shown) if rule.exclusion is not None else None,
            info_when=describe(rule.card.info_when, shown)
            if rule.card.info_when is not None
            else None,
            critical_when=describe(rule.card.critical_when, shown)
            if rule.card.critical_when is not None
            else None,
            indicator=rule.card.indicator,
            review=ReviewOut(**rule.review.model_dump()),
            guideline=rule.guideline.statement,
            summary=rule.card.summary,
            detail=rule.card.detail,
            suggestions=list(rule.card.suggestions),
            override_reasons=list(rule.card.override_reasons),
            priority=rule.priority,
            known_false_positives=list(rule.known_false_positives),
            sources=[
                SourceOut(**sources[i].model_dump())
                for i in dict.fromkeys(i for text in cited for i in self._ids(text))
            ],
        )


_SUMMARY = set(RuleSummary.model_fields)


def facts_used(rule: RuleDefinition) -> Iterator[str]:
    """The facts a rule's conditions and card templates name."""
    conditions = (rule.inclusion, rule.exclusion, rule.card.info_when, rule.card.critical_when)
    for c in (*conditions, *(v.when for v in rule.card.variants)):
        if c is not None:
            yield from _condition_facts(c)
    variants = (t for v in rule.card.variants for t in (v.summary, v.detail) if t is not None)
    for template in (rule.card.summary, rule.card.detail, *variants):
        yield from (n for n in PLACEHOLDER.findall(template) if n not in rule.parameters)


def _condition_facts(c: Condition) -> Iterator[str]:
    if c.fact is not None:
        yield c.fact
    for child in (*(c.all or ()), *(c.any or ()), *((c.not_,) if c.not_ else ())):
        yield from _condition_facts(child)
