"""Render a finding as a CDS Hooks card. Wording lives in the rule file; this module fills
placeholders, adds the table of each medicine's OME and how it was derived, and says what
could not be checked.

Card and suggestion uuids are derived from the hookInstance and the rule (uuid5): unique per
call, stable if the same call is repeated, and needed for feedback.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urlparse

from service.cards.suggestions import BUILDERS, SuggestionInput
from service.cds_hooks.models import Action, Card, Link, OverrideReason, Source, Suggestion
from service.engine.evaluate import Finding
from service.engine.loader import PLACEHOLDER, format_value
from service.facts.registry import FactDefinition, FactValue
from service.ome.calculate import MedicationOme, Status
from service.ome.regimen import Regimen
from service.rulefiles import OverrideReasons, SourceEntry

_NAMESPACE = uuid.UUID("6f1c6f52-4a7e-4b8e-9b7d-0c2f4f1f6a31")  # this service's uuid5 namespace


@dataclass(frozen=True)
class RenderContext:
    hook_instance: uuid.UUID
    facts_catalogue: Mapping[str, FactDefinition]
    regimen: Regimen
    facts: Mapping[str, FactValue]
    sources: Mapping[str, SourceEntry]
    override_reasons: OverrideReasons
    profile_id: str
    not_checked: Sequence[str]
    suggestion_input: SuggestionInput
    #: Extra markdown sections by rule id (e.g. the taper plan, the support tier).
    extra_detail: Mapping[str, str]

    @cached_property
    def table(self) -> str:
        """The medicines table, built once however many cards show it."""
        return medicines_table(self.regimen, self.profile_id)


def render(finding: Finding, ctx: RenderContext) -> Card:
    rule = finding.rule
    values: dict[str, FactValue] = {**finding.facts, **finding.parameters}
    card_id = uuid.uuid5(_NAMESPACE, f"{ctx.hook_instance}/{rule.id}")
    source = ctx.sources[rule.card.source.split(";")[0].strip()]
    detail = [fill(rule.card.detail, values, ctx.facts_catalogue).strip()]
    if rule.id in ctx.extra_detail:
        detail.append(ctx.extra_detail[rule.id])
    if rule.card.medicines_table:
        detail.append(ctx.table)
    if ctx.not_checked:
        detail.append("**Not checked:** " + "; ".join(ctx.not_checked) + ".")
    detail.append(f"*Rule {rule.id} v{rule.version}. {rule.guideline.statement.strip()}*")
    suggestions = []
    for kind in rule.card.suggestions:
        for i, draft in enumerate(BUILDERS[kind](ctx.suggestion_input)):
            suggestions.append(
                Suggestion(
                    label=draft.label,
                    uuid=uuid.uuid5(_NAMESPACE, f"{card_id}/{kind}/{i}"),
                    is_recommended=draft.is_recommended or None,
                    actions=[Action.model_validate(a) for a in draft.actions],
                )
            )
    reasons = ctx.override_reasons
    if finding.shown_as_info_because:
        lead = (
            "Shown as information rather than a warning"
            if rule.card.indicator != "info"
            else "Also recorded"
        )
        detail.insert(
            -1,
            _downgraded(lead, finding.shown_as_info_because, finding.facts, ctx.facts_catalogue),
        )
    return Card(
        uuid=card_id,
        summary=fill(rule.card.summary, values, ctx.facts_catalogue, truncate=True),
        detail="\n\n".join(d for d in detail if d),
        indicator=finding.indicator,
        source=Source(label=source.label or source.title, url=_absolute(source.url)),
        suggestions=suggestions or None,
        selection_behavior="at-most-one" if suggestions else None,
        override_reasons=[
            OverrideReason(system=reasons.system, code=code, display=reasons.reasons[code].display)
            for code in rule.card.override_reasons
        ]
        or None,
        links=[Link(label=link.label, url=link.url, type="absolute") for link in rule.card.links]
        or None,
    )


def _downgraded(
    lead: str,
    because: Sequence[str],
    facts: Mapping[str, FactValue],
    catalogue: Mapping[str, FactDefinition],
) -> str:
    """Why a card shows as information: the facts that held, each with the records behind
    it where its definition names an evidence fact."""
    reasons = []
    for name in because:
        definition = catalogue.get(name)
        if definition is None:
            reasons.append(name)
            continue
        reason = definition.definition.rstrip(".")
        evidence = facts.get(definition.evidence) if definition.evidence else None
        if isinstance(evidence, str):
            reason += f" ({evidence})"
        reasons.append(reason)
    return f"*{lead}: " + "; ".join(reasons) + ".*"


def fill(
    template: str,
    values: Mapping[str, FactValue],
    catalogue: Mapping[str, FactDefinition],
    *,
    truncate: bool = False,
) -> str:
    """Placeholders filled; with ``truncate``, text facts are cut to the width the loader
    checked the summary against, so a summary can never exceed 139 characters."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        raw = values.get(name)
        text = "unknown" if raw is None else format_value(raw)
        fact = catalogue.get(name)
        if truncate and fact is not None and len(text) > fact.max_chars:
            return text[: fact.max_chars - 1].rstrip(" ,") + "…"
        return text

    return PLACEHOLDER.sub(value, template)


def medicines_table(regimen: Regimen, profile_id: str) -> str:
    replaced = {id(m) for m in regimen.replaced}
    rows = [(m, "proposed") for m in regimen.proposed]
    rows += [(m, "current, replaced" if id(m) in replaced else "current") for m in regimen.current]
    rows = [(m, role) for m, role in rows if m.status is not Status.NOT_OPIOID]
    if not rows:
        return ""
    lines = [
        f"| Medicine | | OME mg/day | How it was worked out ({profile_id}) |",
        "|---|---|---|---|",
    ]
    lines += [f"| {_cell(m.label)} | {role} | {_ome(m)} | {_cell(_how(m))} |" for m, role in rows]
    for proposal, current in regimen.inferred:
        lines.append(
            f"\n*{current.label} is taken to be replaced by {proposal.label} (the same "
            "medicine; the order does not say which prescription it replaces). If both are to "
            f"be taken, the total is {format_value(regimen.total_if_added)} mg OME/day.*"
        )
    return "\n".join(lines)


def _ome(m: MedicationOme) -> str:
    if m.status is Status.CALCULATED and m.ome_mg_per_day is not None:
        return format_value(m.ome_mg_per_day)
    return {"unresolved": "not calculated", "excluded": "not counted"}.get(m.status.value, "")


def _how(m: MedicationOme) -> str:
    return m.explanation if m.status is Status.CALCULATED else (m.reason or m.explanation)


def _cell(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("|", "/")).strip()


def _absolute(url: str) -> str | None:
    return url if urlparse(url).scheme in ("http", "https") else None
