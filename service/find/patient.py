"""The per-patient function of Find: one patient's resources from an export in, one row out.

It is the hook's own path: the resources become a Bundle that the one record builder
(``service.fhir.patient_record.read_patient_record``) reads, then the pipeline builds the
regimen (``Pipeline.regimen``, the arithmetic of ``POST /ome``), computes the facts and the
support tier. A population has no proposed order, so the rules that need one cannot fire as
written; each finding here is the rule's own condition on the current regimen, with the
rule's own parameters (``rules/recommendations/``), so a deployment's thresholds apply to
both. Both engines (local processes and Spark) call :func:`assess_patient` and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from service.errors import ServiceError
from service.facts.registry import FactValue
from service.fhir.bulk import KIND_OF_TYPE, patient_organisation
from service.fhir.patient_record import PatientRecord, Sent, read_patient_record
from service.medicines.model import IngredientClass
from service.ome.calculate import MedicationOme, Status
from service.ome.regimen import Regimen, build_regimen
from service.pipeline import Pipeline
from service.storage import pseudonym

#: The record builder's name for this way in (the hook name of a CDS call).
HOOK = "find"
UNKNOWN_ORGANISATION = "unknown"
_IN_SCOPE = (
    IngredientClass.OPIOID,
    IngredientClass.GABAPENTINOID,
    IngredientClass.BENZODIAZEPINE,
    IngredientClass.Z_DRUG,
)


@dataclass(frozen=True, slots=True)
class FindContext:
    """What every patient's assessment shares; picklable, so it travels to worker processes
    and Spark executors."""

    as_of: date
    profile_id: str | None
    #: Ends of the trend periods, oldest first; the last is ``as_of``.
    period_ends: tuple[date, ...]
    organisations: dict[str, str]
    #: Kinds of clinical data the export holds ("conditions", ...): a patient with none of a
    #: kind that was exported has none, rather than "not checked".
    kinds: frozenset[str]
    pseudonym_key: str
    #: Settings fields that shape the pipeline, so a worker builds the driver's pipeline.
    settings: dict[str, Any] = field(default_factory=dict)


def patient_key(key: str, patient_id: str) -> str:
    """A pseudonym: the audit's own (service.storage.pseudonym, HMAC-SHA256 of the patient id).
    The same key gives the same pseudonym in every run and in the audit and reports, so a
    practice's Find worklist and its prompts can be compared; without the key it cannot be
    turned back into the id."""
    return pseudonym.patient_key(key, patient_id)


def patient_bundle(entries: Iterable[tuple[str | None, str]]) -> dict[str, Any]:
    """A patient's resources (``fullUrl`` or None, JSON text) as one collection Bundle, in a
    fixed order so that every engine, however it grouped them, builds the same record."""
    ordered = sorted(set(entries), key=lambda e: (e[1], e[0] or ""))
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {**({"fullUrl": url} if url else {}), "resource": json.loads(text)}
            for url, text in ordered
        ],
    }


def read_record(bundle: dict[str, Any], kinds: frozenset[str]) -> PatientRecord:
    """The one record builder, with the export's kinds of data said to be obtained."""
    obtained = [Sent(kind, None, kind) for kind in sorted(kinds)]
    return read_patient_record(HOOK, [Sent("export", bundle, "export"), *obtained])


def assess_patient(
    pipeline: Pipeline, ctx: FindContext, patient_id: str, entries: Iterable[tuple[str | None, str]]
) -> dict[str, Any]:
    bundle = patient_bundle(entries)
    patient = next(
        (e["resource"] for e in bundle["entry"] if e["resource"].get("resourceType") == "Patient"),
        None,
    )
    row: dict[str, Any] = {
        "patient_key": patient_key(ctx.pseudonym_key, patient_id),
        "organisation": patient_organisation(patient, ctx.organisations) or UNKNOWN_ORGANISATION,
    }
    try:
        record = read_record(bundle, ctx.kinds)
    except ServiceError as exc:
        # One unreadable record is reported (in scope, unresolved, with the field), never
        # dropped and never allowed to stop the run.
        return {**row, **_unreadable(exc, len(ctx.period_ends))}
    profile = pipeline.profile(ctx.profile_id)
    regimen = pipeline.regimen(record, ctx.as_of, profile)
    facts = pipeline.facts(record, regimen, ctx.as_of)
    tier = pipeline.stratifier.tier(facts)
    assessed = pipeline.assess_all(record.history, profile)
    ceiling = pipeline.plausibility.max_ome_mg_per_day

    def at(day: date) -> Regimen:
        if not assessed:
            return regimen  # no medicines: nothing to rebuild (most of a population)
        return build_regimen((), _as_it_was(assessed, day), day, ceiling)

    lookback = pipeline.shared_parameters["escalation_lookback_days"].value
    previous = at(ctx.as_of - timedelta(days=lookback))
    now = total_of(regimen, record.history_incomplete is not None)
    before = total_of(previous, record.history_incomplete is not None)
    findings = _findings(pipeline, facts, now, before)
    return {
        **row,
        "in_scope": any(facts.get(f) is True for f in _IN_SCOPE_FACTS),
        "opioid": facts.get("opioid_in_regimen") is True,
        "total_ome_mg_per_day": now.value,
        "total_status": now.status,
        "complete": not regimen.unresolved and not record.not_checked,
        "unresolved_count": len(regimen.unresolved),
        "unresolved_medicines": "; ".join(dict.fromkeys(m.label for m in regimen.unresolved)),
        **findings,
        "previous_total_ome_mg_per_day": before.value,
        "previous_total_status": before.status,
        "support_tier": tier.tier if tier else None,
        "support_tier_name": tier.name if tier else None,
        "risk_factors": "; ".join(tier.factors) if tier else "",
        "medicines": "; ".join(_medicine(m, counted=True) for m in _in_scope(regimen.current))
        + "".join(f"; {_medicine(m, counted=False)}" for m in _in_scope(regimen.duplicates)),
        "not_checked": "; ".join(record.not_checked),
        "trend": ";".join(
            _trend_point(regimen)
            if day == ctx.as_of
            else _trend_point(at(day), _unplaced_opioid(assessed, day))
            for day in ctx.period_ends
        ),
        "error": None,
    }


#: ``total_status``: every current opioid counted; a lower bound (an opioid counted, and a
#: medicine that may change the total was not: ADR 0001, never silently wrong); nothing
#: counted and something unresolved (the total is unknown, never 0); nothing to count.
COMPLETE, AT_LEAST, UNKNOWN, NONE_COUNTED = "complete", "at least", "unknown", "no opioid counted"


@dataclass(frozen=True, slots=True)
class Total:
    """A total as Find reports it: the figure (None when no opioid was counted) and what it
    is (one of ``COMPLETE``, ``AT_LEAST``, ``UNKNOWN``, ``NONE_COUNTED``)."""

    value: float | None
    status: str

    def at_or_above(self, threshold: float) -> bool | None:
        """True when the total, or its lower bound, is at or above ``threshold``; None when
        it is below but understated or unknown (not known to be below); else False. As the
        reports count high-dose patients (service.reports.aggregate)."""
        if self.value is not None and self.value >= threshold:
            return True
        return None if self.status in (AT_LEAST, UNKNOWN) else False


def total_of(regimen: Regimen, history_incomplete: bool = False) -> Total:
    """The regimen's total as a figure only when an opioid was counted (``POST /ome`` gives
    0 then, with each medicine's status; a list of totals must not read as "0 mg")."""
    counted = any(
        m.status is Status.CALCULATED and m.ome_mg_per_day is not None for m in regimen.current
    )
    missing = bool(regimen.unresolved) or history_incomplete
    if counted:
        return Total(regimen.current_total, AT_LEAST if missing else COMPLETE)
    return Total(None, UNKNOWN if missing else NONE_COUNTED)


def _unplaced_opioid(items: tuple[MedicationOme, ...], day: date) -> bool:
    """Whether an opioid stopped or completed since, that started by ``day``, states no end
    and no supply: it may have been current then, or not (an export does not say). The
    trend counts such a patient apart, so a past period is not silently a lower bound."""
    return any(
        m.record.status in ("stopped", "completed")
        and (m.record.start is None or m.record.start <= day)
        and m.record.effective_end is None
        and m.record.expected_supply_days is None
        and m.product is not None
        and m.product.has_class(IngredientClass.OPIOID)
        for m in items
    )


def _as_it_was(items: tuple[MedicationOme, ...], day: date) -> list[MedicationOme]:
    """The medicines as they stood on a past day, for the trend and for escalation. An
    export carries each prescription's status now: one started after ``day`` is left out,
    and one stopped or completed since is taken as active then if it states when it ended
    (its effective or validity period) or how long its supply lasts (expected supply times
    the issues allowed); one that states neither is not counted then (it cannot be placed)."""
    kept = []
    for m in items:
        r = m.record
        start = r.start
        if start is not None and start > day:
            continue
        if r.status in ("stopped", "completed") and start is not None:
            end = r.effective_end
            if end is None and r.expected_supply_days is not None:
                issues = 1 + (r.number_of_repeats_allowed or 0)
                end = start + timedelta(days=r.expected_supply_days * issues)
            if end is not None and end >= day:
                m = replace(m, record=replace(r, status="active", effective_end=end))
        kept.append(m)
    return kept


_IN_SCOPE_FACTS = (
    "any_opioid_in_regimen",
    "gabapentinoid_in_regimen",
    "sedative_in_regimen",
    "any_unresolved",
)


def _findings(
    pipeline: Pipeline, facts: dict[str, FactValue], total: Total, previous: Total
) -> dict[str, bool | None]:
    """Each finding from the current regimen, with the parameters of the rule that prompts
    for it at prescribing. A rule switched off in this deployment gives no answer (None)."""
    rules = {r.id: {n: p.value for n, p in r.parameters.items()} for r in pipeline.rules}
    opioid = facts.get("opioid_in_regimen") is True
    any_opioid = facts.get("any_opioid_in_regimen") is True

    def rule(rule_id: str, name: str) -> float | None:
        return rules.get(rule_id, {}).get(name)

    high = rule("high-dose-risk-assessment", "threshold_mg_per_day")
    long_days = rule("long-term-use", "long_term_days")
    days = facts.get("opioid_use_days")
    many = rule("multiple-opioids", "min_distinct_opioids")
    count = facts.get("distinct_opioid_count")
    rise = rule("escalation", "escalation_percent")
    crossing = rule("escalation", "threshold_mg_per_day")
    escalation = None
    if rise is not None and crossing is not None:
        escalation = _escalation(total, previous, rise, crossing)
    return {
        "high_dose": None if high is None else total.at_or_above(high),
        "opioid_gabapentinoid": (
            any_opioid and facts.get("gabapentinoid_in_regimen") is True
            if "opioid-gabapentinoid" in rules
            else None
        ),
        "opioid_sedative": (
            any_opioid and facts.get("sedative_in_regimen") is True
            if "opioid-sedative" in rules
            else None
        ),
        "long_term": None
        if long_days is None
        else opioid and isinstance(days, float) and days >= long_days,
        "multiple_opioids": None if many is None else isinstance(count, float) and count >= many,
        "escalation": escalation,
        "unresolved": facts.get("any_unresolved") is True,
    }


def _escalation(total: Total, previous: Total, rise: float, crossing: float) -> bool | None:
    """As the escalation rule: a first opioid is a new start, not a rise from nothing. When
    either total is understated or unknown, only what the figures prove is said: a lower
    bound now that already rose enough over a complete total then is an escalation; a
    complete total now that did not rise over a lower bound then is not; else unknown."""
    if previous.status == NONE_COUNTED or total.status == NONE_COUNTED:
        return False
    if total.value is None or previous.value is None or previous.value <= 0:
        return None
    now, then = total.value, previous.value
    rose = (now - then) * 100 / then >= rise or then < crossing <= now
    if total.status == COMPLETE and previous.status == COMPLETE:
        return rose
    if previous.status == COMPLETE:  # now a lower bound: a rise is proven, no rise is not
        return True if rose else None
    if total.status == COMPLETE:  # then a lower bound: the true rise is at most this
        return False if not rose else None
    return None


def _in_scope(items: Iterable[MedicationOme]) -> list[MedicationOme]:
    return [
        m
        for m in items
        if m.status is Status.UNRESOLVED
        or (m.product is not None and any(m.product.has_class(c) for c in _IN_SCOPE))
    ]


def _medicine(m: MedicationOme, *, counted: bool) -> str:
    if not counted:
        return f"{m.label}: counted once (recorded twice)"
    if m.status is Status.CALCULATED and m.ome_mg_per_day is not None:
        return f"{m.label}: {m.ome_mg_per_day:g} mg OME/day"
    if m.status is Status.UNRESOLVED:
        return f"{m.label}: unresolved ({m.reason or 'no reason given'})"
    classes = [c.value for c in _IN_SCOPE if m.product is not None and m.product.has_class(c)]
    return f"{m.label}: {', '.join(classes) or m.status.value}"


def _trend_point(regimen: Regimen, unplaced: bool = False) -> str:
    """``total:opioid:unknown`` for one period end (opioid: 1 when an opioid is current;
    unknown: 1 when none is, but one that cannot be placed in time may have been)."""
    opioid = any(
        m.product is not None and m.product.has_class(IngredientClass.OPIOID)
        for m in regimen.current
    )
    return f"{float(regimen.current_total)!r}:{int(opioid)}:{int(unplaced and not opioid)}"


def _unreadable(exc: ServiceError, periods: int) -> dict[str, Any]:
    where = getattr(exc, "location", None)
    message = getattr(exc, "message", None) or type(exc).__name__
    return {
        "in_scope": True,
        "opioid": None,
        # Unknown, never 0 (the total of an unreadable record is not known).
        "total_ome_mg_per_day": None,
        "total_status": UNKNOWN,
        "complete": False,
        "unresolved_count": 1,
        "unresolved_medicines": "",
        **dict.fromkeys(FINDINGS),
        "unresolved": True,
        "previous_total_ome_mg_per_day": None,
        "previous_total_status": UNKNOWN,
        "support_tier": None,
        "support_tier_name": None,
        "risk_factors": "",
        "medicines": "",
        "not_checked": "",
        # Unread: whether an opioid was current in any period is not known.
        "trend": ";".join(["-:0:1"] * periods),
        "error": f"the record could not be read: {message}" + (f" ({where})" if where else ""),
    }


FINDINGS = (
    "high_dose",
    "opioid_gabapentinoid",
    "opioid_sedative",
    "long_term",
    "multiple_opioids",
    "escalation",
    "unresolved",
)


def kinds_of_types(resource_types: Iterable[str]) -> frozenset[str]:
    return frozenset(KIND_OF_TYPE[t] for t in resource_types if t in KIND_OF_TYPE)
