"""Findings in words, composed into at most one warning card and one information card.

Wording lives in the rule file; this module fills placeholders, adds the table of each
medicine's OME and how it was derived, says what could not be checked, and composes the
findings of a call into one prompt (docs/adr/0007-one-prompt.md). Rule ids and versions go
in ``source.topic`` and a card extension, not in the prescriber's text.

Card and suggestion uuids are derived from the hookInstance (uuid5): unique per call, stable
if the same call is repeated, and needed for feedback.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import urlparse

from service.cards.suggestions import BUILDERS, SAFEST_FIRST, SuggestionDraft, SuggestionInput
from service.cds_hooks.models import (
    Action,
    Card,
    Coding,
    Link,
    OverrideReason,
    Source,
    Suggestion,
)
from service.engine.evaluate import Finding
from service.engine.loader import PLACEHOLDER, format_value
from service.facts.registry import FactDefinition, FactValue
from service.hooks import SUMMARY_MAX_CHARS
from service.ome.calculate import MedicationOme, Status
from service.ome.regimen import Regimen
from service.rulefiles import OverrideReasons, SourceEntry

_NAMESPACE = uuid.UUID("6f1c6f52-4a7e-4b8e-9b7d-0c2f4f1f6a31")  # this service's uuid5 namespace
#: The code system of this service's rule ids (Card.source.topic).
RULE_SYSTEM = "https://opioid-cds.example.org/CodeSystem/rule"
#: The card extension listing the findings a card carries, for systems (CDS Hooks 2.0
#: Extensions: reverse-DNS keys): rule id, version and the indicator each was found with.
FINDINGS_EXTENSION = "org.example.opioid-cds.findings"


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


@dataclass(frozen=True, slots=True)
class Section:
    """One finding in words: what a card says about it. Sections are then composed into at
    most one warning card and one information card (:func:`compose`)."""

    rule_id: str
    version: str
    title: str
    indicator: str
    summary: str
    #: The rule's detail filled in, with its extras (taper steps, support tier) and, when it
    #: was softened, why.
    detail: str
    extras: tuple[str, ...]
    medicines_table: bool
    suggestions: tuple[tuple[str, SuggestionDraft], ...]  # (kind, draft)
    override_reasons: tuple[str, ...]
    links: tuple[tuple[str, str], ...]  # (label, url)
    source: SourceEntry
    #: Shown as information because a snooze was in force (issue 13).
    snoozed: bool = False


def render(finding: Finding, ctx: RenderContext) -> Section:
    rule = finding.rule
    values: dict[str, FactValue] = {**finding.facts, **finding.parameters}
    detail = [fill(rule.card.detail, values, ctx.facts_catalogue).strip()]
    if finding.shown_as_info_because:
        lead = (
            "Shown as information rather than a warning"
            if rule.card.indicator != "info"
            else "Also recorded"
        )
        detail.append(
            _downgraded(lead, finding.shown_as_info_because, finding.facts, ctx.facts_catalogue)
        )
    extra = ctx.extra_detail.get(rule.id)
    extras = (extra,) if extra else ()
    if finding.snoozed is not None:
        extras = (*extras, _snoozed(finding, ctx))
    return Section(
        rule_id=rule.id,
        version=rule.version,
        title=rule.title,
        indicator=finding.indicator,
        summary=_assessed_summary(
            finding, fill(rule.card.summary, values, ctx.facts_catalogue, truncate=True)
        ),
        detail="\n\n".join(d for d in detail if d),
        extras=extras,
        medicines_table=rule.card.medicines_table,
        suggestions=tuple(
            (kind, draft)
            for kind in rule.card.suggestions
            for draft in BUILDERS[kind](ctx.suggestion_input)
        ),
        override_reasons=rule.card.override_reasons,
        links=tuple(
            (link.label, link.url)
            for link in rule.card.links
            if link.ingredient is None or link.ingredient in _ingredients(ctx.regimen)
        ),
        source=ctx.sources[_source_id(rule.card.ingredient_sources, rule.card.source, ctx)],
        snoozed=finding.snoozed is not None,
    )


def _assessed_summary(finding: Finding, summary: str) -> str:
    """A snoozed finding's summary keeps what was found and says it was assessed, instead of
    asking again for what was done ("…: complete an opioid risk assessment"; found by a
    new-user trial). Summaries are written "finding: what to do"."""
    if finding.snoozed is None:
        return summary
    found = summary.split(": ", 1)[0]
    said = f": last assessed {finding.snoozed.since.date().isoformat()}"
    room = SUMMARY_MAX_CHARS - 1 - len(said)
    return (found if len(found) <= room else found[: room - 1].rstrip(" ,") + "…") + said


def _snoozed(finding: Finding, ctx: RenderContext) -> str:
    """When it was last assessed: the override that snoozed the rule, and until when.
    An extra, so it is shown even when the finding is not the card's lead."""
    snooze = finding.snoozed
    assert snooze is not None  # noqa: S101 - only called for a snoozed finding
    reason = ctx.override_reasons.reasons.get(snooze.reason or "")
    said = f" (“{reason.display}”)" if reason else ""
    return (
        f"*Last assessed {snooze.since.date().isoformat()}{said}: "
        f"“{finding.rule.title}” is shown as information, not a warning, for this patient "
        f"until {snooze.until.date().isoformat()}.*"
    )


def _source_id(by_ingredient: Mapping[str, str], default: str, ctx: RenderContext) -> str:
    """Each drug's own notice: the first ingredient source whose ingredient is taken."""
    taken = _ingredients(ctx.regimen) if by_ingredient else set()
    chosen = next((s for i, s in by_ingredient.items() if i in taken), default)
    return chosen.split(";")[0].strip()


def _ingredients(regimen: Regimen) -> set[str]:
    return {i.name for m in regimen.with_proposal if m.product for i in m.product.ingredients}


def compose(sections: Sequence[Section], ctx: RenderContext) -> list[Card]:
    """At most one warning (or critical) card and one information card: a prescriber reads
    one prompt, not four (ScriptSwitch; issue 11). ``sections`` come most important first;
    the first of each group leads its card, the others are one line each."""
    prompt = [s for s in sections if s.indicator != "info"]
    information = [s for s in sections if s.indicator == "info"]
    return [
        _card(group, key, ctx)
        for group, key in ((prompt, "prompt"), (information, "information"))
        if group
    ]


def _card(group: Sequence[Section], key: str, ctx: RenderContext) -> Card:
    lead, others = group[0], group[1:]
    card_id = uuid.uuid5(_NAMESPACE, f"{ctx.hook_instance}/{key}")
    detail = [lead.detail]
    if others:
        detail.append("**Also:**\n" + "\n".join(f"- {s.summary}" for s in others))
    detail += list(dict.fromkeys(x for s in group for x in s.extras))
    if any(s.medicines_table for s in group):
        detail.append(ctx.table)
    if ctx.not_checked:
        detail.append("**Not checked:** " + "; ".join(ctx.not_checked) + ".")
    suggestions = _suggestions(group, card_id)
    reasons = ctx.override_reasons
    codes = dict.fromkeys(code for s in group for code in s.override_reasons)
    links = dict.fromkeys(link for s in group for link in s.links)
    return Card(
        uuid=card_id,
        summary=_summary(lead.summary, len(others)),
        detail="\n\n".join(d for d in detail if d),
        indicator="critical" if any(s.indicator == "critical" for s in group) else lead.indicator,
        source=Source(
            label=lead.source.label or lead.source.title,
            url=_absolute(lead.source.url),
            # Which rule leads the card, for systems (issue 11: traceability without clutter).
            topic=Coding(system=RULE_SYSTEM, code=lead.rule_id, display=lead.title),
        ),
        suggestions=suggestions or None,
        selection_behavior="at-most-one" if suggestions else None,
        override_reasons=[
            OverrideReason(system=reasons.system, code=code, display=reasons.reasons[code].display)
            for code in codes
        ]
        or None,
        links=[Link(label=label, url=url, type="absolute") for label, url in links] or None,
        extension={
            FINDINGS_EXTENSION: [
                {"rule": s.rule_id, "version": s.version, "indicator": s.indicator}
                | ({"snoozed": True} if s.snoozed else {})
                for s in group
            ]
        },
    )


def _suggestions(group: Sequence[Section], card_id: uuid.UUID) -> list[Suggestion]:
    """The findings' suggestions, the safest kind first, each offered once (by label); at
    most one recommended (cds-resp-1)."""
    out: list[Suggestion] = []
    labels: set[str] = set()
    recommended = False
    counts: dict[str, int] = {}
    offered = [(kind, draft) for s in group for kind, draft in s.suggestions]
    offered.sort(key=lambda pair: SAFEST_FIRST.index(pair[0]))  # stable: finding order within
    for kind, draft in offered:
        if draft.label in labels:
            continue
        labels.add(draft.label)
        i = counts[kind] = counts.get(kind, -1) + 1
        is_recommended = draft.is_recommended and not recommended
        recommended = recommended or is_recommended
        out.append(
            Suggestion(
                label=draft.label,
                uuid=suggestion_uuid(card_id, kind, i),
                is_recommended=is_recommended or None,
                actions=[Action.model_validate(a) for a in draft.actions],
            ).as_kind(kind)
        )
    return out


def suggestion_uuid(card_id: uuid.UUID, kind: str, i: int) -> uuid.UUID:
    """The uuid of a card's ``i``-th suggestion of ``kind`` (ADR 0007), so feedback that
    accepts it can be attributed to the findings that offered that kind."""
    return uuid.uuid5(_NAMESPACE, f"{card_id}/{kind}/{i}")


def _summary(lead: str, others: int) -> str:
    if not others:
        return lead
    more = f" (+{others} more)"
    room = SUMMARY_MAX_CHARS - len(more)
    text = lead if len(lead) <= room else lead[: room - 1].rstrip(" ,:;") + "…"
    return text + more


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
