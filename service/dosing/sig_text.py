"""Read a free-text UK dose instruction ("1-2 every 4-6 hours when required, max 8 in 24 hours").

Used when a prescription carries no structured FHIR Dosage. The reader never guesses: every
word must be recognised and every number consumed by a known phrase, otherwise the answer is
``SigUnparsed`` with a reason. Wording that could hide a different amount is declined on
purpose: "as directed", dose changes, days of the week, doses per nostril or per kg, and a
mass tied to a patch (a patch's strength is a rate per hour, not an amount per patch).

How it works: ``sig_words`` normalises the text (lower case, number words to digits, "b.d."
to "bd") and cuts it into phrase tokens (amounts, frequencies, times of day, "max", "when
required", ...). Here the tokens are split into steps at "then" and each step is read into a
daily amount. ``amount_per_day`` is the most the text allows: the high end of any dose range
times the highest frequency (the shortest interval), capped by any stated maximum; doses at
named times of day add up; "every 3 days" or "weekly" give fractions of a dose per day; of
several steps the highest is reported. ``interval_hours`` is set only for interval wording
("every 4 hours", "daily", "every 3 days", "twice a week"), not for "twice a day" or times.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace

from service.dosing.sig_words import (
    IMPLIED_ONE,
    PATCH_RATE,
    SKIP,
    SLOT_TEXT,
    Decline,
    Freq,
    Mark,
    Noun,
    Qty,
    Slot,
    Token,
    fmt,
    normalise,
    tokenize,
)
from service.dosing.units import PRODUCT_UNIT

_MAX_LENGTH = 500  # longer text is not a dose instruction (and bounds the work)


@dataclass(frozen=True, slots=True)
class SigDose:
    """What a dose instruction says, with the daily maximum it allows (see module docstring)."""

    dose_low: float
    dose_high: float
    unit: str  # "mg" | "microgram" | "ml" | "unit" (one of the product's units)
    unit_word: str | None  # tablet, capsule, patch, ...; None for a bare "1"
    administrations_per_day: float | None  # None when continuous or only a 24h max is given
    max_per_day: float | None  # an explicit cap, in `unit`
    amount_per_day: float  # the maximum daily amount the text allows, in `unit`
    as_needed: bool
    continuous: bool
    interval_hours: float | None  # stated interval: "every 72 hours", "daily" (24), "weekly"
    explanation: str
    stages: int = 1  # sequential stages ("... then ...") read; the highest is reported
    #: Doses given by time of day ("1 in the morning and 2 at night"): (time, dose_high in
    #: ``unit``) in the order written; empty when one dose is given for every time. The
    #: tapering planner keeps an uneven split rather than re-splitting it evenly (issue 18).
    doses_by_time: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class SigUnparsed:
    """The text could not be read with confidence; ``reason`` says why."""

    reason: str


# ------------------------------------------------------------------------------ one stage
def _dose_text(q: Qty) -> str:
    amount = fmt(q.low) + (f"-{fmt(q.high)}" if q.high != q.low else "")
    amount = ("up to " if q.upto else "") + amount
    if q.unit in ("mg", "ml"):
        return f"{amount}{q.unit}"
    if q.unit == "microgram":
        return f"{amount} microgram{'s' if q.high != 1 else ''}"
    if q.word is None:
        return f"{amount} {PRODUCT_UNIT}"
    plural = {"patch": "patches", "suppository": "suppositories"}.get(q.word, q.word + "s")
    return f"{amount} {plural if q.high != 1 else q.word}"


def _cap(cap: Qty, dose: Qty) -> float | SigUnparsed:
    """A stated maximum ("max 8 tablets", "max 4 doses", "3.6g") in the dose's unit."""
    if cap.low != cap.high:
        return SigUnparsed("a maximum given as a range")
    if cap.unit == "dose":
        return cap.high * dose.high
    if cap.unit == dose.unit == "unit":
        if cap.word and dose.word and cap.word != dose.word:
            return SigUnparsed(f"a maximum in {cap.word}s for a dose in {dose.word}s")
        return cap.high
    if cap.unit == "unit" and cap.word is None:
        return SigUnparsed("a maximum with no unit for a measured dose (doses or amount?)")
    factors = {("mg", "microgram"): 1000.0, ("microgram", "mg"): 0.001}
    factor = 1.0 if cap.unit == dose.unit else factors.get((cap.unit, dose.unit))
    if factor is None:
        return SigUnparsed(
            f"a maximum in {cap.word or cap.unit} for a dose in {dose.word or dose.unit}"
        )
    return cap.high * factor


def _take_caps(
    tokens: list[Token],
) -> tuple[list[Token], list[Qty], list[Freq]] | SigUnparsed:
    """Remove "max ..." and "up to ..." phrases; return what is left and the caps."""
    rest: list[Token] = []
    caps: list[Qty] = []
    freq_caps: list[Freq] = []
    doses = sum(isinstance(t, Qty) for t in tokens)
    i = 0
    while i < len(tokens):
        t = tokens[i]
        nxt, after = [*tokens[i + 1 : i + 3], SKIP, SKIP][:2]
        per24 = isinstance(after, Freq) and after.per24
        if isinstance(t, Mark) and t.kind in ("max", "max_daily"):
            if isinstance(nxt, Freq):
                freq_caps.append(nxt)
                i += 2
            elif isinstance(nxt, Qty) and (per24 or t.kind == "max_daily"):
                caps.append(nxt)
                i += 3 if per24 else 2
            else:
                return SigUnparsed(f"a maximum ('{t.text}') with no 24-hour period")
            continue
        if isinstance(t, Mark) and t.kind == "upto":
            if isinstance(nxt, Qty) and per24 and doses > 1:  # "1-2, up to 8 a day"
                caps.append(nxt)
                i += 3
            elif isinstance(nxt, Qty):
                rest.append(replace(nxt, upto=True))
                i += 2
            elif isinstance(nxt, Freq):
                rest.append(replace(nxt, text=f"up to {nxt.text}"))
                i += 2
            else:
                return SigUnparsed("'up to' is not followed by a dose or a frequency")
            continue
        rest.append(t)
        i += 1
    return rest, caps, freq_caps


_Pairs = list[tuple[Qty, list[Slot]]]  # each dose with the times of day it is taken


def _pairs(tokens: list[Token]) -> _Pairs | None:
    """ "1 in the morning and 2 at night": each dose followed by its own times of day."""
    pairs: _Pairs = []
    for t in tokens:
        if isinstance(t, Qty):
            pairs.append((t, []))
        elif isinstance(t, Slot):
            if not pairs:
                return None
            pairs[-1][1].append(t)
        elif isinstance(t, Freq):
            return None
    return pairs if all(slots for _, slots in pairs) else None


def _doses(tokens: list[Token], previous: Qty | None) -> _Pairs | SigUnparsed:
    """The dose (or doses, one per time of day) of a stage."""
    qtys = [t for t in tokens if isinstance(t, Qty)]
    slots = [t for t in tokens if isinstance(t, Slot)]
    nouns = {t.word for t in tokens if isinstance(t, Noun) and not t.plural}
    if len(qtys) > 1:
        pairs = _pairs(tokens)
        if pairs is None:
            return SigUnparsed("more than one dose in one instruction")
    elif qtys:
        pairs = [(qtys[0], slots)]
    elif len(nouns) == 1 and nouns <= IMPLIED_ONE:  # "change patch twice a week"
        pairs = [(Qty(1.0, 1.0, "unit", nouns.pop()), slots)]
    elif previous is not None:  # "... then three times a day": the same dose
        pairs = [(previous, slots)]
    else:
        return SigUnparsed("no dose stated")
    if len({q.unit for q, _ in pairs}) > 1 or len({q.word for q, _ in pairs} - {None}) > 1:
        return SigUnparsed("doses in different units")
    if pairs[0][0].unit == "dose":
        return SigUnparsed("a dose counted in 'doses' has no size")
    if any(q.low <= 0 for q, _ in pairs):
        return SigUnparsed("a dose of zero")
    return pairs


def _slot_names(pairs: _Pairs) -> list[str] | SigUnparsed:
    names = [s.name for _, slots in pairs for s in slots]
    if len(pairs) == 1:  # one dose: "every night at bedtime" names the night once
        names = list(dict.fromkeys(names))
    if len(set(names)) != len(names):
        return SigUnparsed("a time of day given twice")
    if any(":" in n for n in names) and any(":" not in n for n in names):
        return SigUnparsed("times of day given both by name and by clock")
    return names


def _is_continuous(kinds: set[str], freqs: list[Freq]) -> bool:
    """Syringe driver wording, or "over 24 hours" that is not restating a day of doses
    ("30mg over 24 hours" is continuous; "30mg four times a day over 24 hours" is not)."""
    restated = "cont" not in kinds and any(f.per_day >= 1 and not f.per24 for f in freqs)
    return "cont" in kinds or ("over24" in kinds and not restated)


def _schedule(
    kinds: set[str], freqs: list[Freq], names: list[str], staged: bool
) -> tuple[float | None, float | None, str] | SigUnparsed:
    """Administrations per day, stated interval and a phrase, from the frequency wording."""
    if len(freqs) > 1:
        return SigUnparsed(f"more than one frequency: '{freqs[0].text}' and '{freqs[1].text}'")
    freq = freqs[0] if freqs else None
    slot_text = " and ".join(SLOT_TEXT.get(n, f"at {n}") for n in names)
    if _is_continuous(kinds, freqs):
        if "over24" not in kinds and not (freq and freq.per24):
            return SigUnparsed("a continuous infusion with no 24-hour duration")
        if (freq and not freq.per24) or names or kinds & {"prn", "oneoff"}:
            return SigUnparsed("a continuous infusion with a separate frequency")
        return None, None, "over 24 hours (continuous)"
    if "oneoff" in kinds:
        if freq or names:
            return SigUnparsed("a single dose with a frequency")
        if staged:  # "10mg stat then 5mg every 4 hours": the first day holds both
            return SigUnparsed("a single dose followed by other steps: the first day is not read")
        return 1.0, None, "as a single dose"
    if freq:
        if names and len(names) != freq.per_day and not (len(names) == 1 and freq.per_day <= 1):
            return SigUnparsed(f"'{freq.text}' does not match '{slot_text}'")
        return freq.per_day, freq.interval, freq.text
    if names:
        return float(len(names)), None, slot_text
    return None, None, ""


def _read_stage(
    tokens: list[Token], previous: Qty | None, staged: bool
) -> tuple[SigDose, Qty] | SigUnparsed:
    kinds = {t.kind for t in tokens if isinstance(t, Mark)}
    if "initially" in kinds and not staged:
        return SigUnparsed("'initially' with no later stage")
    taken = _take_caps(tokens)
    if isinstance(taken, SigUnparsed):
        return taken
    tokens, caps, freq_caps = taken
    pairs = _doses(tokens, previous)
    if isinstance(pairs, SigUnparsed):
        return pairs
    dose = pairs[0][0]
    patch = "apply" in kinds or any(isinstance(t, Noun) and t.word == "patch" for t in tokens)
    if dose.unit in ("mg", "microgram") and patch:
        return SigUnparsed(PATCH_RATE)
    if "adjust" in kinds and dose.low == dose.high:
        return SigUnparsed("a dose 'adjusted according to response' with no upper limit")
    names = _slot_names(pairs)
    if isinstance(names, SigUnparsed):
        return names
    freqs = [t for t in tokens if isinstance(t, Freq)]
    schedule = _schedule(kinds, freqs, names, staged)
    if isinstance(schedule, SigUnparsed):
        return schedule
    admin, interval, when = schedule
    if dose.unit in ("mg", "microgram") and interval is not None and 72 <= interval <= 168:
        # patch-change intervals: "25 micrograms every 72 hours" is probably a patch's rate
        return SigUnparsed(f"a mass every {fmt(interval)} hours may be a patch strength (per hour)")
    continuous = _is_continuous(kinds, freqs)
    if freq_caps and not continuous:  # "max 4 times a day": a cap on administrations
        slowest = min(freq_caps, key=lambda f: f.per_day)
        admin = slowest.per_day if admin is None else min(admin, slowest.per_day)
        caps.append(Qty(slowest.per_day, slowest.per_day, "dose", None))
        when = when or f"up to {slowest.text}"
    elif freq_caps:
        return SigUnparsed("a continuous infusion with a separate frequency")

    limits = [_cap(c, dose) for c in caps]
    for limit in limits:
        if isinstance(limit, SigUnparsed):
            return limit
    max_per_day = min((x for x in limits if isinstance(x, float)), default=None)
    if continuous:
        amount = dose.high
    elif admin is not None:  # doses at named times add up; otherwise dose x frequency
        amount = sum(q.high * len(s) for q, s in pairs) if len(pairs) > 1 else dose.high * admin
    elif max_per_day is not None:
        amount = max_per_day
    elif "prn" in kinds:
        return SigUnparsed("when required with no frequency and no maximum gives no daily maximum")
    else:
        return SigUnparsed("no frequency stated")
    amount = amount if max_per_day is None else min(amount, max_per_day)
    if not (math.isfinite(amount) and amount > 0):
        return SigUnparsed("the daily amount is not a positive number")

    if len(pairs) > 1:
        phrase = " + ".join(
            f"{_dose_text(q)} {' and '.join(SLOT_TEXT.get(s.name, f'at {s.name}') for s in ss)}"
            for q, ss in pairs
        )
    else:
        comma = "," if dose.unit == "unit" and not dose.word and when[:1].isdigit() else ""
        phrase = f"{_dose_text(dose)}{comma} {when}".strip()
    phrase += " when required" if "prn" in kinds else ""
    phrase += "" if max_per_day is None else f", max {fmt(max_per_day)} in 24 hours"
    reading = SigDose(
        dose_low=min(q.low for q, _ in pairs),
        dose_high=max(q.high for q, _ in pairs),
        unit=dose.unit,
        unit_word=next((q.word for q, _ in pairs if q.word), None),
        administrations_per_day=admin,
        max_per_day=max_per_day,
        amount_per_day=amount,
        as_needed="prn" in kinds,
        continuous=continuous,
        interval_hours=interval,
        explanation=phrase,
        doses_by_time=tuple((x.name, q.high) for q, ss in pairs for x in ss)
        if len(pairs) > 1 and admin is not None and not continuous
        else (),
    )
    return reading, dose


# ------------------------------------------------------------------------------- public API
def parse_sig(text: str) -> SigDose | SigUnparsed:
    """Read a free-text dose instruction; decline (``SigUnparsed``) rather than guess."""
    if len(text) > _MAX_LENGTH:
        return SigUnparsed(f"text longer than {_MAX_LENGTH} characters")
    tokens = tokenize(normalise(text))
    directed = next((t for t in tokens if isinstance(t, Mark) and t.kind == "directed"), None)
    if directed is not None:
        has_dose = any(isinstance(t, Qty) for t in tokens)
        effect = "allows a dose other than the one written" if has_dose else "gives no dose"
        return SigUnparsed(f"'{directed.text}' {effect}")
    declined = next((t for t in tokens if isinstance(t, Decline)), None)
    if declined is not None:
        return SigUnparsed(declined.reason)

    for first, second in itertools.pairwise(tokens):
        if isinstance(first, Slot) and isinstance(second, Slot) and first.name != second.name:
            # "1 in the evening at bedtime" is one moment, not two doses
            return SigUnparsed("two times of day with no 'and' between them")
    tokens = [t for t in tokens if not (isinstance(t, Mark) and t.kind == "and")]
    if not tokens:
        return SigUnparsed("no dose instruction")
    stages: list[list[Token]] = [[]]
    for t in tokens:
        if isinstance(t, Mark) and t.kind == "then":
            stages.append([])
        else:
            stages[-1].append(t)
    if any(not stage for stage in stages):
        return SigUnparsed("an empty step before or after 'then'")
    readings: list[SigDose] = []
    previous: Qty | None = None
    for number, stage in enumerate(stages, start=1):
        result = _read_stage(stage, previous, staged=len(stages) > 1)
        if isinstance(result, SigUnparsed):
            prefix = f"step {number}: " if len(stages) > 1 else ""
            return SigUnparsed(prefix + result.reason)
        reading, previous = result
        readings.append(reading)
    if len({r.unit for r in readings}) > 1 or len({r.unit_word for r in readings} - {None}) > 1:
        return SigUnparsed("steps in different units")
    if len(readings) == 1:
        return readings[0]
    best = max(readings, key=lambda r: r.amount_per_day)
    summary = f"highest of {len(readings)} steps: {best.explanation}"
    return replace(best, explanation=summary, stages=len(readings))
