"""Oral morphine equivalent (OME) of one medication record.

OME/day of an ingredient = its daily amount × the conversion factor for (profile,
ingredient, route) from ``rules/ome/factors.csv``; per mg for most routes, per
microgram/hour of patch rate for transdermal patches (so patch-change frequency does not
matter while patches are worn continuously: ome-reference.md §6). Each ingredient is
rounded as the profile says (``rules/ome/profiles.yaml``), then summed.

A dose in mg overrides the product strength (cqframework MMEC-3). A medicine that cannot
be identified, dosed or converted is ``unresolved`` with the reason — never 0.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Context, Decimal
from enum import StrEnum

from service.dosing.daily import DailyAmount, NotDosed, daily_amount
from service.dosing.units import PRODUCT_UNIT
from service.fhir.medication_record import MedicationRecord
from service.medicines.identify import Identification
from service.medicines.model import Ingredient, Product, Route, Use
from service.ome.factors import Basis, FactorStatus, FactorTable, Profile, StatedDailyMaximum

#: Presentations where "1" of the product is one whole container of its stated volume.
_WHOLE_CONTAINERS = frozenset({"ampoule", "vial", "syringe", "cartridge", "bag", "tube"})

#: FHIR ``Dosage.route`` (SNOMED CT route codes and the words clients write) → simplified
#: route. Read only when the product itself names no route (a VTM such as "Morphine", an
#: RxNorm ingredient). Terminology, not clinical content. Spinal routes (epidural,
#: intrathecal) are deliberately absent: they are far more potent than parenteral, so such
#: a medicine stays unresolved.
_DOSAGE_ROUTES: dict[str, Route] = {
    **dict.fromkeys(("26643006", "oral", "oral route", "orally", "by mouth", "po"), Route.ORAL),
    **dict.fromkeys(
        ("34206005", "subcutaneous", "subcutaneous route", "subcutaneously", "sc", "s/c"),
        Route.PARENTERAL,
    ),
    **dict.fromkeys(
        ("47625008", "intravenous", "intravenous route", "intravenously", "iv"), Route.PARENTERAL
    ),
    **dict.fromkeys(
        ("78421000", "intramuscular", "intramuscular route", "intramuscularly", "im"),
        Route.PARENTERAL,
    ),
    **dict.fromkeys(
        ("37161004", "rectal", "rectal route", "per rectum", "rectally", "pr"), Route.RECTAL
    ),
    **dict.fromkeys(("45890007", "transdermal", "transdermal route"), Route.TRANSDERMAL),
    **dict.fromkeys(
        ("37839007", "54471007", "sublingual", "sublingual route", "buccal", "buccal route"),
        Route.BUCCAL,
    ),
    **dict.fromkeys(("46713006", "nasal", "nasal route", "intranasal"), Route.NASAL),
    **dict.fromkeys(("6064005", "topical", "topical route", "cutaneous"), Route.TOPICAL),
}


class Status(StrEnum):
    CALCULATED = "calculated"
    NOT_OPIOID = "not_opioid"
    UNRESOLVED = "unresolved"
    EXCLUDED = "excluded"


class Flag(StrEnum):
    AS_NEEDED_MAXIMUM = "as_needed_maximum"  # counted at the most the sig allows
    SPECIALIST_REVIEW = "specialist_review"  # e.g. methadone: no fixed ratio
    SUBSTANCE_DEPENDENCE = "substance_dependence"
    TOPICAL = "topical"
    NOT_CURRENT = "not_current"
    COUNTED_ONCE = "counted_once"  # the same medicine recorded more than once
    IMPLAUSIBLE = "implausible"  # a figure no patient could take: check the record
    DO_NOT_PERFORM = "do_not_perform"  # an instruction not to give the medicine


@dataclass(frozen=True, slots=True)
class Plausibility:
    """Ceilings beyond which arithmetic is a recording error, not a dose: shared parameters
    ``implausible_administrations_per_day`` and ``implausible_total_mg_per_day``
    (rules/parameters.yaml). None: no ceiling."""

    max_administrations_per_day: float | None = None
    max_ome_mg_per_day: float | None = None


NO_CEILINGS = Plausibility()


def implausible_reason(ome_mg_per_day: float, ceiling: float, what: str) -> str:
    """The one wording for an OME figure above the plausibility ceiling."""
    return (
        f"implausible: {what} of {_num(ome_mg_per_day)} mg OME/day is above the plausibility "
        f"ceiling of {_num(ceiling)} mg OME/day; check the record"
    )


@dataclass(frozen=True, slots=True)
class IngredientOme:
    ingredient: str
    amount: float  # per day in mg, or microgram/hour for patches
    amount_unit: str  # "mg/day" | "microgram/hour"
    factor: float
    ome_mg_per_day: float
    source: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class MedicationOme:
    record: MedicationRecord
    identification: Identification
    status: Status
    ome_mg_per_day: float | None
    explanation: str
    ingredients: tuple[IngredientOme, ...] = ()
    daily: DailyAmount | None = None
    reason: str | None = None
    flags: frozenset[Flag] = frozenset()

    @property
    def product(self) -> Product | None:
        return self.identification.product

    @property
    def label(self) -> str:
        return self.identification.label


def assess(
    record: MedicationRecord,
    identification: Identification,
    factors: FactorTable,
    profile: Profile,
    plausibility: Plausibility = NO_CEILINGS,
) -> MedicationOme:
    product = identification.product
    if product is None and identification.out_of_scope:
        return MedicationOme(
            record,
            identification,
            Status.NOT_OPIOID,
            None,
            f"{identification.label}: not an opioid ({identification.how})",
        )
    if product is None:
        return _unresolved(record, identification, f"not identified: {identification.how}")
    route, route_from_dosage = product.route, False
    if route is Route.OTHER:
        stated = _dosage_route(record)
        if stated is not None:
            route, route_from_dosage = stated, True
    if product.use is Use.TOPICAL or route is Route.TOPICAL:
        return MedicationOme(
            record,
            identification,
            Status.EXCLUDED,
            None,
            f"{product.name}: topical, not systemic; not counted",
            reason="topical product: not systemic",
            flags=frozenset({Flag.TOPICAL}),
        )
    if not product.opioids:
        return MedicationOme(
            record, identification, Status.NOT_OPIOID, None, f"{product.name}: not an opioid"
        )
    if product.use is Use.SUBSTANCE_DEPENDENCE:
        return MedicationOme(
            record,
            identification,
            Status.EXCLUDED,
            None,
            f"{product.name}: treatment of opioid dependence; not counted as analgesia",
            reason="substance-dependence treatment",
            flags=frozenset({Flag.SUBSTANCE_DEPENDENCE}),
        )
    use_cap = profile.prn.stated_daily_maximum is StatedDailyMaximum.CAP
    daily = daily_amount(
        record,
        use_stated_maximum=use_cap,
        max_administrations_per_day=plausibility.max_administrations_per_day,
    )
    if isinstance(daily, NotDosed):
        flags = {Flag.IMPLAUSIBLE} if daily.reason.startswith("implausible") else set()
        return _unresolved(
            record, identification, f"daily dose unknown: {daily.reason}", flags=flags
        )
    # The product names what a counted dose is ("2 capsules"), when the client did not.
    daily = replace(daily, description=_with_unit(daily.description, product.unit_of_presentation))
    flags = {Flag.AS_NEEDED_MAXIMUM} if daily.as_needed else set()
    parts: list[IngredientOme] = []
    for ingredient in product.opioids:
        amount = _ingredient_amount(daily, product, ingredient, route)
        if isinstance(amount, str):
            return _unresolved(record, identification, amount, daily)
        value, unit = amount
        if route is Route.OTHER:
            return _unresolved(
                record,
                identification,
                "the product names no route (e.g. a VTM) and the dosage states none "
                "that OME can be calculated for",
                daily,
            )
        lookup = factors.lookup(profile.profile_id, ingredient.name, route)
        if lookup.status is FactorStatus.NO_FIXED_RATIO:
            return _unresolved(
                record,
                identification,
                f"{ingredient.name} has no fixed conversion ratio: needs specialist review",
                daily,
                {Flag.SPECIALIST_REVIEW},
            )
        if lookup.status is FactorStatus.NOT_COUNTED:
            return MedicationOme(
                record,
                identification,
                Status.EXCLUDED,
                None,
                f"{product.name}: not counted under {profile.profile_id}",
                daily=daily,
                reason=lookup.notes,
            )
        if lookup.status is not FactorStatus.FACTOR or lookup.factor is None:
            return _unresolved(
                record,
                identification,
                f"no conversion factor for {ingredient.name} "
                f"({route.value}) in profile {profile.profile_id}",
                daily,
            )
        expected = "microgram/hour" if lookup.basis is Basis.PER_MICROGRAM_PER_HOUR else "mg/day"
        if unit != expected:
            return _unresolved(
                record,
                identification,
                f"the dose gives {unit} but the factor is per {expected}",
                daily,
            )
        raw = value * lookup.factor
        ceiling = plausibility.max_ome_mg_per_day
        if not math.isfinite(raw) or (ceiling is not None and raw > ceiling):
            # Checked before rounding (Decimal refuses infinity) and per ingredient, so one
            # absurd figure cannot hide in a sum.
            return _unresolved(
                record,
                identification,
                implausible_reason(raw, ceiling, "a daily amount")
                if ceiling is not None and math.isfinite(raw)
                else "implausible: the daily amount is too large to be a dose; check the record",
                daily,
                {Flag.IMPLAUSIBLE},
            )
        ome = _round(raw, profile.rounding.decimal_places)
        parts.append(IngredientOme(ingredient.name, value, unit, lookup.factor, ome, lookup.source))
    total = sum(p.ome_mg_per_day for p in parts)
    total = _round(total, profile.rounding.decimal_places)
    ceiling = plausibility.max_ome_mg_per_day
    if not math.isfinite(total):
        # Finite ingredients whose sum overflows (two of 1e308): no figure (issue 12).
        return _unresolved(
            record,
            identification,
            "implausible: the daily amount is too large to be a dose; check the record",
            daily,
            {Flag.IMPLAUSIBLE},
        )
    if ceiling is not None and total > ceiling:
        # A daily amount no patient could take (a dose per second, 1e308 mg): the record is
        # wrong, so the medicine is unresolved with the reason, never a figure (issue 9).
        return _unresolved(
            record,
            identification,
            implausible_reason(total, ceiling, "a daily amount"),
            daily,
            {Flag.IMPLAUSIBLE},
        )
    return MedicationOme(
        record,
        identification,
        Status.CALCULATED,
        total,
        _explain(
            product,
            daily,
            parts,
            total,
            profile.prn.label,
            route if route_from_dosage else None,
        ),
        tuple(parts),
        daily,
        flags=frozenset(flags),
    )


def _unresolved(
    record: MedicationRecord,
    identification: Identification,
    reason: str,
    daily: DailyAmount | None = None,
    flags: set[Flag] | None = None,
) -> MedicationOme:
    return MedicationOme(
        record,
        identification,
        Status.UNRESOLVED,
        None,
        f"{identification.label}: OME not calculated ({reason})",
        daily=daily,
        reason=reason,
        flags=frozenset(flags or ()),
    )


def _dosage_route(record: MedicationRecord) -> Route | None:
    """The one route the dosage lines state (``Dosage.route``), if they agree on one."""
    stated = {
        _DOSAGE_ROUTES[term]
        for dosage in record.dosages
        for term in dosage.route
        if term in _DOSAGE_ROUTES
    }
    return stated.pop() if len(stated) == 1 else None


def _ingredient_amount(
    daily: DailyAmount, product: Product, ingredient: Ingredient, route: Route
) -> tuple[float, str] | str:
    """The ingredient's daily amount in mg/day, or its patch rate in microgram/hour; or why
    it cannot be known."""
    strength = ingredient.strength
    if route is Route.TRANSDERMAL:
        if daily.unit == "microgram/hour":
            return daily.amount, "microgram/hour"
        if daily.unit != "unit" or daily.per_administration is None:
            return "a patch dose must say how many patches are worn"
        if strength is None or strength.per_unit != "hour":
            return "the patch's release rate is not known"
        return strength.mg_per_one * 1000 * daily.per_administration, "microgram/hour"
    if daily.unit == "mg":
        if len([i for i in product.ingredients if i.strength is not None]) > 1:
            return "a dose in mg is ambiguous for a combination product"
        return daily.amount, "mg/day"
    if strength is None:
        return "the product has no strength (e.g. a VTM), so the dose must be given in mg"
    if daily.unit == "ml":
        if strength.per_unit != "ml":
            return "a dose in ml for a product whose strength is not per ml"
        return daily.amount * strength.mg_per_one, "mg/day"
    if daily.unit == "unit":
        # a tablet, capsule...; or a spray, actuation or film of a product strength per dose
        if strength.per_unit in ("unit", "dose"):
            return daily.amount * strength.mg_per_one, "mg/day"
        if strength.per_unit == "ml" and product.unit_of_presentation in _WHOLE_CONTAINERS:
            return daily.amount * strength.mg_per, "mg/day"
        return f"a dose counted in units for a product measured per {strength.per_unit}"
    return f"a dose in {daily.unit} cannot be converted"


#: Enough digits for any finite float (up to 309 before the point) with its decimals: the
#: default 28 made quantize refuse 1e307 (InvalidOperation, a 500; issue 12).
_ROUNDING = Context(prec=400)


def _round(value: float, places: int) -> float:
    if not math.isfinite(value):
        return value  # refused by the callers' finiteness checks, never rounded
    quantum = Decimal(1).scaleb(-places)
    return float(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP, context=_ROUNDING))


def _explain(
    product: Product,
    daily: DailyAmount,
    parts: list[IngredientOme],
    total: float,
    prn_label: str,
    stated_route: Route | None = None,
) -> str:
    """ "Oxycodone 40mg modified-release tablets, 1 twice a day = 80 mg oxycodone/day × 1.5
    = 120 mg OME/day". ``prn_label``: the profile's words for a when-required maximum;
    ``stated_route``: the route taken from the dosage, when the product names none."""
    terms = []
    for p in parts:
        amount = (
            f"{_num(p.amount)} micrograms/hour"
            if p.amount_unit == "microgram/hour"
            else (f"{_num(p.amount)} mg {p.ingredient}/day")
        )
        terms.append(f"{amount} × {_num(p.factor)} = {_num(p.ome_mg_per_day)}")
    name = product.name
    if stated_route is not None:
        name += f" ({stated_route.value} route, from the dosage)"
    how = f"{name}, {daily.description}"
    if daily.as_needed:
        how += f" ({prn_label})"
    text = f"{how} = " + " + ".join(terms)
    return text + (f" = {_num(total)} mg OME/day" if len(parts) > 1 else " mg OME/day")


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _with_unit(description: str, unit_of_presentation: str) -> str:
    """ "2 {product-unit}, 4 times a day" → "2 capsules, 4 times a day"."""
    word = unit_of_presentation or "unit"

    def plural(match: re.Match[str]) -> str:
        number = match.group(1)
        many = float(number.split("-")[-1]) != 1
        return (
            f"{number} {word}{('es' if word.endswith(('ch', 'sh', 's')) else 's') if many else ''}"
        )

    return re.sub(r"([\d.]+(?:-[\d.]+)?) " + re.escape(PRODUCT_UNIT), plural, description).replace(
        PRODUCT_UNIT, word
    )
