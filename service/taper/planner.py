"""The tapering planner: a schedule of real doses, never increasing, at an agreed pace.

Pace: by default a fixed percentage of the *starting* total daily OME per interval, as
``rules/taper.yaml`` sets it (Faculty of Pain Medicine, via the national review), or a
patient-set percentage and interval. When the smallest real reduction is larger than the
pace allows (the smallest patch is worth more than one step of a small total), the interval
before that step is lengthened so the average pace still holds: no step is ever larger than
the pace over its interval.

Several opioids are tapered one at a time, in the order ``rules/taper.yaml`` gives (when
required, immediate-release, modified-release, patches; smaller contributors first). Each
step lists every medicine, so a step is a complete regimen. The plan ends at zero or at the
agreed floor: the last step keeps the total at or above the floor.

Pure: no I/O and no clock; the start date is an input.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from service.taper.options import Family, Option
from service.taper.settings import Pace

_EPSILON = 1e-6


@dataclass(frozen=True, slots=True)
class MedicineToTaper:
    label: str
    ingredient: str
    factor: float  # mg OME/day per unit of Family.unit
    family: Family
    start_amount: float


@dataclass(frozen=True, slots=True)
class StepMedicine:
    label: str
    ingredient: str
    amount: float
    unit: str
    ome_mg_per_day: float
    how: str
    option: Option


@dataclass(frozen=True, slots=True)
class TaperStep:
    number: int  # 0 is the starting regimen
    start: date
    medicines: tuple[StepMedicine, ...]
    total_ome_mg_per_day: float
    reduction_mg_per_day: float
    changed: str  # the medicine changed at this step, "" for step 0
    #: Why this step waits longer than one interval, or is larger than the maximum step
    #: size: "" when it does neither. Said on the plan (issue 18).
    note: str = ""


@dataclass(frozen=True, slots=True)
class TaperPlan:
    pace: Pace
    floor_mg_per_day: float
    steps: tuple[TaperStep, ...]
    order: tuple[str, ...]  # labels, in the order tapered
    not_planned: tuple[tuple[str, str], ...]  # (label, why)

    @property
    def final_total(self) -> float:
        return self.steps[-1].total_ome_mg_per_day

    @property
    def end_date(self) -> date:
        return self.steps[-1].start

    @property
    def review(self) -> tuple[date, str] | None:
        """A plan that ends at an agreed floor ends with holding it and a review, one
        interval after the last step (issue 18): the floor is a dose to reassess, not a
        silent end. None for a plan that stops."""
        if self.floor_mg_per_day <= 0 or self.final_total <= 0 or len(self.steps) < 2:
            return None  # stopped, or no step (already at or below the floor): as before
        when = self.end_date + timedelta(days=self.pace.interval_days)
        return when, (
            f"hold at {self.final_total:g} mg OME/day (the agreed floor is "
            f"{self.floor_mg_per_day:g}) and review with the patient from {when.isoformat()}"
        )


def plan_taper(
    medicines: Sequence[MedicineToTaper],
    pace: Pace,
    start: date,
    order: Sequence[str],
    *,
    floor_mg_per_day: float = 0.0,
    fixed_ome_mg_per_day: float = 0.0,
    not_planned: Sequence[tuple[str, str]] = (),
    max_step_percent: float = 100.0,
) -> TaperPlan:
    """``fixed_ome_mg_per_day``: opioids that cannot be planned stay in the totals unchanged.
    ``max_step_percent``: no step reduces the total by more than this share of the starting
    total unless no smaller real step exists, and the plan says so on that step.
    Labels must be unique: they key each medicine's current dose."""
    labels = [m.label for m in medicines]
    if len(set(labels)) != len(labels):
        raise ValueError(f"medicines to taper need unique labels: {labels}")
    kinds = {kind: i for i, kind in enumerate(order)}
    ordered = sorted(
        medicines, key=lambda m: (kinds[m.family.kind], _ome(m, m.start_amount), m.label)
    )
    current = {m.label: _starting_option(m) for m in ordered}
    start_total = sum(_ome(m, current[m.label].amount) for m in ordered) + fixed_ome_mg_per_day
    pace_ome = pace.reduction_percent / 100 * start_total
    max_step = max_step_percent / 100 * start_total
    # What the plan must say about how a medicine was read (an order's patch interval that
    # rules/taper.yaml does not give), on the starting step: it holds for the whole plan.
    read = "; ".join(f"{m.label}: {m.family.note}" for m in ordered if m.family.note)
    steps = [_step(0, start, ordered, current, fixed_ome_mg_per_day, 0.0, "", read)]
    day = start
    for medicine in ordered:
        while True:
            now = current[medicine.label]
            total = steps[-1].total_ome_mg_per_day
            allowed = pace_ome
            if pace.slower_below_percent is not None and total <= (
                pace.slower_below_percent / 100 * start_total + _EPSILON
            ):
                allowed *= pace.slower_fraction
            lower = [
                o
                for o in medicine.family.options
                if o.amount < now.amount - _EPSILON
                and now.allows(o)  # no dose time raised, never back to a product left
                and total - _ome(medicine, now.amount - o.amount) >= floor_mg_per_day - _EPSILON
            ]
            if not lower or allowed <= 0:
                break
            drops = {id(o): _ome(medicine, now.amount - o.amount) for o in lower}
            within = [o for o in lower if drops[id(o)] <= allowed + _EPSILON]
            note = ""
            if within:
                # The furthest step the pace allows; on a tie, stay on the same product.
                chosen, intervals = min(within, key=lambda o: (o.amount, o.stage)), 1
            else:
                # The smallest real step (staying on the same product on a tie), waiting
                # long enough that the average pace holds.
                chosen = max(lower, key=lambda o: (o.amount, -o.stage))
                intervals = math.ceil(drops[id(chosen)] / allowed - _EPSILON)
                # Counted as the pace counts them: the first step's count includes the
                # interval ending on the start date.
                note = (
                    f"waits {intervals} intervals: the smallest real step, "
                    f"{drops[id(chosen)]:.3g} mg OME/day, is more than the pace allows in one "
                    f"{pace.interval_days}-day interval"
                )
                if drops[id(chosen)] > max_step + _EPSILON:
                    note += (
                        f", and more than the maximum step ({max_step_percent:g}% of the "
                        "starting dose): no smaller step can be made from real products"
                    )
            # The first reduction starts on the start date unless it must wait longer.
            wait = intervals if len(steps) > 1 else intervals - 1
            day = day + timedelta(days=pace.interval_days * wait)
            current[medicine.label] = chosen
            steps.append(
                _step(
                    len(steps),
                    day,
                    ordered,
                    current,
                    fixed_ome_mg_per_day,
                    drops[id(chosen)],
                    medicine.label,
                    note,
                )
            )
    return TaperPlan(
        pace=pace,
        floor_mg_per_day=floor_mg_per_day,
        steps=tuple(steps),
        order=tuple(m.label for m in ordered),
        not_planned=tuple(not_planned),
    )


def _starting_option(m: MedicineToTaper) -> Option:
    # On a tie, the product worn now (stage 0): 35 micrograms/hour is one 96-hour
    # buprenorphine patch, not 7-day 20 + 15.
    return min(m.family.options, key=lambda o: (abs(o.amount - m.start_amount), o.stage))


def _ome(m: MedicineToTaper, amount: float) -> float:
    return amount * m.factor


def _step(
    number: int,
    day: date,
    ordered: Sequence[MedicineToTaper],
    current: dict[str, Option],
    fixed: float,
    reduction: float,
    changed: str,
    note: str = "",
) -> TaperStep:
    medicines = tuple(
        StepMedicine(
            label=m.label,
            ingredient=m.ingredient,
            amount=current[m.label].amount,
            unit=m.family.unit,
            ome_mg_per_day=round(_ome(m, current[m.label].amount), 1),
            how=current[m.label].how,
            option=current[m.label],
        )
        for m in ordered
    )
    total = round(sum(_ome(m, current[m.label].amount) for m in ordered) + fixed, 1)
    return TaperStep(number, day, medicines, total, round(reduction, 1), changed, note)
