"""The patient's regimen: current medicines, the proposal, and the totals before and after.

History semantics (issue #3 §5; real-world-data.md §2):
- Current means status active, intended or unknown (a record without status is taken at its
  word). Stopped, completed, cancelled, entered-in-error, on-hold, not-taken and draft
  records, and statements whose period has ended, are not current.
- GP Connect models one drug as a MedicationStatement, an authorisation (MedicationRequest
  intent=plan) and one MedicationRequest intent=order per issue: a record ``basedOn``
  another current record is that record's issue and is not counted again; the same medicine
  at the same daily dose recorded twice (statement and authorisation) is counted once.
- A MedicationRequest with ``doNotPerform: true`` is an instruction not to give the
  medicine (FHIR R4 MedicationRequest.doNotPerform): whether proposed or in the history it
  is excluded with that reason, never counted, never proposed, never replaced by a proposal.
- A total above the plausibility ceiling (``implausible_total_mg_per_day``) is not a total:
  every medicine in it is unresolved with the reason, so no card shows it as a figure and
  the unresolved-medicine card names them (issue 9 item 7; ADR 0001).
- The proposed order **replaces** the current item it re-authorises or changes (the same
  resource re-signed, ``priorPrescription``, ``basedOn``, or with no link the same medicine)
  instead of being added to it; see ``replaces``. A replacement inferred without a link is
  recorded so the card can say so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

from service.fhir.medication_record import MEDICATION_RESOURCE_TYPES
from service.ome.calculate import Flag, MedicationOme, Status, implausible_reason

CURRENT_STATUSES = frozenset({"active", "intended", "unknown"})
DO_NOT_PERFORM = "doNotPerform: an instruction not to give it"
CURRENT_INTENTS = frozenset(
    {"order", "original-order", "reflex-order", "filler-order", "instance-order", "plan"}
)


@dataclass(frozen=True, slots=True)
class Regimen:
    proposed: tuple[MedicationOme, ...]
    current: tuple[MedicationOme, ...]  # counted once each, before the proposal
    replaced: tuple[MedicationOme, ...]  # current items the proposal replaces
    not_current: tuple[MedicationOme, ...]
    duplicates: tuple[MedicationOme, ...]
    #: (proposal, current) pairs where the replacement was inferred (same medicine, no link).
    inferred: tuple[tuple[MedicationOme, MedicationOme], ...] = ()
    #: The total (mg OME/day) that was above the plausibility ceiling, when one was: its
    #: medicines are then unresolved and it is never reported as a total.
    implausible_total: float | None = None
    #: Why, in words, when ``implausible_total`` is set.
    implausible_reason: str | None = None

    @property
    def continuing(self) -> tuple[MedicationOme, ...]:
        replaced = {id(m) for m in self.replaced}
        return tuple(m for m in self.current if id(m) not in replaced)

    @property
    def with_proposal(self) -> tuple[MedicationOme, ...]:
        return self.continuing + self.proposed

    @property
    def current_total(self) -> float:
        return total(self.current)

    @property
    def total_with_proposal(self) -> float:
        return total(self.with_proposal)

    @property
    def total_if_added(self) -> float:
        """The total if the inferred replacements were additions instead."""
        return total((*self.with_proposal, *(c for _, c in self.inferred)))

    @property
    def unresolved(self) -> tuple[MedicationOme, ...]:
        """Items that may change the total but could not be calculated."""
        return tuple(m for m in self.with_proposal if m.status is Status.UNRESOLVED)


def total(items: Iterable[MedicationOme]) -> float:
    return round(sum(m.ome_mg_per_day or 0.0 for m in items if m.status is Status.CALCULATED), 6)


def build_regimen(
    proposed: Iterable[MedicationOme],
    history: Iterable[MedicationOme],
    today: date,
    implausible_total_mg_per_day: float | None = None,
) -> Regimen:
    current: list[MedicationOme] = []
    not_current: list[MedicationOme] = []
    orders = tuple(proposed)
    proposed = tuple(p for p in orders if not p.record.do_not_perform)
    not_current.extend(_do_not_perform(p) for p in orders if p.record.do_not_perform)
    for item in history:
        if item.record.do_not_perform:
            not_current.append(_do_not_perform(item))
            continue
        why = _not_current_reason(item, today)
        if why is None:
            current.append(item)
        else:
            not_current.append(
                replace(item, flags=item.flags | {Flag.NOT_CURRENT}, reason=item.reason or why)
            )
    counted, duplicates = _count_once(current)
    replaced = [c for c in counted if any(replaces(p, c) for p in proposed)]
    regimen = Regimen(
        proposed=proposed,
        current=tuple(counted),
        replaced=tuple(replaced),
        inferred=tuple(
            (p, c)
            for c in replaced
            for p in proposed
            if replaces(p, c)
            and (c.record.reference is None or c.record.reference not in _links(p))
        ),
        not_current=tuple(not_current),
        duplicates=tuple(duplicates),
    )
    return _check_plausible(regimen, implausible_total_mg_per_day)


def _do_not_perform(item: MedicationOme) -> MedicationOme:
    flags = item.flags | {Flag.NOT_CURRENT, Flag.DO_NOT_PERFORM}
    return replace(item, flags=flags, reason=DO_NOT_PERFORM)


def _check_plausible(regimen: Regimen, ceiling: float | None) -> Regimen:
    """Each medicine was checked against the ceiling (``assess``); a sum of plausible
    medicines can still pass it. Then none of them is counted: each is unresolved with the
    reason, and the regimen keeps the figure for the /ome report to flag."""
    # total_if_added too: a card states it when a replacement was inferred ("if both are
    # to be taken, the total is ...").
    worst = max(regimen.current_total, regimen.total_with_proposal, regimen.total_if_added)
    if ceiling is None or worst <= ceiling:
        return regimen
    reason = implausible_reason(worst, ceiling, "the total")
    swap = {
        id(m): replace(
            m,
            status=Status.UNRESOLVED,
            ome_mg_per_day=None,
            explanation=f"{m.label}: OME not counted ({reason})",
            reason=reason,
            flags=m.flags | {Flag.IMPLAUSIBLE},
        )
        for m in (*regimen.current, *regimen.proposed)
        if m.status is Status.CALCULATED
    }

    def s(m: MedicationOme) -> MedicationOme:
        return swap.get(id(m), m)

    return Regimen(
        proposed=tuple(map(s, regimen.proposed)),
        current=tuple(map(s, regimen.current)),
        replaced=tuple(map(s, regimen.replaced)),
        not_current=regimen.not_current,
        duplicates=regimen.duplicates,
        inferred=tuple((s(p), s(c)) for p, c in regimen.inferred),
        implausible_total=worst,
        implausible_reason=reason,
    )


def _not_current_reason(item: MedicationOme, today: date) -> str | None:
    record = item.record
    if record.status is not None and record.status not in CURRENT_STATUSES:
        return f"status {record.status}"
    if record.intent is not None and record.intent not in CURRENT_INTENTS:
        return f"intent {record.intent}"
    if record.effective_end is not None and record.effective_end < today:
        return f"ended {record.effective_end.isoformat()}"
    return None


def _count_once(items: list[MedicationOme]) -> tuple[list[MedicationOme], list[MedicationOme]]:
    refs = {m.record.reference for m in items if m.record.reference}
    counted: list[MedicationOme] = []
    duplicates: list[MedicationOme] = []
    seen: dict[tuple[object, ...], MedicationOme] = {}
    for item in items:
        if any(ref in refs and ref != item.record.reference for ref in item.record.based_on):
            duplicates.append(item)  # an issue of an authorisation that is itself counted
            continue
        key = _same_medicine_same_dose(item)
        if key in seen:
            duplicates.append(item)
            continue
        seen[key] = item
        counted.append(item)
    return counted, duplicates


def _same_medicine_same_dose(item: MedicationOme) -> tuple[object, ...]:
    daily = item.daily
    amount = (round(daily.amount, 6), daily.unit) if daily else (item.reason,)
    return (item.label.strip().lower(), *amount)


def replaces(proposal: MedicationOme, current: MedicationOme) -> bool:
    """Whether the proposal takes the place of this current item (issue #3: "the proposed
    order replaces the item it re-authorises or changes (same medicine, basedOn or
    priorPrescription)").

    An order that names what it continues (the same resource re-signed, ``priorPrescription``,
    ``basedOn``) replaces exactly that. An order with no such link replaces a current item of
    the same medicine: the same ingredients by the same route and release (morphine MR 30 mg
    → 60 mg). That inference can be wrong — a fentanyl 12 patch may be *added* to a 25 — so
    it is recorded (``Regimen.inferred``) and the card says what was assumed and what the
    total would be if both were taken."""
    p, c = proposal.record, current.record
    if c.reference is not None and c.reference in _links(proposal):
        return True
    if any(_is_medication_link(ref) for ref in (p.prior_prescription, *p.based_on) if ref):
        return False  # it names the prescription it continues, and this is not it
    # A link to anything else (basedOn a CarePlan or a ServiceRequest) names no prescription:
    # fall back to the same medicine.
    key = _medicine_key(proposal)
    return key is not None and key == _medicine_key(current)


def _is_medication_link(reference: str) -> bool:
    return reference.split("/", 1)[0] in MEDICATION_RESOURCE_TYPES


def _links(item: MedicationOme) -> set[str]:
    r = item.record
    return {ref for ref in (r.reference, r.prior_prescription, *r.based_on) if ref}


def _medicine_key(item: MedicationOme) -> tuple[object, ...] | None:
    """Same ingredients, route and release: morphine MR 30 mg → 60 mg is a change of the
    same medicine; morphine MR and morphine oral solution are two medicines."""
    product = item.product
    if product is None:
        return None
    names = frozenset(i.name for i in product.ingredients)
    return (names, product.route, product.modified_release)
