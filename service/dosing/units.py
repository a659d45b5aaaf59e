"""Units of dose, rate and time as real clients send them, normalised.

Dose units fall into: mass (mg, microgram, g, nanogram), volume (ml), a patch rate
(microgram/hour) or a count of the product's units ("unit": tablets, capsules, patches...).
Clients send UCUM codes (``mg``, ``ug``, ``mL``, ``{pill}``), SNOMED dose-form codes
(``428673006`` tablet in EPS), HL7 v3 orderable forms (``TAB``) or free text ("tablet(s)").
Unit and time conversions here are arithmetic, not clinical content.
"""

from __future__ import annotations

from service.fhir.medication_record import Quantity

MASS = {"mg": "mg", "milligram": "mg", "milligrams": "mg", "ug": "microgram",
        "mcg": "microgram", "µg": "microgram", "microgram": "microgram",
        "micrograms": "microgram", "g": "g", "gram": "g", "grams": "g", "ng": "nanogram",
        "nanogram": "nanogram", "nanograms": "nanogram"}  # fmt: skip
VOLUME = {"ml": "ml", "millilitre": "ml", "millilitres": "ml", "milliliter": "ml",
          "milliliters": "ml", "mls": "ml", "l": "l", "litre": "l", "liter": "l"}  # fmt: skip
PATCH_RATE = {"ug/h": "microgram/hour", "mcg/h": "microgram/hour", "ug/hr": "microgram/hour",
              "microgram/hour": "microgram/hour", "micrograms/hour": "microgram/hour",
              "mcg/hr": "microgram/hour"}  # fmt: skip

#: Count units: UCUM annotations, v3 orderable drug forms, SNOMED CT UK dose forms, words.
COUNT = {
    "{pill}", "{tablet}", "{tbl}", "{capsule}", "{patch}", "{puff}", "{actuat}", "{spray}",
    "{dose}", "{film}", "{lozenge}", "{sachet}", "{suppository}", "{ampule}", "{ampoule}",
    "{unit}", "tab", "tabs", "cap", "caps", "tablet", "tablets", "tablet(s)", "capsule",
    "capsules", "capsule(s)", "patch", "patches", "patch(es)", "puff", "puffs", "spray",
    "sprays", "actuation", "actuations", "actuat", "dose", "doses", "film", "films",
    "lozenge", "lozenges", "sachet", "sachets", "suppository", "suppositories", "ampoule",
    "ampoules", "vial", "vials", "pill", "pills", "unit", "units", "1", "each",
    # SNOMED CT dose-form units used by EPS and GP Connect
    "428673006", "428641000", "419702001", "732936001", "732937005", "3317411000001100",
    "3318611000001103", "3319711000001103",
    # HL7 v3 orderableDrugForm (CAP, TAB, PATCH, FILM are above)
    "supp", "loz",
}  # fmt: skip

HOURS_PER = {"s": 1 / 3600, "sec": 1 / 3600, "second": 1 / 3600, "seconds": 1 / 3600,
             "min": 1 / 60, "minute": 1 / 60, "minutes": 1 / 60, "h": 1.0, "hr": 1.0,
             "hour": 1.0, "hours": 1.0, "d": 24.0, "day": 24.0, "days": 24.0,
             "wk": 168.0, "week": 168.0, "weeks": 168.0, "mo": 720.0, "month": 720.0,
             "months": 720.0, "a": 8760.0, "year": 8760.0, "years": 8760.0}  # fmt: skip


def dose_unit(quantity: Quantity) -> str | None:
    """``mg`` | ``microgram`` | ``g`` | ``nanogram`` | ``ml`` | ``microgram/hour`` | ``unit``,
    or None when the unit is present but not recognised. No unit at all is a count
    (Synthea sends ``{value: 1}``; the cqframework calculator reads it the same way)."""
    for raw in (quantity.code, quantity.unit):
        if raw is None:
            continue
        key = raw.strip().lower()
        for table in (MASS, VOLUME, PATCH_RATE):
            if key in table:
                return table[key]
        if key in COUNT or raw.strip() in COUNT:
            return "unit"
    if quantity.code is None and quantity.unit is None:
        return "unit"
    return None


def to_base(value: float, unit: str) -> tuple[float, str]:
    """Mass to mg and volume to ml; other units unchanged."""
    if unit == "microgram":
        return value / 1000, "mg"
    if unit == "g":
        return value * 1000, "mg"
    if unit == "nanogram":
        return value / 1_000_000, "mg"
    if unit == "l":
        return value * 1000, "ml"
    return value, unit


def hours(value: float, unit: str | None) -> float | None:
    """A period in hours, or None for an unknown unit."""
    if unit is None:
        return None
    factor = HOURS_PER.get(unit.strip().lower())
    return None if factor is None else value * factor


#: Stands in a dose description for the product's unit (tablet, capsule) when the client sent
#: a count with no plain word for it (UCUM ``{pill}``, SNOMED codes, "1 four times a day"):
#: the caller, who knows the product, fills it in (``service.ome.calculate``).
PRODUCT_UNIT = "{product-unit}"
