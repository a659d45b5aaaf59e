"""Counting: audited calls and answers → the reports. Pure (no clock, no database).

Feedback is attributed to the rules of the card it names, in the period of the call that
showed the card: an override counts for every rule on the card, an accepted suggestion for
the rules that offered it (ADR 0007). Feedback for a card no recorded call showed cannot be
attributed and is not counted here (storage keeps it, flagged). An identical feedback item
sent twice (same card, outcome, reason and suggestions: a client retrying) counts once.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from service.reports.models import (
    OmeBin,
    OmeDistribution,
    OrganisationPeriod,
    OrganisationsReport,
    RuleCounts,
    RulePeriod,
    RulesOverTime,
    RulesReport,
)
from service.reports.periods import Period
from service.reports.rows import Answer, AuditedCall

#: Which rules' findings stand for each organisation measure. Rule ids, not clinical
#: numbers: tests/unit/reports checks each is a rule in rules/, so a renamed rule cannot
#: silently count as 0.
GABAPENTINOID_RULES = frozenset({"opioid-gabapentinoid"})
SEDATIVE_RULES = frozenset({"opioid-sedative"})
ESCALATION_RULES = frozenset({"escalation"})
REAUTHORISATION_RULES = frozenset({"reauthorisation-taper"})
#: A call showing this finding left a medicine out of its totals (unidentified or undosed):
#: its totals may be understated, so they are a lower bound, never "the" total (ADR 0001).
INCOMPLETE_TOTAL_RULES = frozenset({"unresolved-medicine"})
REPORTED_RULE_IDS = (
    GABAPENTINOID_RULES
    | SEDATIVE_RULES
    | ESCALATION_RULES
    | REAUTHORISATION_RULES
    | INCOMPLETE_TOTAL_RULES
)

PROMPTING = frozenset({"warning", "critical"})


def known_total(call: AuditedCall) -> float | None:
    """The call's highest total when it is complete; None when unknown or understated."""
    if any(f.rule in INCOMPLETE_TOTAL_RULES for f in call.findings):
        return None
    return call.highest_total


def _distinct(answers: Iterable[Answer]) -> list[Answer]:
    return list(dict.fromkeys(answers))


def _answers_by_card(answers: Iterable[Answer]) -> dict[str, list[Answer]]:
    by_card: dict[str, list[Answer]] = defaultdict(list)
    for a in _distinct(answers):
        by_card[a.card].append(a)
    return by_card


def rule_counts(
    calls: Sequence[AuditedCall], answers: Sequence[Answer], rule_ids: Iterable[str]
) -> list[RuleCounts]:
    """Per rule: ``rule_ids`` (every rule in rules/) always, with any other rule seen."""
    by_card = _answers_by_card(answers)
    fired: Counter[str] = Counter()
    snoozed: Counter[str] = Counter()
    accepted: Counter[str] = Counter()
    overridden: Counter[str] = Counter()
    reasons: dict[str, Counter[str]] = defaultdict(Counter)
    rules_of_card: dict[str, set[str]] = defaultdict(set)
    for call in calls:
        for f in call.findings:
            if f.snoozed:
                snoozed[f.rule] += 1
            elif f.indicator in PROMPTING:
                fired[f.rule] += 1
            rules_of_card[f.card].add(f.rule)
    for card, rules in rules_of_card.items():
        for a in by_card.get(card, ()):
            for rule in rules if a.rules is None else rules & a.rules:
                if a.outcome == "accepted":
                    accepted[rule] += 1
                elif a.outcome == "overridden":
                    overridden[rule] += 1
                    if a.override_reason is not None:
                        reasons[rule][a.override_reason] += 1
    seen = {r for rules in rules_of_card.values() for r in rules}
    return [
        RuleCounts(
            rule=rule,
            fired=fired[rule],
            snoozed=snoozed[rule],
            accepted=accepted[rule],
            overridden=overridden[rule],
            override_reasons=dict(sorted(reasons[rule].items())),
        )
        for rule in sorted(set(rule_ids) | seen)
    ]


def rules_report(
    calls: Sequence[AuditedCall], answers: Sequence[Answer], rule_ids: Iterable[str]
) -> RulesReport:
    return RulesReport(rules=rule_counts(calls, answers, rule_ids))


def rules_over_time(
    calls: Sequence[AuditedCall],
    answers: Sequence[Answer],
    rule_ids: Iterable[str],
    periods: Sequence[Period],
) -> RulesOverTime:
    # Every period lists the same rules: those in rules/ and any other seen in the window (a
    # rule since retired), so a chart's series has a value in each period (a rule seen in one
    # period only made the dashboard fail: found by schemathesis over a shared database).
    seen = {f.rule for c in calls for f in c.findings}
    rule_ids = (*rule_ids, *sorted(seen - set(rule_ids)))
    return RulesOverTime(
        periods=[
            RulePeriod(
                start=p.start,
                end=p.end,
                rules=rule_counts([c for c in calls if p.contains(c.at)], answers, rule_ids),
            )
            for p in periods
        ]
    )


def _organisation_period(
    organisation: str | None,
    period: Period,
    calls: Sequence[AuditedCall],
    by_card: dict[str, list[Answer]],
    threshold: float,
) -> OrganisationPeriod:
    patients = {c.patient_key for c in calls if c.patient_key is not None}
    high = {
        c.patient_key
        for c in calls
        if c.patient_key is not None and (t := c.highest_total) is not None and t >= threshold
    }
    # A lower bound at or above the threshold is enough for "high"; otherwise a total that
    # is unknown or understated leaves the patient counted apart, never as below it.
    unknown = {
        c.patient_key for c in calls if c.patient_key is not None and known_total(c) is None
    } - high

    def patients_shown(rules: frozenset[str]) -> int:
        return len(
            {
                c.patient_key
                for c in calls
                if c.patient_key is not None and any(f.rule in rules for f in c.findings)
            }
        )

    def calls_showing(rules: frozenset[str]) -> int:
        return sum(1 for c in calls if any(f.rule in rules for f in c.findings))

    prompts = {
        f.card for c in calls for f in c.findings if f.indicator in PROMPTING and not f.snoozed
    }
    outcomes = {card: {a.outcome for a in by_card.get(card, ())} for card in prompts}
    return OrganisationPeriod(
        organisation=organisation,
        start=period.start,
        end=period.end,
        calls=len(calls),
        patients_seen=len(patients),
        patients_high_dose=len(high),
        patients_total_unknown=len(unknown),
        patients_with_gabapentinoid=patients_shown(GABAPENTINOID_RULES),
        patients_with_benzodiazepine_or_z_drug=patients_shown(SEDATIVE_RULES),
        escalations=calls_showing(ESCALATION_RULES),
        high_dose_reauthorisations=calls_showing(REAUTHORISATION_RULES),
        prompts_shown=len(prompts),
        prompts_accepted=sum(1 for o in outcomes.values() if "accepted" in o),
        prompts_overridden=sum(1 for o in outcomes.values() if "overridden" in o),
        prompts_unanswered=sum(1 for o in outcomes.values() if not o),
    )


def organisations_report(
    calls: Sequence[AuditedCall],
    answers: Sequence[Answer],
    periods: Sequence[Period],
    threshold: float,
) -> OrganisationsReport:
    """One row per organisation and period with a call; organisations by id (unnamed last),
    then periods in order."""
    by_card = _answers_by_card(answers)
    groups: dict[tuple[str | None, int], list[AuditedCall]] = defaultdict(list)
    for call in calls:
        for i, p in enumerate(periods):
            if p.contains(call.at):
                groups[(call.organisation, i)].append(call)
                break
    keys = sorted(groups, key=lambda k: (k[0] is None, k[0] or "", k[1]))
    return OrganisationsReport(
        threshold_mg_per_day=threshold,
        periods=[
            _organisation_period(org, periods[i], groups[(org, i)], by_card, threshold)
            for org, i in keys
        ],
    )


def ome_distribution(
    calls: Sequence[AuditedCall], threshold: float, bin_width: float, top: float
) -> OmeDistribution:
    """Patients shown a warning, by the highest known total of the calls that showed it:
    bins of ``bin_width`` from 0 up to ``top``, then one open bin."""
    highest: dict[str, float | None] = {}
    for c in calls:
        if c.patient_key is None or not any(
            f.indicator in PROMPTING and not f.snoozed for f in c.findings
        ):
            continue
        total = known_total(c)
        before = highest.get(c.patient_key)
        highest[c.patient_key] = (
            total if before is None else before if total is None else max(before, total)
        )
    n_bins = max(1, math.ceil(top / bin_width))
    counts = [0] * (n_bins + 1)
    for total in highest.values():
        if total is not None:
            counts[min(int(total // bin_width), n_bins)] += 1
    bins = [
        OmeBin(
            from_mg=i * bin_width,
            to_mg=(i + 1) * bin_width if i < n_bins else None,
            patients=n,
        )
        for i, n in enumerate(counts)
    ]
    return OmeDistribution(
        threshold_mg_per_day=threshold,
        bin_width_mg=bin_width,
        patients_flagged=len(highest),
        patients_total_unknown=sum(1 for t in highest.values() if t is None),
        bins=bins,
    )
