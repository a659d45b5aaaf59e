"""The medicines dictionary: products by code or by name, built once at startup.

Loads ``rules/medicines/dmd_products.csv``, ``dmd_code_history.csv`` and
``rxnorm_products.csv`` (written by ``tools/build_medicines.py``; columns in
``rules/medicines/README.md``), checks every row, and holds plain dict indexes so that no
lookup reads a file. A table that breaks its rules stops the service from starting with a
``ReferenceDataError`` naming the file, row and field.

Unknown codes and unreadable names give ``None``: the caller reports the medicine as
unresolved, never as 0 mg.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Annotated

from pydantic import AfterValidator

from service.errors import ReferenceDataError
from service.fhir.systems import medicine_system
from service.medicines.model import Ingredient, IngredientClass, Product, Route, Strength, Use
from service.medicines.names import normalise_name, parse_product_name
from service.medicines.vocabulary import Vocabulary
from service.rulefiles import (
    CsvBool,
    CsvRow,
    OptionalFloat,
    OptionalInt,
    Row,
    Sources,
    Text,
    read_csv,
)

__all__ = ["MedicinesDictionary"]

DMD_PRODUCTS = Path("medicines") / "dmd_products.csv"
DMD_HISTORY = Path("medicines") / "dmd_code_history.csv"
RXNORM_PRODUCTS = Path("medicines") / "rxnorm_products.csv"

# dm+d codes are SNOMED CT UK drug extension ids: UK Core uses https://dmd.nhs.uk, EPS and
# GP Connect use http://snomed.info/sct (../shared/reference/README.md, dmd section); see
# service.fhir.systems.medicine_system.

_STRENGTH_UNITS = frozenset({"mg", "microgram", "g", "nanogram"})
_PER_UNITS = frozenset({"unit", "ml", "hour", "dose", "g"})
_NAME_RANK = {"VMP": 0, "AMP": 1, "VTM": 2}


class MedicinesDictionary:
    """Products from ``rules/medicines``, indexed by code, by name and by ingredient."""

    def __init__(
        self,
        dmd: Mapping[str, Product],
        rxnorm: Mapping[str, Product],
        history: Mapping[str, str],
        vocabulary: Vocabulary,
    ) -> None:
        #: The ingredient, synonym and brand tables the name parser reads.
        self.vocabulary = vocabulary
        self._dmd = MappingProxyType(dict(dmd))
        self._rxnorm = MappingProxyType(dict(rxnorm))
        self._history = MappingProxyType(dict(history))
        self._names = MappingProxyType(self._name_index())
        self._single = MappingProxyType(self._ingredient_index())
        self._brands = MappingProxyType(self._brand_index())
        self._amp_hours = MappingProxyType(self._amp_release_hours())

    @classmethod
    def load(
        cls,
        rules_dir: Path,
        sources: Sources | None = None,
        vocabulary: Vocabulary | None = None,
    ) -> MedicinesDictionary:
        """Read and check the three tables under ``rules_dir / "medicines"``.

        ``sources``: the bibliography every row's source must cite; ``vocabulary``: the
        ingredients, synonyms and brands names are read with. Both are read from
        ``rules_dir`` when not given (the composition root gives them).
        """
        sources = sources if sources is not None else Sources.load(rules_dir)
        if vocabulary is None:
            vocabulary = Vocabulary.load(rules_dir, sources)
        dmd = _products(rules_dir / DMD_PRODUCTS, "dmd", sources)
        rxnorm = _products(rules_dir / RXNORM_PRODUCTS, "rxnorm", sources)
        history = _history(rules_dir / DMD_HISTORY, dmd, sources)
        return cls(dmd, rxnorm, history, vocabulary)

    def by_code(self, system: str, code: str) -> Product | None:
        """The product a FHIR coding names; a superseded dm+d VMP id gives the current one."""
        kind = medicine_system(system)
        code = code.strip()
        if kind == "dm+d":
            product = self._dmd.get(code)
            if product is None and code in self._history:
                product = self._dmd.get(self._history[code])
            return product
        if kind == "RxNorm":
            return self._rxnorm.get(code)
        return None

    def by_name(self, text: str) -> Product | None:
        """An exact (case- and space-insensitive) product name, else what the name says.

        A parsed name gives a Product with system "name" and concept_type "PARSED".
        """
        key = normalise_name(text)
        if not key:
            return None
        if (product := self._names.get(key)) is not None:
            return product
        parsed = parse_product_name(text, self.vocabulary)
        if parsed is None:
            return None
        return Product(
            code=key,
            system="name",
            concept_type="PARSED",
            name=" ".join(text.split()),
            ingredients=parsed.ingredients,
            dose_form=parsed.dose_form,
            route=parsed.route,
            unit_of_presentation=parsed.unit_of_presentation,
            modified_release=parsed.modified_release,
            release_hours=parsed.release_hours,
            use=parsed.use,
        )

    def products_with(
        self, ingredient: str, route: Route, modified_release: bool | None = None
    ) -> tuple[Product, ...]:
        """Current dm+d VMPs of ``ingredient`` alone by ``route``, weakest strength first.

        Only analgesic-use products with a stated strength (no linctus, gel or
        substance-dependence product); AMPs are left out so that each strength appears
        once. ``modified_release`` None means both.
        """
        products = self._single.get((ingredient, route), ())
        if modified_release is None:
            return products
        return tuple(p for p in products if p.modified_release is modified_release)

    def same_brand(self, product: Product) -> tuple[Product, ...]:
        """Current dm+d AMPs of ``product``'s brand ("Zomorph", "MXL", "Zydol XL") with its
        ingredients, form, route and release time, weakest first; empty for a VMP or a
        generic AMP. Modified-release opioids are prescribed by brand: a taper of Zomorph
        stays on Zomorph strengths (issue 18)."""
        brand = brand_of(product)
        if brand is None:
            return ()
        names = {i.name for i in product.ingredients}
        return tuple(
            p
            for p in self._brands.get(brand, ())
            if p.dose_form == product.dose_form
            and p.route is product.route
            and p.modified_release is product.modified_release
            and p.release_hours == product.release_hours
            and {i.name for i in p.ingredients} == names
        )

    def release_hours_of(self, product: Product) -> int | None:
        """A product's release time; for a VMP whose every AMP is of one other release time,
        that one: dm+d records the tramadol 300 and 400 mg MR VMPs and the morphine 90, 120
        and 150 mg MR capsules as 12-hour, though every product is a 24-hour brand
        (ADR 0004, known limits)."""
        hours = self._amp_hours.get(product.code) if product.concept_type == "VMP" else None
        if hours is not None and len(hours) == 1:
            return next(iter(hours))
        return product.release_hours

    def _brand_index(self) -> dict[str, tuple[Product, ...]]:
        found: dict[str, list[Product]] = defaultdict(list)
        for product in self._dmd.values():
            brand = brand_of(product)
            if brand is not None and product.use is Use.ANALGESIA:
                found[brand].append(product)
        return {
            brand: tuple(sorted(products, key=_strength_order)) for brand, products in found.items()
        }

    def _amp_release_hours(self) -> dict[str, frozenset[int | None]]:
        found: dict[str, set[int | None]] = defaultdict(set)
        for product in self._dmd.values():
            if product.concept_type == "AMP" and product.vmp_code:
                found[product.vmp_code].add(product.release_hours)
        return {code: frozenset(hours) for code, hours in found.items()}

    def _name_index(self) -> dict[str, Product]:
        ranked: dict[str, tuple[tuple[int, bool, int], Product]] = {}
        for product in (*self._dmd.values(), *self._rxnorm.values()):
            rank = (
                _NAME_RANK.get(product.concept_type, 3),
                product.code in self._history,
                int(product.code),
            )
            key = normalise_name(product.name)
            if key not in ranked or rank < ranked[key][0]:
                ranked[key] = (rank, product)
        return {key: product for key, (_, product) in ranked.items()}

    def _ingredient_index(self) -> dict[tuple[str, Route], tuple[Product, ...]]:
        found: dict[tuple[str, Route], list[Product]] = defaultdict(list)
        for code, product in self._dmd.items():
            if (
                product.concept_type == "VMP"
                and code not in self._history
                and product.use is Use.ANALGESIA
                and len(product.ingredients) == 1
                and product.ingredients[0].strength is not None
            ):
                found[(product.ingredients[0].name, product.route)].append(product)
        return {
            key: tuple(sorted(products, key=_strength_order)) for key, products in found.items()
        }


def brand_of(product: Product) -> str | None:
    """The brand of a dm+d AMP: its name before the strength ("MST Continus", "Zydol XL");
    None for a VMP or a generic AMP (named by its ingredient)."""
    if product.system != "dmd" or product.concept_type != "AMP":
        return None
    words: list[str] = []
    for word in product.name.split():
        if word[:1].isdigit():
            break
        words.append(word)
    brand = " ".join(words).lower()
    if not brand or any(brand.startswith(i.name) for i in product.ingredients):
        return None
    return brand


def _strength_order(product: Product) -> tuple[float, str, str]:
    strength = product.ingredients[0].strength
    return (strength.mg_per_one if strength else 0.0, product.name, product.code)


# *** loading and checking ***

_MAKE_MEDICINES = "run `make medicines`"


def _digits(value: str) -> str:
    if not value.isdigit():
        raise ValueError("must be digits")
    return value


def _lower_case_name(value: str) -> str:
    if not value or value != value.lower():
        raise ValueError("must be a lower-case canonical name")
    return value


def _hours(value: int | None) -> int | None:
    if value is not None and value < 0:
        raise ValueError("must be a whole number of hours or empty")
    return value


Code = Annotated[str, AfterValidator(_digits)]


class ProductRow(CsvRow):
    """One row of dmd_products.csv / rxnorm_products.csv: one ingredient of one product.
    A product with several ingredients has one row each, repeating the product's columns."""

    code: Code
    concept_type: Text
    name: Text
    vmp_code: str
    bnf_code: str
    ingredient: Annotated[str, AfterValidator(_lower_case_name)]
    ingredient_class: IngredientClass
    strength_value: OptionalFloat
    strength_unit: str
    per_value: OptionalFloat
    per_unit: str
    dose_form: str
    route: Route
    unit_of_presentation: str
    modified_release: CsvBool
    release_hours: Annotated[OptionalInt, AfterValidator(_hours)]
    use: Use
    source: Text


class HistoryRow(CsvRow):
    """One row of dmd_code_history.csv: a superseded dm+d VMP id and its successor."""

    previous_code: Code
    current_code: Code
    source: Text


PRODUCT_COLUMNS = tuple(ProductRow.model_fields)
HISTORY_COLUMNS = tuple(HistoryRow.model_fields)
# Columns that describe the product, repeated on each of its ingredient rows.
_PRODUCT_FIELDS = tuple(
    f
    for f in PRODUCT_COLUMNS
    if f not in {"ingredient", "ingredient_class"} and not f.startswith(("strength", "per_"))
)


def _products(path: Path, system: str, sources: Sources) -> dict[str, Product]:
    file = str(path)
    grouped: dict[str, list[Row[ProductRow]]] = defaultdict(list)
    for row in read_csv(path, ProductRow, missing_hint=_MAKE_MEDICINES):
        sources.check(row.value.source, file, "source", row=row.line)
        grouped[row.value.code].append(row)
    return {code: _product(file, system, rows) for code, rows in grouped.items()}


def _product(file: str, system: str, rows: list[Row[ProductRow]]) -> Product:
    first = rows[0].value
    for other in rows[1:]:
        for field in _PRODUCT_FIELDS:
            if getattr(other.value, field) != getattr(first, field):
                raise ReferenceDataError(
                    file, field, "differs between rows of one product", row=other.line
                )
    ingredients = tuple(_ingredient(file, row) for row in rows)
    if len({i.name for i in ingredients}) != len(ingredients):
        raise ReferenceDataError(
            file, "ingredient", "appears twice in one product", row=rows[0].line
        )
    return Product(
        code=first.code,
        system=system,
        concept_type=first.concept_type,
        name=first.name,
        ingredients=ingredients,
        dose_form=first.dose_form,
        route=first.route,
        unit_of_presentation=first.unit_of_presentation,
        modified_release=first.modified_release,
        release_hours=first.release_hours,
        use=first.use,
        bnf_code=first.bnf_code,
        source=first.source,
        vmp_code=first.vmp_code if first.concept_type == "AMP" else "",
    )


def _ingredient(file: str, row: Row[ProductRow]) -> Ingredient:
    r = row.value

    def error(field: str, problem: str) -> ReferenceDataError:
        return ReferenceDataError(file, field, problem, row=row.line)

    given = [
        r.strength_value is not None,
        bool(r.strength_unit),
        r.per_value is not None,
        bool(r.per_unit),
    ]
    if not any(given):
        return Ingredient(r.ingredient, r.ingredient_class, None)
    if not all(given) or r.strength_value is None or r.per_value is None:
        raise error("strength_value", "strength columns must be all set or all empty")
    if r.strength_unit not in _STRENGTH_UNITS:
        raise error("strength_unit", f"must be one of {sorted(_STRENGTH_UNITS)}")
    if r.per_unit not in _PER_UNITS:
        raise error("per_unit", f"must be one of {sorted(_PER_UNITS)}")
    for field, value in (("strength_value", r.strength_value), ("per_value", r.per_value)):
        if not value > 0:
            raise error(field, "must be greater than 0")
    return Ingredient(
        r.ingredient,
        r.ingredient_class,
        Strength(r.strength_value, r.strength_unit, r.per_value, r.per_unit),
    )


def _history(path: Path, dmd: Mapping[str, Product], sources: Sources) -> dict[str, str]:
    file = str(path)
    history: dict[str, str] = {}
    for row in read_csv(path, HistoryRow, missing_hint=_MAKE_MEDICINES):
        r = row.value
        sources.check(r.source, file, "source", row=row.line)
        if r.current_code not in dmd and r.previous_code not in dmd:
            raise ReferenceDataError(
                file, "current_code", "is not in dmd_products.csv", row=row.line
            )
        history[r.previous_code] = r.current_code
    return history
