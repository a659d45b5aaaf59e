"""The daily amount of a product a prescription allows, at most.

Order of evidence (issue #3; ome-reference.md §6):
1. the structured FHIR Dosage (R4 ``doseAndRate`` or STU3 ``doseQuantity``; ``doseRange``
   taking the high end; ``frequencyMax`` over ``frequency``; ``period`` — the shortest
   interval — over ``periodMax``; ``timeOfDay`` / ``when`` counts; ``maxDosePerPeriod``;
   ``rateQuantity`` / ``rateRatio`` for infusions and syringe drivers);
2. the free-text instruction (``service.dosing.sig_text``);
3. the quantity supplied divided by the expected supply duration.
1 and 2 apply to each dosage line in turn; concurrent lines add up and sequential ones
(``sequence``) give the highest day. Anything that cannot be computed is ``NotDosed`` with
the reason — never a zero.

When-required doses count at the maximum the prescription allows and are labelled
``as_needed`` (cqframework counts PRN at maximum; ome-reference.md §6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from service.dosing.sig_text import SigDose, parse_sig
from service.dosing.units import PRODUCT_UNIT, dose_unit, hours, to_base
from service.fhir.medication_record import Dosage, MedicationRecord, Quantity

#: parse_sig is pure and GP sigs repeat endlessly ("one twice a day"): parse each text once.
_parse_sig = lru_cache(maxsize=100_000)(parse_sig)

HOURS_PER_DAY = 24.0


@dataclass(frozen=True, slots=True)
class DailyAmount:
    """At most ``amount`` ``unit`` per day (mg, ml, microgram/hour or product units)."""

    amount: float
    unit: str
    as_needed: bool
    #: "structured dosage" | "dosage text" | "quantity and supply duration", or lines of
    #: both kinds together ("structured dosage and dosage text").
    basis: str
    description: str
    #: Product units applied at once (patches worn together); None when not stated.
    per_administration: float | None = None


@dataclass(frozen=True, slots=True)
class NotDosed:
    reason: str


def daily_amount(
    record: MedicationRecord,
    *,
    use_stated_maximum: bool = True,
    max_administrations_per_day: float | None = None,
) -> DailyAmount | NotDosed:
    """``use_stated_maximum``: whether a stated daily maximum ("max 8 in 24 hours",
    ``maxDosePerPeriod``) caps the count; a profile setting (``rules/ome/profiles.yaml``).
    ``max_administrations_per_day``: a dosage given more often than this is a recording
    error, not a dose (``implausible_administrations_per_day`` in rules/parameters.yaml).

    Each dosage line is read from its structure, else from its own text; every line counts
    (a second line is a second instruction, not a restatement of the first)."""
    reasons: list[str] = []
    lines = [(i, d) for i, d in enumerate(record.dosages, start=1) if _has_instruction(d)]
    if lines:
        result = _finite(_from_lines(lines, use_stated_maximum, max_administrations_per_day))
        if isinstance(result, DailyAmount) or result.reason.startswith("implausible"):
            return result
        reasons.append(result.reason)
    supply = _finite(_from_supply(record))
    if isinstance(supply, DailyAmount):
        return supply
    if not reasons:
        reasons.append("no dosage instruction")
    reasons.append(supply.reason)
    return NotDosed("; ".join(reasons))


def _finite(result: DailyAmount | NotDosed) -> DailyAmount | NotDosed:
    """Finite inputs can still overflow (1e308 mg twice a day): that is no daily amount."""
    if isinstance(result, DailyAmount) and not math.isfinite(result.amount):
        return NotDosed(
            "implausible: the daily amount is too large to be a dose (check the record)"
        )
    return result


def _texts(dosage: Dosage) -> list[str]:
    texts = (dosage.text, dosage.patient_instruction)
    return [t for t in texts if t is not None and t.strip()]


def _has_instruction(dosage: Dosage) -> bool:
    return dosage.has_structure or bool(_texts(dosage))


def _from_lines(
    lines: list[tuple[int, Dosage]], use_cap: bool, ceiling: float | None = None
) -> DailyAmount | NotDosed:
    """Lines with the same ``sequence`` (or none) run together and add up; different
    sequence numbers follow one another, so the day that allows most counts (FHIR R4
    Dosage.sequence)."""
    groups: dict[int | None, list[DailyAmount]] = {}
    for number, dosage in lines:
        one = _one_line(dosage, use_cap, ceiling)
        if isinstance(one, NotDosed):
            prefix = f"dosage line {number}: " if len(lines) > 1 else ""
            return NotDosed(prefix + one.reason)
        groups.setdefault(dosage.sequence, []).append(one)
    totals = [_add(group) for group in groups.values()]
    if any(isinstance(t, NotDosed) for t in totals):
        return next(t for t in totals if isinstance(t, NotDosed))
    amounts = [t for t in totals if isinstance(t, DailyAmount)]
    if len({a.unit for a in amounts}) > 1:
        return NotDosed("sequential dosage lines use different units")
    return max(amounts, key=lambda a: a.amount)


def _one_line(dosage: Dosage, use_cap: bool, ceiling: float | None) -> DailyAmount | NotDosed:
    """One dosage line: its structured dose, else its text, else its patient instruction.
    A reading that is implausibly frequent is refused outright, not passed over for the
    text: the record itself needs checking (issue 9 item 7)."""
    reasons: list[str] = []
    if dosage.has_structure:
        per_day = _administrations_per_day(dosage) if dosage.rate is None else None
        implausible = _implausibly_often(per_day, ceiling)
        if implausible is not None:
            return implausible
        one = _one_dosage(dosage, use_cap)
        if isinstance(one, DailyAmount):
            return one
        reasons.append(one.reason)
    for text in _texts(dosage):
        sig = _parse_sig(text)
        if isinstance(sig, SigDose):
            implausible = _implausibly_often(sig.administrations_per_day, ceiling)
            return implausible if implausible is not None else _from_sig(sig, use_cap)
        reasons.append(f"dosage text: {sig.reason}")
    return NotDosed("; ".join(reasons))


def _implausibly_often(per_day: float | None, ceiling: float | None) -> NotDosed | None:
    if per_day is None or ceiling is None or per_day <= ceiling:
        return None
    return NotDosed(
        f"implausible: {_num(per_day)} doses a day is more than the plausible "
        f"{_num(ceiling)} (check the record)"
    )


# -- structured -------------------------------------------------------------------------


def _add(lines: list[DailyAmount]) -> DailyAmount | NotDosed:
    if len({a.unit for a in lines}) > 1:
        return NotDosed("dosage lines use different units")
    if len(lines) == 1:
        return lines[0]
    bases = list(dict.fromkeys(a.basis for a in lines))
    return DailyAmount(
        amount=sum(a.amount for a in lines),
        unit=lines[0].unit,
        as_needed=any(a.as_needed for a in lines),
        basis=" and ".join(bases),
        description=" and ".join(a.description for a in lines),
        per_administration=max((a.per_administration or 0) for a in lines) or None,
    )


def _one_dosage(d: Dosage, use_cap: bool) -> DailyAmount | NotDosed:
    if d.rate is not None:
        return _from_rate(d.rate, d.rate_per)
    if d.dose_high is None:
        return NotDosed("structured dosage has timing but no dose")
    unit = dose_unit(d.dose_high)
    if unit is None:
        return NotDosed(f"unrecognised dose unit {d.dose_high.code or d.dose_high.unit!r}")
    dose, unit = to_base(d.dose_high.value, unit)
    per_day = _administrations_per_day(d)
    if unit == "microgram/hour":
        # A patch's release rate, worn continuously: the rate itself is the daily figure,
        # however often the patch is changed (ome-reference.md §6). Not rate x changes/day.
        return DailyAmount(
            amount=dose,
            unit=unit,
            as_needed=d.as_needed,
            basis="structured dosage",
            description=_describe(d, dose, unit, per_day, None),
        )
    cap = _max_per_day(d, unit)
    if isinstance(cap, NotDosed):
        return cap
    if not use_cap and per_day is not None:
        cap = None
    if per_day is None and cap is None:
        return NotDosed("structured dosage has a dose but no frequency or maximum")
    if per_day is None:
        amount = cap if cap is not None else 0.0
    else:
        amount = dose * per_day if cap is None else min(dose * per_day, cap)
    if amount <= 0:
        return NotDosed("structured dosage gives no positive daily amount")
    return DailyAmount(
        amount=amount,
        unit=unit,
        as_needed=d.as_needed,
        basis="structured dosage",
        description=_describe(d, dose, unit, per_day, cap),
        per_administration=dose if unit == "unit" else None,
    )


def _administrations_per_day(d: Dosage) -> float | None:
    frequency = d.frequency_max if d.frequency_max is not None else d.frequency
    if d.period is not None:
        period_hours = hours(d.period, d.period_unit or "d")
        if period_hours is None or period_hours <= 0:
            return None
        per_day = (frequency if frequency is not None else 1.0) * HOURS_PER_DAY / period_hours
        # 0 x a period of 1e-320 s is NaN: no count at all (an infinity is kept: the
        # plausibility ceiling and _finite refuse it by name). Issue 12.
        return None if math.isnan(per_day) else per_day
    if frequency is not None and d.period_unit is None:
        return None  # "3 times" per what?
    count = d.time_of_day_count or d.when_count
    return float(count) if count else None


def _max_per_day(d: Dosage, unit: str) -> float | NotDosed | None:
    if d.max_dose_per_period is None:
        return None
    numerator, denominator = d.max_dose_per_period
    num_unit = dose_unit(numerator)
    if num_unit is None:
        return NotDosed(f"unrecognised maximum dose unit {numerator.code or numerator.unit!r}")
    value, num_unit = to_base(numerator.value, num_unit)
    if num_unit != unit:
        return NotDosed("maximum dose and dose use different units")
    period_hours = hours(denominator.value, denominator.code or denominator.unit or "d")
    if period_hours is None or period_hours <= 0:
        return NotDosed("unrecognised maximum dose period")
    return value * HOURS_PER_DAY / period_hours


def _from_rate(rate: Quantity, per: Quantity | None) -> DailyAmount | NotDosed:
    """Infusions and syringe drivers: "30 mg over 24 hours" (rateRatio) or "1.25 mg/h"."""
    if per is not None:
        unit = dose_unit(rate)
        per_hours = hours(per.value, per.code or per.unit)
        if unit is None or per_hours is None or per_hours <= 0:
            return NotDosed("unrecognised infusion rate")
        return _continuous(rate.value, unit, per_hours, f"over {_num(per_hours)} hours")
    text = (rate.code or rate.unit or "").lower().replace(" ", "")
    if "/" in text:
        num, _, den = text.partition("/")
        unit = dose_unit(Quantity(value=rate.value, code=num))
        per_hours = hours(1.0, den) if den else None
        if unit is not None and per_hours:
            return _continuous(rate.value, unit, per_hours, f"/{den} continuously")
    return NotDosed(f"unrecognised rate unit {rate.code or rate.unit!r}")


def _continuous(value: float, unit: str, per_hours: float, how: str) -> DailyAmount:
    """``value`` ``unit`` every ``per_hours`` hours, continuously, as a daily amount."""
    amount, unit = to_base(value, unit)
    separator = "" if how.startswith("/") else " "
    return DailyAmount(
        amount=amount * HOURS_PER_DAY / per_hours,
        unit=unit,
        as_needed=False,
        basis="structured dosage",
        description=f"{_num(amount)} {unit}{separator}{how}",
    )


def _describe(d: Dosage, dose: float, unit: str, per_day: float | None, cap: float | None) -> str:
    word = _word(unit) or _count_word(d.dose_high) or PRODUCT_UNIT
    what = f"{_num(dose)} {word}".strip()
    low, high = d.dose_low, d.dose_high
    if low is not None and high is not None and low.value != high.value:
        what = f"{_num(low.value)}-{what}"
    parts = [what]
    if per_day is not None:
        parts.append(_how_often(per_day))
    if d.as_needed:
        parts.append("when required")
    if cap is not None:
        parts.append(f"max {_num(cap)} {_word(unit)} a day".replace("  ", " "))
    return ", ".join(parts)


#: FHIR ``Timing.repeat.when`` codes (event-timing value set) read as a time of day, named as
#: ``sig_text`` names them ("morning", "night"): meal codes by the meal they go with.
_WHEN_TIMES = {
    "MORN": "morning",
    "MORN.early": "morning",
    "MORN.late": "morning",
    "WAKE": "morning",
    "CM": "morning",
    "ACM": "morning",
    "PCM": "morning",
    "NOON": "midday",
    "CD": "midday",
    "ACD": "midday",
    "PCD": "midday",
    "EVE": "evening",
    "EVE.early": "evening",
    "EVE.late": "evening",
    "CV": "evening",
    "ACV": "evening",
    "PCV": "evening",
    "NIGHT": "night",
    "HS": "night",
}


def structured_doses_by_time(record: MedicationRecord) -> tuple[tuple[str, float, str], ...]:
    """Doses given by time of day in structured dosage lines, as ``SigDose.doses_by_time``
    gives them for text (issue 18): ((time, dose, unit), ...) in line order, the time a
    ``sig_text`` name ("morning", "night") or "HH:MM" from ``timeOfDay``, the dose in mg,
    ml or product units. Only when every line runs concurrently (one ``sequence``, or
    none), is regular, gives one dose once a day at exactly one time; else empty.

    The parsed ``Dosage`` keeps only how many times a line names, so the times are read
    from the resource as sent, whose dosage lines ``read_medication_record`` keeps in order
    (``dosageInstruction`` then ``dosage``)."""
    raw: list[object] = []
    for key in ("dosageInstruction", "dosage"):
        lines = record.resource.get(key)
        if isinstance(lines, list):
            raw.extend(lines)
    if len(raw) != len(record.dosages) or len(raw) < 2:
        return ()
    if len({d.sequence for d in record.dosages}) != 1:
        return ()
    out: list[tuple[str, float, str]] = []
    for d, source in zip(record.dosages, raw, strict=True):
        if d.as_needed or d.rate is not None or d.dose_high is None or not d.has_structure:
            return ()
        if d.dose_low is not None and d.dose_low.value != d.dose_high.value:
            return ()
        if _administrations_per_day(d) != 1.0 or d.time_of_day_count + d.when_count != 1:
            return ()
        time = _time_of(source)
        unit = dose_unit(d.dose_high)
        if time is None or unit is None:
            return ()
        dose, unit = to_base(d.dose_high.value, unit)
        out.append((time, dose, unit))
    if len({unit for _, _, unit in out}) != 1:
        return ()
    return tuple(out)


def _time_of(source: object) -> str | None:
    """The one time a dosage line names: a ``when`` code's name, or ``timeOfDay`` "HH:MM"."""
    if not isinstance(source, dict):
        return None
    timing = source.get("timing")
    repeat = timing.get("repeat") if isinstance(timing, dict) else None
    if not isinstance(repeat, dict):
        return None
    when, times = repeat.get("when") or [], repeat.get("timeOfDay") or []
    if isinstance(when, list) and len(when) == 1 and isinstance(when[0], str):
        return _WHEN_TIMES.get(when[0])
    if isinstance(times, list) and len(times) == 1 and isinstance(times[0], str):
        hour, _, minute = times[0].partition(":")
        if hour.isdigit() and minute[:2].isdigit():
            return f"{int(hour):02d}:{minute[:2]}"
    return None


# -- text and supply --------------------------------------------------------------------


def _from_sig(sig: SigDose, use_cap: bool) -> DailyAmount:
    amount = sig.amount_per_day
    # Only a maximum that bound the count is undone: "1 in the morning and 2 at night" is
    # 3 a day, not its largest dose (2) x 2.
    capped = sig.max_per_day is not None and amount >= sig.max_per_day
    if not use_cap and capped and sig.administrations_per_day is not None:
        amount = max(amount, sig.dose_high * sig.administrations_per_day)
    return DailyAmount(
        amount=amount,
        unit=sig.unit,
        as_needed=sig.as_needed,
        basis="dosage text",
        description=sig.explanation,
        per_administration=sig.dose_high if sig.unit == "unit" else None,
    )


def _from_supply(record: MedicationRecord) -> DailyAmount | NotDosed:
    quantity, days = record.dispense_quantity, record.expected_supply_days
    if quantity is None or not days:
        return NotDosed("no quantity and supply duration to fall back on")
    unit = dose_unit(quantity)
    if unit is None:
        return NotDosed(f"unrecognised quantity unit {quantity.code or quantity.unit!r}")
    value, unit = to_base(quantity.value, unit)
    return DailyAmount(
        amount=value / days,
        unit=unit,
        as_needed=False,
        basis="quantity and supply duration",
        description=f"{_num(value)} {_word(unit)} over {_num(days)} days".replace("  ", " "),
    )


def _how_often(per_day: float) -> str:
    if not math.isfinite(per_day) or per_day <= 0:
        return "at no countable rate"  # only in a description of an unresolved dose
    if per_day >= 1:
        return {1.0: "once a day", 2.0: "twice a day"}.get(per_day, f"{_num(per_day)} times a day")
    days = 1 / per_day
    if not math.isfinite(days):
        return "at no countable rate"
    return (
        f"every {_num(days)} days"
        if abs(days - round(days)) < 0.01
        else (f"every {_num(days * HOURS_PER_DAY)} hours")
    )


def _count_word(quantity: Quantity | None) -> str:
    """The client's own word for a counted unit ("tablet", "patch"), if it gave a plain one."""
    text = (quantity.unit if quantity else None) or ""
    return text if text.isalpha() else ""


def _word(unit: str) -> str:
    """Product units are described by the caller (tablets, patches); others by name."""
    return "" if unit == "unit" else unit


def _num(value: float) -> str:
    if not math.isfinite(value):
        return "too many to count"
    return f"{value:.2f}".rstrip("0").rstrip(".")
