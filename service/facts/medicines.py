"""Facts about the patient's medicines: what is proposed, what is current, the totals.

Read from the regimen (``service.ome.regimen``): the current medicines with the proposal in
place. The evidence for the criteria that use them is cited in the rule files.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from service.facts.registry import FactSet, FactValue
from service.facts.situation import (
    Situation,
    has_class,
    is_rescue_naloxone,
    is_sedative,
    is_substitution_therapy,
)
from service.medicines.model import IngredientClass
from service.ome.calculate import Flag, MedicationOme, Status

FACTS = FactSet[Situation]("medicines")
fact = FACTS.fact


@fact(
    "proposed_opioid",
    "bool",
    None,
    "A proposed medicine (draft order, refill or discharge prescription) contains an opioid.",
)
def _proposed_opioid(s: Situation) -> FactValue:
    return bool(s.proposed_opioids)


@fact(
    "proposed_any_opioid",
    "bool",
    None,
    "A proposed medicine contains an opioid, for pain or as opioid substitution therapy.",
)
def _proposed_any_opioid(s: Situation) -> FactValue:
    return bool(s.proposed_any_opioids)


@fact(
    "any_opioid_in_regimen",
    "bool",
    None,
    "An opioid, for pain or as opioid substitution therapy, is current or proposed.",
)
def _any_opioid_in_regimen(s: Situation) -> FactValue:
    return bool(s.any_opioids)


@fact(
    "substitution_therapy_in_regimen",
    "bool",
    None,
    "Opioid substitution therapy (a product for dependence, BNF 4.10) is current or proposed; "
    "it is not in the analgesic OME total.",
)
def _substitution_therapy_in_regimen(s: Situation) -> FactValue:
    return any(is_substitution_therapy(m) for m in s.any_opioids)


@fact("proposed_gabapentinoid", "bool", None, "A proposed medicine contains a gabapentinoid.")
def _proposed_gabapentinoid(s: Situation) -> FactValue:
    return any(has_class(m, IngredientClass.GABAPENTINOID) for m in s.regimen.proposed)


@fact(
    "proposed_sedative",
    "bool",
    None,
    "A proposed medicine contains a benzodiazepine or a Z-drug.",
)
def _proposed_sedative(s: Situation) -> FactValue:
    return any(is_sedative(m) for m in s.regimen.proposed)


@fact(
    "opioid_in_regimen",
    "bool",
    None,
    "An opioid is current or proposed (after the proposal replaces what it changes).",
)
def _opioid_in_regimen(s: Situation) -> FactValue:
    return bool(s.opioids)


@fact("gabapentinoid_in_regimen", "bool", None, "A gabapentinoid is current or proposed.")
def _gabapentinoid_in_regimen(s: Situation) -> FactValue:
    return bool(s.gabapentinoids)


@fact("sedative_in_regimen", "bool", None, "A benzodiazepine or Z-drug is current or proposed.")
def _sedative_in_regimen(s: Situation) -> FactValue:
    return bool(s.sedatives)


@fact(
    "naloxone_in_regimen",
    "bool",
    None,
    "Naloxone on its own (the overdose rescue medicine) is current or proposed; naloxone "
    "combined with an opioid (Targinact, Suboxone) does not count. Unknown when the current "
    "medicines were not sent.",
)
def _naloxone_in_regimen(s: Situation) -> FactValue:
    if any(is_rescue_naloxone(m) for m in s.regimen.with_proposal):
        return True
    # Without the medicines list, naloxone supplied earlier cannot be ruled out.
    return None if s.record.history_unavailable is not None else False


@fact(
    "total_ome_current_mg_per_day",
    "number",
    "mg OME/day",
    "Total daily OME of the current opioids, before the proposal; unresolved items not counted.",
)
def _total_current(s: Situation) -> FactValue:
    return s.regimen.current_total


@fact(
    "total_ome_with_proposal_mg_per_day",
    "number",
    "mg OME/day",
    "Total daily OME of the current opioids with the proposal (replacing what it changes).",
)
def _total_with_proposal(s: Situation) -> FactValue:
    return s.regimen.total_with_proposal


@fact(
    "ome_increase_percent",
    "number",
    "%",
    "Rise of the total with the proposal over the current total, in percent; absent when the "
    "current total is 0.",
    max_chars=6,
)
def _ome_increase_percent(s: Situation) -> FactValue:
    current, with_proposal = s.regimen.current_total, s.regimen.total_with_proposal
    if current <= 0:
        return None
    return round((with_proposal - current) / current * 100, 1)


@fact(
    "distinct_opioid_count",
    "number",
    "count",
    "Number of different opioid ingredients current or proposed, substitution therapy included.",
    max_chars=2,
)
def _distinct_opioid_count(s: Situation) -> FactValue:
    return len({i.name for m in s.any_opioids if m.product for i in m.product.opioids})


@fact(
    "opioid_use_days",
    "number",
    "days",
    "Days from the earliest start of a current or re-authorised opioid to today.",
    max_chars=5,
)
def _opioid_use_days(s: Situation) -> FactValue:
    """The current items a proposal replaces (it re-authorises them) count, and so do
    earlier prescriptions linked by priorPrescription or basedOn, even when no longer
    active."""
    regimen = s.regimen
    by_ref = {
        m.record.reference: m
        for m in (*regimen.current, *regimen.not_current, *regimen.duplicates)
        if m.record.reference
    }
    replaced = [m for m in regimen.replaced if has_class(m, IngredientClass.OPIOID)]
    starts: list[date] = []
    for item in (*s.opioids, *replaced):
        seen: set[str] = set()
        queue = [item]
        while queue:
            current = queue.pop()
            if current.record.start is not None:
                starts.append(current.record.start)
            for ref in (current.record.prior_prescription, *current.record.based_on):
                if ref is None or ref in seen:
                    continue
                seen.add(ref)
                linked = by_ref.get(ref)
                if linked is not None:
                    queue.append(linked)
    # A new prescription authored today says nothing about duration; only history does.
    history_starts = [d for d in starts if d < s.today]
    return float((s.today - min(history_starts)).days) if history_starts else None


@fact(
    "any_unresolved",
    "bool",
    None,
    "At least one medicine current or proposed could not be identified or dosed.",
)
def _any_unresolved(s: Situation) -> FactValue:
    return bool(s.regimen.unresolved)


@fact("proposed_unresolved", "bool", None, "A proposed medicine could not be identified or dosed.")
def _proposed_unresolved(s: Situation) -> FactValue:
    return any(m.status is Status.UNRESOLVED for m in s.regimen.proposed)


@fact(
    "proposed_dose_implausible",
    "bool",
    None,
    "A proposed medicine's dose works out at more than any patient could take (more "
    "administrations a day, or more mg OME/day, than rules/parameters.yaml allows): most "
    "likely a typing error in the order.",
)
def _proposed_dose_implausible(s: Situation) -> FactValue:
    return any(Flag.IMPLAUSIBLE in m.flags for m in s.regimen.proposed)


@fact(
    "proposed_implausible_names",
    "text",
    None,
    "The proposed medicines whose dose is implausible, as sent.",
    max_chars=60,
)
def _proposed_implausible_names(s: Situation) -> FactValue:
    return names(m for m in s.regimen.proposed if Flag.IMPLAUSIBLE in m.flags)


@fact(
    "unresolved_count",
    "number",
    "count",
    "Medicines current or proposed that could not be identified or dosed.",
    max_chars=2,
)
def _unresolved_count(s: Situation) -> FactValue:
    return len(s.regimen.unresolved)


@fact(
    "medicines_list_gap",
    "text",
    None,
    "Why the patient's medicines list may be missing items although it was sent (a "
    "paginated search, an OperationOutcome beside the data); absent when it is complete.",
    max_chars=70,
)
def _medicines_list_gap(s: Situation) -> FactValue:
    return s.record.history_incomplete


@fact(
    "medicines_list_gap_known",
    "bool",
    None,
    "The medicines list was sent but may be missing items (see medicines_list_gap).",
)
def _medicines_list_gap_known(s: Situation) -> FactValue:
    return s.record.history_incomplete is not None


@fact("unresolved_names", "text", None, "The names of those medicines, as sent.", max_chars=60)
def _unresolved_names(s: Situation) -> FactValue:
    return names(s.regimen.unresolved)


@fact("opioid_names", "text", None, "The opioid medicines current or proposed.", max_chars=60)
def _opioid_names(s: Situation) -> FactValue:
    return names(s.opioids)


@fact(
    "any_opioid_names",
    "text",
    None,
    "The opioids current or proposed, substitution therapy included and named as such.",
    max_chars=60,
)
def _any_opioid_names(s: Situation) -> FactValue:
    return ", ".join(
        dict.fromkeys(
            f"{m.label} (opioid substitution therapy)" if is_substitution_therapy(m) else m.label
            for m in s.any_opioids
        )
    )


@fact(
    "sedative_names",
    "text",
    None,
    "The benzodiazepines or Z-drugs current or proposed.",
    max_chars=40,
)
def _sedative_names(s: Situation) -> FactValue:
    return names(s.sedatives)


@fact("gabapentinoid_names", "text", None, "The gabapentinoids current or proposed.", max_chars=40)
def _gabapentinoid_names(s: Situation) -> FactValue:
    return names(s.gabapentinoids)


def names(items: Iterable[MedicationOme]) -> str:
    return ", ".join(dict.fromkeys(m.label for m in items))
