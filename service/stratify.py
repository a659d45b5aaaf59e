"""Risk stratification: the national review's risk characteristics and its four tiers of
support (``rules/stratification.yaml``), evaluated over facts with the rule engine's own
condition tree.

A factor whose facts are unknown (no birth date, no conditions sent) is listed as not
checked, never assumed absent in silence.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from service.engine.definitions import SHARED, Condition, Parameter
from service.engine.evaluate import holds
from service.engine.loader import PLACEHOLDER, check_condition, format_value
from service.errors import RuleDefinitionError
from service.facts.registry import FactDefinition, FactSet, FactValue
from service.rulefiles import Sources, StrictModel, read_yaml


class RiskFactorDef(StrictModel):
    id: str
    label: str
    when: Condition


class TierDef(StrictModel):
    tier: int
    name: str
    support: str
    when: Condition


class StratificationModel(StrictModel):
    id: str
    version: str
    source: str
    statement: str
    parameters: dict[str, Parameter]
    risk_factors: tuple[RiskFactorDef, ...]
    tiers: tuple[TierDef, ...]


@dataclass(frozen=True, slots=True)
class SupportTier:
    tier: int
    name: str
    support: str
    factors: tuple[str, ...]  # labels of the factors that hold
    not_checked: tuple[str, ...]  # labels of factors whose data was not available

    def markdown(self) -> str:
        lines = [f"**Support tier {self.tier}: {self.name}.** {self.support}"]
        lines.append(
            "Risk factors: " + ("; ".join(self.factors) if self.factors else "none found") + "."
        )
        if self.not_checked:
            lines.append("Not checked (no data): " + "; ".join(self.not_checked) + ".")
        return "\n\n".join(lines)


class Stratifier:
    def __init__(self, model: StratificationModel, path: Path) -> None:
        self.model = model
        self.path = path
        self.parameters = {n: p.value for n, p in model.parameters.items()}
        #: Labels with their {parameter} placeholders filled, so a card states the number.
        self.labels = {
            f.id: PLACEHOLDER.sub(
                lambda m: (
                    format_value(self.parameters[m.group(1)])
                    if m.group(1) in self.parameters
                    else m.group(0)
                ),
                f.label,
            )
            for f in model.risk_factors
        }
        #: The facts this file defines, computed after the record's facts so that rules may
        #: use them too.
        self.facts = FactSet[Mapping[str, FactValue]]("support tier")
        self.facts.add(
            FactDefinition(
                "risk_factor_count",
                "number",
                "count",
                "How many of the risk factors in rules/stratification.yaml hold.",
                2,
            ),
            lambda facts: float(len(self.assess(facts)[0])),
        )
        #: The facts the risk factors read: their assessment is a pure function of these.
        #: Remembered (bounded), so the assessment behind ``risk_factor_count`` is not
        #: repeated when a card then shows the tier (issue 14), and recurring patterns of
        #: facts cost a lookup.
        self._inputs = tuple(
            sorted({name for f in model.risk_factors for name in _fact_names(f.when)})
        )
        self._assess = lru_cache(maxsize=4096)(self._assess_uncached)

    def assess(
        self, facts: Mapping[str, FactValue]
    ) -> tuple[list[str], list[str], dict[str, FactValue]]:
        """The labels of the risk factors that hold, of those whose data was not available,
        and the facts with each ``risk_<id>`` added."""
        # The type is part of the key: True == 1.0 must not share an answer.
        key = tuple((type(v), v) for v in map(facts.get, self._inputs))
        held, unknown, risks = self._assess(key)
        values = dict(facts)
        values.update(risks)
        return list(held), list(unknown), values

    def _assess_uncached(
        self, key: tuple[tuple[type, FactValue], ...]
    ) -> tuple[tuple[str, ...], tuple[str, ...], tuple[tuple[str, FactValue], ...]]:
        values: dict[str, FactValue] = {
            name: v for name, (_, v) in zip(self._inputs, key, strict=True)
        }
        held: list[str] = []
        unknown: list[str] = []
        risks: list[tuple[str, FactValue]] = []
        for factor in self.model.risk_factors:
            result = holds(factor.when, values, self.parameters, [])
            values[f"risk_{factor.id}"] = result
            risks.append((f"risk_{factor.id}", result))
            if result:
                held.append(self.labels[factor.id])
            elif _undecided(factor.when, values, self.parameters):
                unknown.append(self.labels[factor.id])
        return tuple(held), tuple(unknown), tuple(risks)

    @classmethod
    def load(cls, rules_dir: Path, sources: Sources, shared: Mapping[str, Parameter]) -> Stratifier:
        path = rules_dir / "stratification.yaml"
        model = read_yaml(
            path, StratificationModel, error=RuleDefinitionError, context={SHARED: shared}
        )
        file = str(path)
        sources.check(model.source, file, "source", error=RuleDefinitionError)
        for name, p in model.parameters.items():
            sources.check(p.source, file, f"parameters.{name}.source", error=RuleDefinitionError)
        return cls(model, path)

    def check(self, facts: Mapping[str, FactDefinition]) -> None:
        """Every condition names a computed fact (or a risk factor of this file) and
        compares it with a parameter in its unit. Run at start-up, once the catalogue of
        facts exists."""
        model, file = self.model, str(self.path)
        for i, f in enumerate(model.risk_factors):
            for name in PLACEHOLDER.findall(f.label):
                if name not in self.parameters:
                    raise RuleDefinitionError(
                        file, f"risk_factors[{i}].label", f"{{{name}}} is not a parameter"
                    )
        extra = {f"risk_{f.id}" for f in model.risk_factors}
        for i, f in enumerate(model.risk_factors):
            check_condition(f.when, f"risk_factors[{i}].when", model.parameters, file, facts)
        for i, t in enumerate(model.tiers):
            check_condition(
                t.when, f"tiers[{i}].when", model.parameters, file, facts, extra_bool_facts=extra
            )

    def tier(self, facts: Mapping[str, FactValue]) -> SupportTier | None:
        """None when no tier applies (no opioid)."""
        if facts.get("opioid_in_regimen") is not True:
            # The tiers are support for people prescribed opioids; only tier 1 in the rules
            # names the opioid, so without this a benzodiazepine and risk factors made tier 3.
            return None
        held, unknown, values = self.assess(facts)
        values["risk_factor_count"] = float(len(held))
        for tier in self.model.tiers:
            if holds(tier.when, values, self.parameters, []):
                return SupportTier(
                    tier.tier, tier.name, tier.support.strip(), tuple(held), tuple(unknown)
                )
        return None


def _fact_names(c: Condition) -> Iterator[str]:
    if c.fact is not None:
        yield c.fact
    for child in (*(c.all or ()), *(c.any or ()), *((c.not_,) if c.not_ else ())):
        yield from _fact_names(child)


def _undecided(
    c: Condition, values: Mapping[str, FactValue], parameters: Mapping[str, float]
) -> bool:
    """Whether unknown facts could change the result: a factor that the known facts already
    rule out (a man, for a factor of women) is not "not checked"."""
    children = c.all if c.all is not None else c.any
    if children is not None:
        settled = c.all is None  # a known False settles "all"; a known True settles "any"
        if any(
            not _undecided(x, values, parameters) and holds(x, values, parameters, []) is settled
            for x in children
        ):
            return False
        return any(_undecided(x, values, parameters) for x in children)
    if c.not_ is not None:
        return _undecided(c.not_, values, parameters)
    return c.fact is not None and values.get(c.fact) is None
