"""The clinical vocabulary of medicine names, as data: which ingredients exist and their
class, their other names, brands, and what a BNF section says about a product's use.

Read once at start-up from ``rules/medicines/`` (columns in ``rules/medicines/README.md``):

- ``ingredients.csv``: canonical ingredient → class (opioid, gabapentinoid,
  benzodiazepine, z_drug, other). The class decides which rules can fire;
- ``ingredient_synonyms.csv``: other names (US adopted names, old spellings) → ingredient;
- ``brands.csv``: brand → ingredients, release, use, default dose form;
- ``co_drugs.csv``: British Approved Names of fixed combinations (co-codamol) → ingredients;
- ``bnf_uses.csv``: BNF section prefix → use (4.10: substance dependence);
- ``uses_by_name.csv``: what a name without a brand or BNF code says about use (methadone
  oral solution and buprenorphine 2 mg sublingual tablets: substance dependence).

Every row cites ``rules/sources.yaml``. The composition root passes the one
:class:`Vocabulary` to the medicines dictionary (and through it to the name parser), and its
opioids to the conversion-factor table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Annotated

from pydantic import BeforeValidator, Field

from service.errors import ReferenceDataError
from service.medicines.model import IngredientClass, Route, Use
from service.rulefiles import (
    CsvBool,
    CsvRow,
    OptionalFloat,
    OptionalInt,
    Sources,
    Text,
    blank_to_none,
    read_csv,
)

INGREDIENTS_FILE = Path("medicines") / "ingredients.csv"
SYNONYMS_FILE = Path("medicines") / "ingredient_synonyms.csv"
BRANDS_FILE = Path("medicines") / "brands.csv"
CO_DRUGS_FILE = Path("medicines") / "co_drugs.csv"
BNF_USES_FILE = Path("medicines") / "bnf_uses.csv"
USES_BY_NAME_FILE = Path("medicines") / "uses_by_name.csv"


@dataclass(frozen=True, slots=True)
class Brand:
    """What a brand name tells us beyond its strengths.

    ``ingredients`` are canonical names in the order the brand's strengths are written
    ("Targinact 10mg/5mg": oxycodone then naloxone). ``default_form`` is used only when the
    text names no dose form ("MST 10mg").
    """

    ingredients: tuple[str, ...]
    modified_release: bool = False
    release_hours: int | None = None
    use: Use | None = None
    default_form: str = ""


def _canonical(value: str) -> str:
    if value != value.lower() or " ".join(value.split()) != value:
        raise ValueError("must be lower case with single spaces")
    return value


class _IngredientRow(CsvRow):
    ingredient: Text
    class_: IngredientClass = Field(alias="class")  # ``class`` is a Python keyword
    source: str
    notes: str


class _SynonymRow(CsvRow):
    synonym: Text
    ingredient: Text
    source: str
    notes: str


class _BrandRow(CsvRow):
    brand: Text
    ingredients: Text
    modified_release: CsvBool
    release_hours: OptionalInt
    use: Annotated[Use | None, BeforeValidator(blank_to_none)]
    default_form: str
    source: str
    notes: str


@dataclass(frozen=True, slots=True)
class UseRule:
    """One row of uses_by_name.csv: a product matching every non-empty condition has
    ``use``."""

    ingredient: str
    with_ingredient: str
    route: Route | None
    dose_form: str
    liquid_only: bool
    min_unit_mg: float | None
    use: Use

    def matches(
        self, names: Sequence[str], dose_form: str, route: Route, unit_mg: float, liquid: bool
    ) -> bool:
        return (
            (not self.ingredient or self.ingredient in names)
            and (not self.with_ingredient or self.with_ingredient in names)
            and (self.route is None or route is self.route)
            and (not self.dose_form or dose_form == self.dose_form)
            and (liquid or not self.liquid_only)
            and (self.min_unit_mg is None or unit_mg >= self.min_unit_mg)
        )


class _UseByNameRow(CsvRow):
    ingredient: str
    with_ingredient: str
    route: Annotated[Route | None, BeforeValidator(blank_to_none)]
    dose_form: str
    liquid_only: CsvBool
    min_unit_mg: OptionalFloat
    use: Use
    source: str
    notes: str


class _CoDrugRow(CsvRow):
    co_drug: Text
    ingredients: Text
    source: str
    notes: str


class _BnfUseRow(CsvRow):
    bnf_prefix: Text
    use: Use
    source: str
    notes: str


class Vocabulary:
    """The loaded vocabulary. Build it with :meth:`load` (or from tables, in tests)."""

    def __init__(
        self,
        ingredient_class: Mapping[str, IngredientClass],
        synonyms: Mapping[str, str],
        brands: Mapping[str, Brand],
        co_drugs: Mapping[str, tuple[str, ...]],
        bnf_uses: Mapping[str, Use],
        uses_by_name: Sequence[UseRule],
    ) -> None:
        self.ingredient_class = MappingProxyType(dict(ingredient_class))
        self.synonyms = MappingProxyType(dict(synonyms))
        self.brands = MappingProxyType(dict(brands))
        #: co-drug name → ingredients in the order its strengths are written.
        self.co_drugs = MappingProxyType(dict(co_drugs))
        self.bnf_uses = MappingProxyType(dict(bnf_uses))
        self.uses_by_name = tuple(uses_by_name)

    @classmethod
    def load(cls, rules_dir: Path, sources: Sources) -> Vocabulary:
        """Read and check the four files; raises ReferenceDataError naming file, row, field."""
        classes: dict[str, IngredientClass] = {}
        path = rules_dir / INGREDIENTS_FILE
        for row in read_csv(path, _IngredientRow):
            r = row.value
            _check_name(path, row.line, "ingredient", r.ingredient)
            sources.check(r.source, str(path), "source", row=row.line)
            if r.ingredient in classes:
                raise ReferenceDataError(
                    str(path), "ingredient", f"{r.ingredient!r} is listed twice", row=row.line
                )
            classes[r.ingredient] = r.class_

        synonyms: dict[str, str] = {}
        path = rules_dir / SYNONYMS_FILE
        for srow in read_csv(path, _SynonymRow):
            s = srow.value
            _check_name(path, srow.line, "synonym", s.synonym)
            sources.check(s.source, str(path), "source", row=srow.line)
            _check_known(path, srow.line, "ingredient", s.ingredient, classes)
            if s.synonym in synonyms or s.synonym in classes:
                raise ReferenceDataError(
                    str(path),
                    "synonym",
                    f"{s.synonym!r} is listed twice or is itself an ingredient",
                    row=srow.line,
                )
            synonyms[s.synonym] = s.ingredient

        brands: dict[str, Brand] = {}
        path = rules_dir / BRANDS_FILE
        for brow in read_csv(path, _BrandRow):
            b = brow.value
            _check_name(path, brow.line, "brand", b.brand)
            sources.check(b.source, str(path), "source", row=brow.line)
            ingredients = tuple(part.strip() for part in b.ingredients.split(";"))
            for ingredient in ingredients:
                _check_known(path, brow.line, "ingredients", ingredient, classes)
            if b.brand in brands:
                raise ReferenceDataError(
                    str(path), "brand", f"{b.brand!r} is listed twice", row=brow.line
                )
            if b.release_hours is not None and not b.modified_release:
                raise ReferenceDataError(
                    str(path),
                    "release_hours",
                    "only a modified-release brand has release hours",
                    row=brow.line,
                )
            brands[b.brand] = Brand(
                ingredients, b.modified_release, b.release_hours, b.use, b.default_form
            )

        co_drugs: dict[str, tuple[str, ...]] = {}
        path = rules_dir / CO_DRUGS_FILE
        for crow in read_csv(path, _CoDrugRow):
            c = crow.value
            _check_name(path, crow.line, "co_drug", c.co_drug)
            sources.check(c.source, str(path), "source", row=crow.line)
            parts = tuple(part.strip() for part in c.ingredients.split(";"))
            for ingredient in parts:
                _check_known(path, crow.line, "ingredients", ingredient, classes)
            if c.co_drug in co_drugs or " " in c.co_drug:
                raise ReferenceDataError(
                    str(path), "co_drug", "must be one word, listed once", row=crow.line
                )
            co_drugs[c.co_drug] = parts

        bnf_uses: dict[str, Use] = {}
        path = rules_dir / BNF_USES_FILE
        for urow in read_csv(path, _BnfUseRow):
            u = urow.value
            sources.check(u.source, str(path), "source", row=urow.line)
            if not u.bnf_prefix.isdigit() or u.bnf_prefix in bnf_uses:
                raise ReferenceDataError(
                    str(path), "bnf_prefix", "must be digits, listed once", row=urow.line
                )
            bnf_uses[u.bnf_prefix] = u.use

        uses_by_name: list[UseRule] = []
        path = rules_dir / USES_BY_NAME_FILE
        for nrow in read_csv(path, _UseByNameRow):
            n = nrow.value
            sources.check(n.source, str(path), "source", row=nrow.line)
            for field in ("ingredient", "with_ingredient"):
                if getattr(n, field):
                    _check_known(path, nrow.line, field, getattr(n, field), classes)
            if not (n.ingredient or n.with_ingredient or n.route or n.dose_form):
                raise ReferenceDataError(
                    str(path),
                    "ingredient",
                    "a row needs an ingredient, a route or a dose form",
                    row=nrow.line,
                )
            uses_by_name.append(
                UseRule(
                    n.ingredient,
                    n.with_ingredient,
                    n.route,
                    n.dose_form,
                    n.liquid_only,
                    n.min_unit_mg,
                    n.use,
                )
            )
        return cls(classes, synonyms, brands, co_drugs, bnf_uses, uses_by_name)

    def ingredients_of(self, ingredient_class: IngredientClass) -> frozenset[str]:
        """The canonical ingredients of one class (e.g. every opioid)."""
        return frozenset(
            name for name, found in self.ingredient_class.items() if found is ingredient_class
        )

    def use_by_name(
        self, names: Sequence[str], dose_form: str, route: Route, unit_mg: float, liquid: bool
    ) -> Use | None:
        """The use the first matching row of uses_by_name.csv gives, or None.

        ``unit_mg``: the largest strength in mg per unit of presentation (0 when none);
        ``liquid``: whether the product is measured in ml.
        """
        for rule in self.uses_by_name:
            if rule.matches(names, dose_form, route, unit_mg, liquid):
                return rule.use
        return None

    def use_from_bnf(self, bnf_code: str) -> Use | None:
        """The use a BNF presentation code's section implies, or None (longest prefix)."""
        best = max((p for p in self.bnf_uses if bnf_code.startswith(p)), key=len, default=None)
        return None if best is None else self.bnf_uses[best]


def _check_name(path: Path, line: int, field: str, value: str) -> None:
    try:
        _canonical(value)
    except ValueError as exc:
        raise ReferenceDataError(str(path), field, str(exc), row=line) from None


def _check_known(
    path: Path, line: int, field: str, ingredient: str, known: Mapping[str, IngredientClass]
) -> None:
    if ingredient not in known:
        raise ReferenceDataError(
            str(path),
            field,
            f"{ingredient!r} is not in rules/medicines/ingredients.csv",
            row=line,
        )
