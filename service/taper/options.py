"""Ways to take a medicine for a day, made only from real products (dm+d VMP strengths).

- Patches: combinations of real patch strengths (at most ``max_patches_at_once``), only
  within one wear-time group (``rules/taper.yaml`` patch_groups).
- Modified-release tablets/capsules: the same dose form and release time, taken once (24-hour
  products) or twice a day; each dose a sum of at most ``max_units_per_administration``
  real strengths. Twice-daily doses stay balanced: the morning dose is never larger than
  the evening one and never smaller by more than the lowest real strength (reduce the
  morning dose, then the evening). A 12-hour product is taken at night only just once, at
  the lowest strength, as the last step before stopping.
- Immediate-release, when-required and combination products: whole units of the same
  product per day. Liquids: whole millilitres of the same product per day (a dose that is
  not a whole number of units or millilitres starts "as now", never rounded up).
Anything else (injections, unknown strengths, products not in dm+d, modified-release
combination products, modified-release products with no dm+d strengths of the same form and
release time, such as 24-hour brands) cannot be planned and says why.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations_with_replacement

from service.medicines.dictionary import MedicinesDictionary
from service.medicines.model import Product, Route
from service.taper.settings import TaperSettings

_EPSILON = 1e-6
_WORDS = {
    1: "one",
    2: "two",
    3: "three",
    4: "four",
    5: "five",
    6: "six",
    7: "seven",
    8: "eight",
    9: "nine",
    10: "ten",
    11: "eleven",
    12: "twelve",
}


@dataclass(frozen=True, slots=True)
class Part:
    """Units per day of one real product (patches: worn at once; see ``Option``)."""

    code: str
    name: str
    units: float


@dataclass(frozen=True, slots=True)
class Option:
    amount: float  # mg/day, or micrograms/hour for patches
    how: str
    parts: tuple[Part, ...]
    #: Patches: hours between changes. A patch's ``Part.units`` are worn at once, so its
    #: supply is units per change, not per day (issue 18: a 72-hour patch for 28 days is 10).
    change_hours: int | None = None
    #: Products a taper may cross to, in order: a step never goes back to a lower stage
    #: (96-hour buprenorphine patches are stage 0, the 7-day ones it crosses to stage 1).
    stage: int = 0
    #: Twice-daily doses (morning, night) in mg: a step never raises either (issue 18).
    doses: tuple[float, ...] = ()

    def allows(self, lower: Option) -> bool:
        """Whether a step from this option to ``lower`` may follow: never back to a product
        already left, and no dose time raised while the day's total falls."""
        if lower.stage < self.stage:
            return False
        if self.doses and len(lower.doses) == len(self.doses):
            return all(b <= a + _EPSILON for a, b in zip(self.doses, lower.doses, strict=True))
        return True

    def units_per_day(self, part: Part) -> float:
        """Units of ``part`` used a day: for patches, worn at once x changes a day."""
        if self.change_hours is None:
            return part.units
        return part.units * 24 / self.change_hours

    def quantity(self, part: Part, days: int) -> int:
        """Units of ``part`` to supply for ``days``: whole units, and for patches one set
        per change started within those days (28 days of a 72-hour patch: 10)."""
        if self.change_hours is None:
            return math.ceil(part.units * days - _EPSILON)
        return math.ceil(days * 24 / self.change_hours - _EPSILON) * math.ceil(part.units)


@dataclass(frozen=True, slots=True)
class Family:
    kind: str  # when_required | immediate_release | modified_release | transdermal
    unit: str  # "mg/day" | "microgram/hour"
    options: tuple[Option, ...]  # every way down from the current dose, highest first
    #: What the plan must say about how this medicine was read: an order's patch change
    #: interval that ``rules/taper.yaml`` does not give for the product (issue 18).
    note: str = ""


def family_for(
    product: Product,
    ingredient: str,
    current_amount: float,
    current_units_per_day: float | None,
    as_needed: bool,
    dictionary: MedicinesDictionary,
    settings: TaperSettings,
    split: tuple[float, float] | None = None,
    ordered_hours: int | None = None,
) -> Family | str:
    """``split``: a twice-daily modified-release dose given unevenly, (morning, night) mg.
    ``ordered_hours``: a patch order's stated change interval, used for the patch ordered
    in place of ``rules/taper.yaml`` (issue 18)."""
    strength = next((i.strength for i in product.opioids if i.name == ingredient), None)
    if strength is None:
        return "the product's strength is not known"
    if product.system != "dmd":
        # Steps are coded as dm+d: a name read from text or an RxNorm code is no dm+d product.
        return "it is not a dm+d product; the plan is made only from dm+d products"
    if product.is_patch:
        return _patches(ingredient, current_amount, dictionary, settings, ordered_hours)
    if product.route is not Route.ORAL:
        return f"tapering {product.route.value} products is for the specialist team"
    if strength.per_unit == "ml":
        mg_per_ml = strength.mg_per_one
        ml = current_amount / mg_per_ml
        options = []
        if abs(ml - round(ml)) > _EPSILON:  # e.g. 7.5 ml a day: never round up to 8
            options.append(Option(current_amount, "as now", ()))
        for k in range(math.floor(ml + _EPSILON), -1, -1):
            if not k:
                how = f"stop {product.name}"
            elif as_needed:  # a when-required liquid stays a when-required maximum
                how = f"up to {k} ml a day of {product.name} when required"
            else:
                how = f"{k} ml a day of {product.name} in divided doses"
            options.append(Option(k * mg_per_ml, how, _parts(product, k)))
        return Family(
            "when_required" if as_needed else "immediate_release", "mg/day", tuple(options)
        )
    if strength.per_unit != "unit":
        return f"a product measured per {strength.per_unit} cannot be tapered by the planner"
    if product.modified_release and not as_needed:
        if len(product.ingredients) > 1 and not dictionary.same_brand(product):
            # Only single-ingredient strengths are listed: stepping down through them would
            # silently drop the other ingredient (e.g. the naloxone of oxycodone/naloxone).
            return "modified-release combination products are tapered by hand"
        return _modified_release(product, ingredient, current_amount, dictionary, settings, split)
    units = current_units_per_day or current_amount / strength.mg_per_one
    word = product.unit_of_presentation or "unit"
    options = []
    if abs(units - round(units)) > _EPSILON:  # e.g. 7.5 a day: keep "as now" as the start
        options.append(Option(current_amount, "as now", ()))
    for k in range(math.floor(units + _EPSILON), -1, -1):
        if k == 0:
            options.append(Option(0.0, f"stop {product.name}", ()))
            continue
        how = (
            f"up to {_count(k, word)} a day when required"
            if as_needed
            else f"{_count(k, word)} a day" + (" in divided doses" if k > 1 else "")
        )
        options.append(
            Option(k * strength.mg_per_one, f"{product.name}: {how}", _parts(product, k))
        )
    kind = "when_required" if as_needed else "immediate_release"
    return Family(kind, "mg/day", tuple(options))


def _patches(
    ingredient: str,
    current: float,
    dictionary: MedicinesDictionary,
    settings: TaperSettings,
    ordered_hours: int | None = None,
) -> Family | str:
    real = _by_amount(dictionary.products_with(ingredient, Route.TRANSDERMAL), ingredient, 1000)
    groups = settings.patch_groups.get(ingredient, ())
    # The group whose patch the patient wears; failing that, one that can make the rate.
    group = next((g for g in groups if any(abs(current - r) < 0.01 for r in g)), None) or next(
        (g for g in groups if _composable(current, g, settings.max_patches_at_once)), None
    )
    if group is None:
        stages = [real]
    else:
        # Then each group of weaker patches, strongest first: a taper that would otherwise
        # stop from the lowest 96-hour buprenorphine patch (35 micrograms/hour, 84 mg OME)
        # steps on through 7-day patches (20 + 10, 20 + 5 ...; issue 18). Never back up.
        weaker = sorted(
            (g for g in groups if max(g) < min(group)), key=lambda g: max(g), reverse=True
        )
        stages = [
            {r: p for r, p in real.items() if any(abs(r - x) < 0.01 for x in g)}
            for g in (group, *weaker)
        ]
    if not stages[0]:
        return "no real patch strengths found"
    options: dict[tuple[int, float], Option] = {}
    note = ""
    for stage, patches in enumerate(stages):
        lives = {settings.change_hours(ingredient, r) for r in patches}
        hours = lives.pop() if len(lives) == 1 else None
        if stage == 0 and ordered_hours is not None:
            # The order's interval for the patch ordered: dm+d does not record patch life
            # and 72- and 96-hour brands of buprenorphine 35-70 share one VMP, so the order
            # says which (ome-reference.md §8: "take patch life from the AMP or sig"). The
            # weaker patches a taper crosses to are new products, at their own life.
            allowed = set().union(*(settings.allowed_change_hours(ingredient, r) for r in patches))
            if ordered_hours not in allowed:
                # Not silently overruled, nor silently kept: said on the plan.
                note = (
                    f"the order changes the patch {_every(ordered_hours)}, which "
                    "rules/taper.yaml does not give for this patch ("
                    f"{' or '.join(_every(h) for h in sorted(allowed, reverse=True)) or '?'}): "
                    "planned and supplied as ordered; check the brand and the order"
                )
            hours = ordered_hours
        if hours is None:
            # Patches of different lives are never mixed (patch_groups); a life that is not
            # in rules/taper.yaml cannot be ordered per change.
            return "how often these patches are changed is not in rules/taper.yaml"
        if stage == 0 and not any(abs(sum(c) - current) < 1e-6 for c in _combos(patches, settings)):
            options[(0, current)] = Option(current, "as now", (), hours)
        for combo in _combos(patches, settings):
            rate = round(sum(combo), 3)
            if rate <= current + 1e-9 and (stage, rate) not in options:
                words = _patch_words(combo, patches, hours)
                options[(stage, rate)] = Option(
                    rate, words, _combo_parts(combo, patches), hours, stage
                )
    options[(-1, 0.0)] = Option(0.0, "stop the patches", (), stage=len(stages) - 1)
    return Family(
        "transdermal",
        "microgram/hour",
        tuple(sorted(options.values(), key=lambda o: (-o.amount, o.stage))),
        note,
    )


def _combos(patches: dict[float, Product], settings: TaperSettings) -> Iterable[tuple[float, ...]]:
    """Fewest patches first, so a rate is made of as few patches as it can be."""
    for n in range(1, settings.max_patches_at_once + 1):
        yield from combinations_with_replacement(sorted(patches, reverse=True), n)


def _composable(rate: float, group: frozenset[float], most: int) -> bool:
    return any(
        abs(sum(combo) - rate) < 0.01
        for n in range(1, most + 1)
        for combo in combinations_with_replacement(sorted(group), n)
    )


def _modified_release(
    product: Product,
    ingredient: str,
    current: float,
    dictionary: MedicinesDictionary,
    settings: TaperSettings,
    split: tuple[float, float] | None = None,
) -> Family | str:
    hours = dictionary.release_hours_of(product)
    # By brand where the order names one (Zomorph stays Zomorph, MXL stays MXL and once a
    # day; Targinact keeps its naloxone); else the generic strengths of the same form and
    # release time, leaving out those made only as a brand of another release time (the
    # 90 mg morphine MR capsule is MXL only, a 24-hour product).
    same = list(dictionary.same_brand(product)) or [
        p
        for p in dictionary.products_with(ingredient, Route.ORAL, modified_release=True)
        if p.dose_form == product.dose_form and dictionary.release_hours_of(p) == hours
    ]
    if not same:
        # With this strength alone the plan would stop it from one whole unit, or give a
        # 12-hour product at night only at a high dose. 24-hour strengths are branded
        # products (AMPs) that the dictionary does not list by ingredient.
        if (hours or 12) >= 24:
            return "the medicines dictionary lists no other strengths of this 24-hour product"
        return "the medicines dictionary lists no strengths of this form and release time"
    real = _by_amount(same, ingredient, 1, single=len(product.ingredients) == 1)
    doses: dict[float, tuple[float, ...]] = {0.0: ()}
    for n in range(1, settings.max_units_per_administration + 1):
        for combo in combinations_with_replacement(sorted(real, reverse=True), n):
            if len(set(combo)) > settings.max_strengths_per_administration:
                continue  # 30 + 15 + 10 mg: three strengths to dispense and tell apart
            total = round(sum(combo), 3)
            if total not in doses or len(combo) < len(doses[total]):
                doses[total] = combo
    twice = (hours or 12) < 24
    lowest = min(real)
    options: dict[tuple[float, ...], Option] = {}
    uneven = (
        twice
        and split is not None
        and abs(split[0] - split[1]) > _EPSILON
        and all(any(abs(d - x) < _EPSILON for d in doses) for x in split)
    )
    if uneven and split is not None:
        # Kept as prescribed (30 mg morning + 60 mg night is not re-split to 45 + 45), the
        # larger dose first comes down to the smaller, then the balanced steps below.
        # These are stage 0; the balanced ones stage 1, never left for an uneven one.
        smaller = min(split)
        for larger in (d for d in doses if smaller + _EPSILON < d <= max(split) + _EPSILON):
            morning, evening = (smaller, larger) if split[0] < split[1] else (larger, smaller)
            options[(morning, evening)] = _mr_option(morning, evening, doses, real, twice)
    stage = 1 if uneven else 0
    balanced: dict[float, Option] = {}
    evening_values = sorted(d for d in doses if d > 0)
    for evening in evening_values:
        if twice:
            # The morning dose is the evening one, lower by at most the lowest strength, or
            # the next real dose below it when two strengths cannot make one that close.
            below = [d for d in doses if 0 < d < evening - 1e-9]
            near = max(below) if below else None
            mornings = [
                m
                for m in doses
                if lowest <= m <= evening and (evening - m <= lowest + 1e-9 or m == near)
            ]
            if abs(evening - lowest) < 1e-9:
                mornings.append(0.0)  # the lowest strength at night only, then stop
        else:
            mornings = [0.0]
        for morning in mornings:
            daily = round(morning + evening, 3)
            if daily > current + 1e-9:
                continue
            option = _mr_option(morning, evening, doses, real, twice, stage)
            best = balanced.get(daily)
            if best is None or _simpler(option, best):
                balanced[daily] = option
    balanced[0.0] = Option(0.0, f"stop {product.name}", (), stage=stage)
    if not uneven and not any(abs(d - current) < 1e-6 for d in balanced):
        balanced[current] = Option(current, "as now", ())
    options.update({(daily,): option for daily, option in balanced.items()})
    return Family(
        "modified_release",
        "mg/day",
        tuple(sorted(options.values(), key=lambda o: (-o.amount, o.stage))),
    )


def _mr_option(
    morning: float,
    evening: float,
    doses: dict[float, tuple[float, ...]],
    real: dict[float, Product],
    twice: bool,
    stage: int = 0,
) -> Option:
    per_day: dict[float, int] = {}
    for amount in (*doses[morning], *doses[evening]):
        per_day[amount] = per_day.get(amount, 0) + 1
    parts = tuple(
        Part(real[a].code, real[a].name, n) for a, n in sorted(per_day.items(), reverse=True)
    )
    if not twice:
        how = f"{_units(doses[evening], real)} once a day"
    elif morning == 0:
        how = f"{_units(doses[evening], real)} at night only"
    elif morning == evening:
        how = f"{_units(doses[evening], real)} twice a day"
    else:
        how = (
            f"{_units(doses[morning], real)} in the morning and "
            f"{_units(doses[evening], real)} at night"
        )
    return Option(
        round(morning + evening, 3),
        how,
        parts,
        stage=stage,
        doses=(morning, evening) if twice else (),
    )


def _simpler(a: Option, b: Option) -> bool:
    """Fewer tablets a day, then balanced doses (twice daily over night-only)."""
    units_a, units_b = sum(p.units for p in a.parts), sum(p.units for p in b.parts)
    if units_a != units_b:
        return units_a < units_b
    return "twice a day" in a.how and "twice a day" not in b.how


def _by_amount(
    products: Iterable[Product], ingredient: str, scale: float, *, single: bool = True
) -> dict[float, Product]:
    """Strength (mg per unit, or micrograms/hour with scale 1000) → a real product.
    ``single``: single-ingredient products only (a brand's combination products share one
    ratio, so they may be listed by their opioid's strength)."""
    out: dict[float, Product] = {}
    for p in products:
        strength = next((i.strength for i in p.ingredients if i.name == ingredient), None)
        if strength is not None and (len(p.ingredients) == 1 or not single):
            amount = round(strength.mg_per_one * scale, 3)
            out.setdefault(amount, p)
    return out


def _units(combo: tuple[float, ...], real: dict[float, Product]) -> str:
    counts: dict[float, int] = {}
    for amount in combo:
        counts[amount] = counts.get(amount, 0) + 1
    word = next(iter(real.values())).unit_of_presentation or "tablet"
    if any(len(p.ingredients) > 1 for p in real.values()):
        # "one 10mg tablet" of Targinact would not say which: name the product.
        return " + ".join(
            f"{_WORDS.get(n, str(n))} {real[a].name}"
            for a, n in sorted(counts.items(), reverse=True)
        )
    return " + ".join(
        f"{_WORDS.get(n, str(n))} {_num(a)}mg {word}{'s' if n > 1 else ''}"
        for a, n in sorted(counts.items(), reverse=True)
    )


def _patch_words(combo: tuple[float, ...], real: dict[float, Product], hours: int) -> str:
    names = [real[r].name for r in combo]
    joined = " and ".join(f"one {n}" for n in names)
    return f"{joined} at a time, changed {_every(hours)}"


def _every(hours: int) -> str:
    """ "every 72 hours", "every 7 days": how a change interval is said on a label; an
    order's "twice a week" (84 hours: Monday morning and Thursday evening) as written."""
    if hours % 24 != 0 and 168 % hours == 0:
        times = 168 // hours
        return "twice a week" if times == 2 else f"{times} times a week"
    return (
        f"every {hours // 24} days" if hours % 24 == 0 and hours >= 168 else f"every {hours} hours"
    )


def change_timing(hours: int) -> dict[str, int | str]:
    """A change interval as FHIR ``Timing.repeat``: every 72 hours, every 7 days, or twice
    a week (frequency 2 per week) for an order that said so."""
    if hours % 24 != 0 and 168 % hours == 0:
        return {"frequency": 168 // hours, "period": 1, "periodUnit": "wk"}
    if hours % 24 == 0 and hours >= 168:
        return {"frequency": 1, "period": hours // 24, "periodUnit": "d"}
    return {"frequency": 1, "period": hours, "periodUnit": "h"}


def _combo_parts(combo: tuple[float, ...], real: dict[float, Product]) -> tuple[Part, ...]:
    counts: dict[float, int] = {}
    for r in combo:
        counts[r] = counts.get(r, 0) + 1
    return tuple(
        Part(real[r].code, real[r].name, n) for r, n in sorted(counts.items(), reverse=True)
    )


def _parts(product: Product, units: float) -> tuple[Part, ...]:
    return (Part(product.code, product.name, units),) if units else ()


def _descending(options: Iterable[Option]) -> tuple[Option, ...]:
    return tuple(sorted(options, key=lambda o: -o.amount))


def _count(n: int, word: str) -> str:
    return f"{_WORDS.get(n, str(n))} {word}{'s' if n != 1 and not word.endswith('s') else ''}"


def _num(value: float) -> str:
    return f"{value:g}"
