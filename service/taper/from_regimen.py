"""From assessed medicines (``MedicationOme``) to a tapering plan, and the plan's first step
as an update of the draft order."""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from datetime import date
from typing import Any
from urllib.parse import urlencode

from service.dosing.daily import DailyAmount, structured_doses_by_time
from service.dosing.sig_text import SigDose, parse_sig
from service.dosing.units import dose_unit, hours
from service.fhir.systems import DMD, UCUM
from service.medicines.dictionary import MedicinesDictionary
from service.medicines.model import IngredientClass
from service.ome.calculate import MedicationOme, Status
from service.taper.options import Option, Part, change_timing, family_for
from service.taper.planner import MedicineToTaper, StepMedicine, TaperPlan, plan_taper
from service.taper.settings import Pace, TaperSettings


def plan_for(
    items: Sequence[MedicationOme],
    pace: Pace,
    start: date,
    dictionary: MedicinesDictionary,
    settings: TaperSettings,
    *,
    floor_mg_per_day: float = 0.0,
) -> TaperPlan:
    medicines: list[MedicineToTaper] = []
    not_planned: list[tuple[str, str]] = []
    fixed = 0.0
    labels = _labels(items)
    for item in items:
        product = item.product
        if product is None and item.status is Status.UNRESOLVED:
            # Unidentified but possibly an opioid: say so rather than plan around it.
            not_planned.append((item.label, item.reason or "it could not be identified"))
            continue
        if product is None or not product.has_class(IngredientClass.OPIOID):
            continue
        if item.status is not Status.CALCULATED or item.daily is None:
            not_planned.append((item.label, item.reason or "its dose is not known"))
            continue
        if len(item.ingredients) != 1:
            not_planned.append((item.label, "products with two opioids are tapered by hand"))
            fixed += item.ome_mg_per_day or 0.0
            continue
        part = item.ingredients[0]
        units = item.daily.amount if item.daily.unit == "unit" else None
        family = family_for(
            product,
            part.ingredient,
            part.amount,
            units,
            item.daily.as_needed,
            dictionary,
            settings,
            uneven_split(item),
            ordered_change_hours(item) if product.is_patch else None,
        )
        if isinstance(family, str):
            not_planned.append((item.label, family))
            fixed += item.ome_mg_per_day or 0.0
            continue
        medicines.append(
            MedicineToTaper(labels[id(item)], part.ingredient, part.factor, family, part.amount)
        )
    return plan_taper(
        medicines,
        pace,
        start,
        settings.order,
        floor_mg_per_day=floor_mg_per_day,
        fixed_ome_mg_per_day=fixed,
        not_planned=not_planned,
        max_step_percent=settings.max_step_percent,
    )


#: Times of day in the order they come, for telling a morning dose from a night one.
_DAY_ORDER = {"morning": 8, "midday": 12, "evening": 18, "night": 22}


def uneven_split(item: MedicationOme) -> tuple[float, float] | None:
    """(morning, night) mg of a twice-daily modified-release dose given unevenly, in its
    dosage text ("30mg in the morning and 60mg at night") or in two structured dosage lines
    (``when`` MORN / NIGHT, or ``timeOfDay`` 08:00 / 20:00, doses 30 and 60 mg; issue 18);
    None for anything else (an even split, stages, when required), planned as balanced."""
    product, daily = item.product, item.daily
    if product is None or daily is None or daily.as_needed or not product.modified_release:
        return None
    if not item.record.dosages or len(item.ingredients) != 1:
        return None
    by_time: tuple[tuple[str, float], ...]
    structured = structured_doses_by_time(item.record)
    if structured:
        by_time = tuple((time, dose) for time, dose, _ in structured)
        unit = structured[0][2]
    else:
        if len(item.record.dosages) != 1:
            return None
        dosage = item.record.dosages[0]
        if dosage.has_structure or not dosage.text:
            return None
        sig = parse_sig(dosage.text)
        if not isinstance(sig, SigDose) or sig.stages != 1:
            return None
        by_time, unit = sig.doses_by_time, sig.unit
    if len(by_time) != 2:
        return None
    times = [_hour(name) for name, _ in by_time]
    if None in times or times[0] == times[1]:
        return None
    first, second = sorted(by_time, key=lambda t: _hour(t[0]) or 0)
    part = item.ingredients[0]
    strength = next((i.strength for i in product.opioids if i.name == part.ingredient), None)
    if unit == "mg":
        per = 1.0
    elif unit == "unit" and strength is not None and strength.per_unit == "unit":
        per = strength.mg_per_one
    else:
        return None
    split = (first[1] * per, second[1] * per)
    if abs(sum(split) - part.amount) > 1e-6 or abs(split[0] - split[1]) < 1e-6:
        return None
    return split


def ordered_change_hours(item: MedicationOme) -> int | None:
    """How often a patch order says the patch is changed, in whole hours: a structured
    ``timing.repeat`` (period / periodUnit over frequency: every 72 hours, 2 a week) or, for
    a line with no period, its text ("every 3 days", "twice a week"). None when the order
    does not say, or its lines disagree: the planner then takes ``rules/taper.yaml``.

    A line dosed as a rate (micrograms/hour) "once a day" says nothing about changes: the
    rate is the daily figure however often the patch is changed (ome-reference.md §6), and
    the plan link sends a patch so (``plan_query``)."""
    intervals: set[float] = set()
    for dosage in item.record.dosages:
        if dosage.period is not None:
            every = hours(dosage.period, dosage.period_unit or "d")
            if every is None or every <= 0:
                return None
            every /= dosage.frequency or 1.0
            rate = dosage.dose_high is not None and dose_unit(dosage.dose_high) == (
                "microgram/hour"
            )
            if rate and abs(every - 24) < 1e-6:
                continue
            intervals.add(every)
            continue
        for text in (dosage.text, dosage.patient_instruction):
            sig = parse_sig(text) if text else None
            if isinstance(sig, SigDose) and sig.interval_hours:
                intervals.add(sig.interval_hours)
                break
    if len(intervals) != 1:
        return None
    every = intervals.pop()
    return round(every) if abs(every - round(every)) < 1e-6 and every >= 1 else None


def _hour(name: str) -> int | None:
    if name in _DAY_ORDER:
        return _DAY_ORDER[name]
    hour, _, _ = name.partition(":")
    return int(hour) if hour.isdigit() else None


def _labels(items: Sequence[MedicationOme]) -> dict[int, str]:
    """A unique label per item: the planner keys medicines by label. When two records share
    a name (the same product regular and when required), each gets its dose, so none keeps
    the plain name and ``first_step_actions`` cannot mistake one for the other."""
    count: dict[str, int] = {}
    for item in items:
        count[item.label] = count.get(item.label, 0) + 1
    out: dict[int, str] = {}
    used: set[str] = set()
    for item in items:
        label = item.label
        if count[label] > 1:
            label = f"{label} ({item.daily.description if item.daily else 'dose not known'})"
        unique, n = label, 2
        while unique in used:
            unique, n = f"{label} [{n}]", n + 1
        used.add(unique)
        out[id(item)] = unique
    return out


def first_step_actions(plan: TaperPlan, proposed: Sequence[MedicationOme]) -> list[dict[str, Any]]:
    """CDS Hooks actions that turn the draft order into the plan's first step: the draft is
    updated to the first product of that step, and an order is created for each other
    product (a suggestion's actions are applied together). Empty when the first step does
    not change the proposed medicine."""
    if len(plan.steps) < 2:
        return []
    step = plan.steps[1]
    changed = next((m for m in step.medicines if m.label == step.changed), None)
    draft = next((p for p in proposed if p.label == step.changed and p.record.resource), None)
    if changed is None or draft is None or not changed.option.parts:
        return []
    days = (plan.steps[2].start - step.start).days if len(plan.steps) > 2 else 0
    actions: list[dict[str, Any]] = []
    option = changed.option
    for i, part in enumerate(option.parts):
        resource = copy.deepcopy(draft.record.resource)
        resource["medicationCodeableConcept"] = {
            "coding": [{"system": DMD, "code": part.code, "display": part.name}],
            "text": part.name,
        }
        resource.pop("medicationReference", None)
        share = "" if len(option.parts) == 1 else f"{part_share(option, part)}, as part of: "
        resource["dosageInstruction"] = [_dosage(option, part, f"{share}{changed.how}")]
        resource.pop("dispenseRequest", None)
        if days > 0:
            resource["dispenseRequest"] = {
                "quantity": {"value": option.quantity(part, days)},
                "expectedSupplyDuration": {
                    "value": days,
                    "unit": "days",
                    "system": UCUM,
                    "code": "d",
                },
            }
        if i == 0:
            actions.append(
                {
                    "type": "update",
                    "resource": resource,
                    "description": f"Change the draft to {part.name}: {share}{changed.how}",
                }
            )
        else:
            # A new order continues nothing: it carries no id and no continuation links.
            for key in ("id", "priorPrescription", "basedOn", "groupIdentifier", "identifier"):
                resource.pop(key, None)
            actions.append(
                {
                    "type": "create",
                    "resource": resource,
                    "description": f"Add {part.name} for the first taper step",
                }
            )
    return actions


def part_share(option: Option, part: Part) -> str:
    """One product's share of a dose of several (the card's orders, the CarePlan)."""
    if option.change_hours is not None:
        return f"{part.units:g} at a time"
    return f"{part.units:g} a day"


def _dosage(option: Option, part: Part, text: str) -> dict[str, Any]:
    """The order's dosage. A patch's is structured too: how many are worn at once and how
    often they are changed (every 72 hours, 7 days, twice a week as the order said), never
    "n a day" (issue 18)."""
    if option.change_hours is None:
        return {"text": text}
    return {
        "text": text,
        "timing": {"repeat": change_timing(option.change_hours)},
        "doseAndRate": [
            {
                "doseQuantity": {
                    "value": part.units,
                    "unit": "patch",
                    "system": UCUM,
                    "code": "{patch}",
                }
            }
        ],
    }


def plan_query(items: Sequence[MedicationOme], start: date) -> str:
    """Query string for ``GET /taper/plan`` that re-creates the regimen the card planned:
    each calculated opioid as ``item=<system>|<code>|<amount>|<unit>[|prn][|every=<n>h]``
    (``every``: a patch order's stated change interval), in the amount
    the planner starts from (``link_amount``; an uneven twice-daily dose as "30+60" mg), so
    the linked plan is the card's plan."""
    params = [("start", start.isoformat())]
    for item in items:
        product, daily = item.product, item.daily
        if product is None or daily is None or item.status is not Status.CALCULATED:
            continue
        if not product.has_class(IngredientClass.OPIOID) or product.system == "name":
            continue
        split = uneven_split(item)
        amount, unit = link_amount(item, daily)
        # An uneven twice-daily dose travels as "morning+night" mg, so the link keeps it.
        dose = f"{split[0]:g}+{split[1]:g}" if split else f"{amount:g}"
        value = f"{product.system}|{product.code}|{dose}|{'mg' if split else unit}"
        value += "|prn" if daily.as_needed else ""
        # A patch order's own change interval travels too, so the linked plan changes the
        # patch as the card's plan does (issue 18).
        every = ordered_change_hours(item) if product.is_patch else None
        value += f"|every={every}h" if every else ""
        params.append(("item", value))
    return urlencode(params)


def link_amount(item: MedicationOme, daily: DailyAmount) -> tuple[float, str]:
    """What the plan link says of a dose: a patch as its rate in micrograms/hour (the planner's
    amount, however often it is changed: "1 unit a day" read back as a once-daily dose
    planned a different taper, issue 18); anything else as the daily amount recorded."""
    product = item.product
    if product is not None and product.is_patch and len(item.ingredients) == 1:
        part = item.ingredients[0]
        if part.amount_unit == "microgram/hour":
            return part.amount, "microgram/hour"
    return daily.amount, daily.unit


def named_how(medicine: StepMedicine) -> str:
    """How to take a step's medicine, naming the medicine: modified-release doses ("one 30mg
    tablet twice a day") and "as now" do not, and two opioids may share a strength."""
    if medicine.label in medicine.how:
        if medicine.how.startswith("stop "):  # "stop Oxycodone 40mg": not the 40mg any more
            return medicine.how.replace(medicine.label, _STRENGTH.sub("", medicine.label))
        return medicine.how  # a patch's how names the products it uses
    # The step's own tablets are in ``how`` ("one 30mg tablet + one 5mg tablet"): under the
    # started product's strength ("Oxycodone 40mg ...: one 30mg tablet") the row would name a
    # tablet the step does not use (issue 11), so the strength is left out of the name.
    return f"{_STRENGTH.sub('', medicine.label)}: {medicine.how}"


#: A strength in a dm+d-style name: "40mg", "12micrograms/hour", "10mg/5ml", "30mg/500mg".
_STRENGTH = re.compile(
    r"\s\d+(?:\.\d+)?(?:mg|micrograms|microgram|g|ml)(?:/(?:\d+(?:\.\d+)?)?\w+)*(?=\s|$)"
)


def pace_words(plan: TaperPlan) -> str:
    """The pace as the steps keep it: real doses rarely make exactly the agreed percentage,
    so the words give the steps' own sizes too (issue 18: "10%" over steps of 6.25%)."""
    start = plan.steps[0].total_ome_mg_per_day
    sizes = sorted({round(s.reduction_mg_per_day / start * 100, 2) for s in plan.steps[1:]})
    if not sizes or start <= 0:
        return plan.pace.describe()
    if sizes == [round(plan.pace.reduction_percent, 2)]:
        return plan.pace.describe()
    each = f"{sizes[0]:g}%" if len(sizes) == 1 else f"{sizes[0]:g}% to {sizes[-1]:g}%"
    longer = ", a larger step waiting longer" if any(s.note for s in plan.steps[1:]) else ""
    return f"at most {plan.pace.describe()}; steps of {each} of the starting dose{longer}"


def plan_markdown(plan: TaperPlan, first: int = 3) -> str:
    """The first steps, for a card's detail. Each step's size and any note (a longer wait,
    a step above the maximum) go in the table, so the words match the steps (issue 18)."""
    start = plan.steps[0].total_ome_mg_per_day
    exact = all(
        abs(s.reduction_mg_per_day / start * 100 - plan.pace.reduction_percent) < 0.005
        for s in plan.steps[1:]
    )
    pace = plan.pace.describe() if exact else f"at most {plan.pace.describe()}"
    lines = [f"**Proposed taper** ({pace}):", ""]
    lines += [
        "| Step | From | Total OME mg/day | Reduction | Change |",
        "|---|---|---|---|---|",
    ]
    for step in plan.steps[1 : first + 1]:
        changed = next(m for m in step.medicines if m.label == step.changed)
        size = f"{round(step.reduction_mg_per_day / start * 100, 2):g}% of the start"
        note = f"; {step.note}" if step.note else ""
        lines.append(
            f"| {step.number} | {step.start.isoformat()} | {step.total_ome_mg_per_day:g} | "
            f"{size} | {named_how(changed)}{note} |"
        )
    remaining = len(plan.steps) - 1 - first
    if remaining > 0:
        lines.append(
            f"| … | {plan.end_date.isoformat()} | {plan.final_total:g} | | {remaining} more steps |"
        )
    if plan.review is not None:
        lines.append(f"\nThen {plan.review[1]}.")
    if plan.steps[0].note:  # how the order was read, e.g. its patch change interval
        lines.append(f"\nNote: {plan.steps[0].note}.")
    for label, why in plan.not_planned:
        lines.append(f"\nNot in the plan: {label} ({why}).")
    return "\n".join(lines)
