"""Typed vocabulary for medicines: ingredient classes, strengths, products.

These are the types every other module speaks. Products come from the tables under
``rules/medicines/`` (built by ``tools/build_medicines.py``) or, when a record carries no
known code, from parsing a dm+d-style product name (``service.medicines.names``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class IngredientClass(StrEnum):
    """The pharmacological groups the rules care about (GLOSSARY: ingredient class)."""

    OPIOID = "opioid"
    GABAPENTINOID = "gabapentinoid"
    BENZODIAZEPINE = "benzodiazepine"
    Z_DRUG = "z_drug"
    #: An opioid antagonist. Naloxone on its own is the overdose rescue medicine (take-home
    #: naloxone, issue 17); with an opioid (Targinact, Suboxone) it is a formulation aid.
    NALOXONE = "naloxone"
    OTHER = "other"


class Route(StrEnum):
    """Simplified route, as OpenPrescribing keys its OME table (ome-reference.md §2.2)."""

    ORAL = "oral"
    TRANSDERMAL = "transdermal"
    PARENTERAL = "parenteral"
    RECTAL = "rectal"
    BUCCAL = "buccal"  # buccal, sublingual and oromucosal
    NASAL = "nasal"
    INHALATION = "inhalation"
    TOPICAL = "topical"  # not systemic: never counted towards OME
    OTHER = "other"


class Use(StrEnum):
    """Why a product exists; decides whether an opioid counts towards analgesic OME."""

    ANALGESIA = "analgesia"
    SUBSTANCE_DEPENDENCE = "substance_dependence"  # BNF 4.10: methadone 1mg/ml, Subutex, Espranor
    NON_ANALGESIC = "non_analgesic"  # e.g. kaolin and morphine, codeine linctus: counted, labelled
    TOPICAL = "topical"  # morphine gel, gabapentin gel: not systemic


@dataclass(frozen=True, slots=True)
class Strength:
    """Amount of one ingredient per unit of presentation.

    ``value`` ``unit`` per ``per_value`` ``per_unit``: 10 mg per 1 tablet, 10 mg per 5 ml,
    25 microgram per 1 hour (patches). ``unit`` is one of mg, microgram, g, nanogram;
    ``per_unit`` is one of unit (a tablet, capsule, patch, ampoule...), ml, hour, dose.
    """

    value: float
    unit: str
    per_value: float = 1.0
    per_unit: str = "unit"

    @property
    def mg_per(self) -> float:
        """The numerator in mg (microgram/1000, g*1000), per ``per_value`` ``per_unit``."""
        return self.value * _MG_PER[self.unit]

    @property
    def mg_per_one(self) -> float:
        """mg per single ``per_unit`` (per ml, per tablet, per hour)."""
        return self.mg_per / self.per_value


_MG_PER = {"mg": 1.0, "microgram": 0.001, "nanogram": 0.000001, "g": 1000.0}


@dataclass(frozen=True, slots=True)
class Ingredient:
    """One active ingredient of a product, by canonical lower-case name (e.g. "oxycodone")."""

    name: str
    ingredient_class: IngredientClass
    strength: Strength | None  # None at VTM level: the dose must then carry mg


@dataclass(frozen=True, slots=True)
class Product:
    """A medicinal product as prescribed: a dm+d VTM/VMP/AMP or an RxNorm concept.

    ``unit_of_presentation`` names what one "unit" of a dose count is (tablet, capsule,
    patch, ml, sachet, suppository, lozenge, spray, ampoule...). ``release_hours`` is 12 or
    24 for modified-release products when known (MXL is 24 h; most MR opioids are 12 h).
    """

    code: str
    system: str  # "dmd" | "rxnorm" | "name" (identified from the name alone)
    concept_type: str  # VTM | VMP | AMP | SCD | SBD | ... | PARSED
    name: str
    ingredients: tuple[Ingredient, ...]
    dose_form: str
    route: Route
    unit_of_presentation: str
    modified_release: bool = False
    release_hours: int | None = None
    use: Use = Use.ANALGESIA
    bnf_code: str = ""
    source: str = ""
    vmp_code: str = ""  # a dm+d AMP's VMP; "" otherwise

    @property
    def opioids(self) -> tuple[Ingredient, ...]:
        return tuple(i for i in self.ingredients if i.ingredient_class is IngredientClass.OPIOID)

    @property
    def is_patch(self) -> bool:
        return self.route is Route.TRANSDERMAL

    def has_class(self, ingredient_class: IngredientClass) -> bool:
        return any(i.ingredient_class is ingredient_class for i in self.ingredients)
