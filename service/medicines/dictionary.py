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

import csv
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TypeVar

from service.errors import ReferenceDataError
from service.medicines.model import Ingredient, IngredientClass, Product, Route, Strength, Use
from service.medicines.names import normalise_name, parse_product_name

__all__ = ["MedicinesDictionary"]

DMD_PRODUCTS = Path("medicines") / "dmd_products.csv"
DMD_HISTORY = Path("medicines") / "dmd_code_history.csv"
RXNORM_PRODUCTS = Path("medicines") / "rxnorm_products.csv"

PRODUCT_COLUMNS = (
    "code",
    "concept_type",
    "name",
    "vmp_code",
    "bnf_code",
    "ingredient",
    "ingredient_class",
    "strength_value",
    "strength_unit",
    "per_value",
    "per_unit",
    "dose_form",
    "route",
    "unit_of_presentation",
    "modified_release",
    "release_hours",
    "use",
    "source",
)
HISTORY_COLUMNS = ("previous_code", "current_code", "source")

# dm+d codes are SNOMED CT UK drug extension ids: UK Core uses https://dmd.nhs.uk, EPS and
# GP Connect use http://snomed.info/sct (../shared/reference/README.md, dmd section).
# Compared without a trailing slash and case-insensitively, as clients vary.
_DMD_SYSTEMS = frozenset({"https://dmd.nhs.uk", "http://snomed.info/sct"})
_RXNORM_SYSTEMS = frozenset({"http://www.nlm.nih.gov/research/umls/rxnorm"})

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
    ) -> None:
        self._dmd = MappingProxyType(dict(dmd))
        self._rxnorm = MappingProxyType(dict(rxnorm))
        self._history = MappingProxyType(dict(history))
        self._names = MappingProxyType(self._name_index())
        self._single = MappingProxyType(self._ingredient_index())

    @classmethod
    def load(cls, rules_dir: Path) -> MedicinesDictionary:
        """Read and check the three tables under ``rules_dir / "medicines"``."""
        dmd = _products(rules_dir / DMD_PRODUCTS, "dmd")
        rxnorm = _products(rules_dir / RXNORM_PRODUCTS, "rxnorm")
        history = _history(rules_dir / DMD_HISTORY, dmd)
        return cls(dmd, rxnorm, history)

    def by_code(self, system: str, code: str) -> Product | None:
        """The product a FHIR coding names; a superseded dm+d VMP id gives the current one."""
        uri = system.strip().rstrip("/").casefold()
        code = code.strip()
        if uri in _DMD_SYSTEMS:
            product = self._dmd.get(code)
            if product is None and code in self._history:
                product = self._dmd.get(self._history[code])
            return product
        if uri in _RXNORM_SYSTEMS:
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
        parsed = parse_product_name(text)
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


def _strength_order(product: Product) -> tuple[float, str, str]:
    strength = product.ingredients[0].strength
    return (strength.mg_per_one if strength else 0.0, product.name, product.code)


# *** loading and checking ***


def _rows(path: Path, columns: tuple[str, ...]) -> Iterable[tuple[int, dict[str, str]]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if tuple(reader.fieldnames or ()) != columns:
                raise ReferenceDataError(str(path), "header", f"columns must be {list(columns)}")
            rows = list(reader)
    except OSError as error:
        raise ReferenceDataError(
            str(path), "file", f"cannot be read ({error.strerror}); run `make medicines`"
        ) from error
    return enumerate(rows, start=2)


def _products(path: Path, system: str) -> dict[str, Product]:
    grouped: dict[str, list[tuple[int, dict[str, str]]]] = defaultdict(list)
    for line, row in _rows(path, PRODUCT_COLUMNS):
        if not row["code"].isdigit():
            raise ReferenceDataError(str(path), f"row {line}, field 'code'", "must be digits")
        grouped[row["code"]].append((line, row))
    return {code: _product(path, system, rows) for code, rows in grouped.items()}


def _product(path: Path, system: str, rows: list[tuple[int, dict[str, str]]]) -> Product:
    line, first = rows[0]
    where = _Where(path, line)
    for other_line, other in rows[1:]:
        for field in _PRODUCT_FIELDS:
            if other[field] != first[field]:
                raise _Where(path, other_line).error(field, "differs between rows of one product")
    for field in ("concept_type", "name", "source"):
        if not first[field]:
            raise where.error(field, "must not be empty")
    ingredients = tuple(_ingredient(row, _Where(path, at)) for at, row in rows)
    if len({i.name for i in ingredients}) != len(ingredients):
        raise where.error("ingredient", "appears twice in one product")
    hours = first["release_hours"]
    if hours and not hours.isdigit():
        raise where.error("release_hours", "must be a whole number of hours or empty")
    if first["modified_release"] not in {"true", "false"}:
        raise where.error("modified_release", "must be true or false")
    return Product(
        code=first["code"],
        system=system,
        concept_type=first["concept_type"],
        name=first["name"],
        ingredients=ingredients,
        dose_form=first["dose_form"],
        route=where.enum(Route, first, "route"),
        unit_of_presentation=first["unit_of_presentation"],
        modified_release=first["modified_release"] == "true",
        release_hours=int(hours) if hours else None,
        use=where.enum(Use, first, "use"),
        bnf_code=first["bnf_code"],
        source=first["source"],
    )


# Columns that describe the product, repeated on each of its ingredient rows.
_PRODUCT_FIELDS = tuple(
    f
    for f in PRODUCT_COLUMNS
    if f not in {"ingredient", "ingredient_class"} and not f.startswith(("strength", "per_"))
)
_E = TypeVar("_E", Route, Use, IngredientClass)


@dataclass(frozen=True, slots=True)
class _Where:
    """A row of a table, to name in errors."""

    path: Path
    line: int

    def error(self, field: str, problem: str) -> ReferenceDataError:
        return ReferenceDataError(str(self.path), f"row {self.line}, field {field!r}", problem)

    def enum(self, kind: type[_E], row: dict[str, str], field: str) -> _E:
        try:
            return kind(row[field])
        except ValueError:
            raise self.error(field, f"must be one of {[m.value for m in kind]}") from None

    def positive(self, row: dict[str, str], field: str) -> float:
        try:
            value = float(row[field])
        except ValueError:
            raise self.error(field, "must be a number") from None
        if not value > 0:
            raise self.error(field, "must be greater than 0")
        return value


def _ingredient(row: dict[str, str], where: _Where) -> Ingredient:
    name = row["ingredient"]
    if not name or name != name.lower():
        raise where.error("ingredient", "must be a lower-case canonical name")
    ingredient_class = where.enum(IngredientClass, row, "ingredient_class")
    given = [bool(row[f]) for f in ("strength_value", "strength_unit", "per_value", "per_unit")]
    if not any(given):
        return Ingredient(name, ingredient_class, None)
    if not all(given):
        raise where.error("strength_value", "strength columns must be all set or all empty")
    if row["strength_unit"] not in _STRENGTH_UNITS:
        raise where.error("strength_unit", f"must be one of {sorted(_STRENGTH_UNITS)}")
    if row["per_unit"] not in _PER_UNITS:
        raise where.error("per_unit", f"must be one of {sorted(_PER_UNITS)}")
    strength = Strength(
        where.positive(row, "strength_value"),
        row["strength_unit"],
        where.positive(row, "per_value"),
        row["per_unit"],
    )
    return Ingredient(name, ingredient_class, strength)


def _history(path: Path, dmd: Mapping[str, Product]) -> dict[str, str]:
    history: dict[str, str] = {}
    for line, row in _rows(path, HISTORY_COLUMNS):
        previous, current = row["previous_code"], row["current_code"]
        if not (previous.isdigit() and current.isdigit()):
            raise ReferenceDataError(str(path), f"row {line}", "codes must be digits")
        if not row["source"]:
            raise ReferenceDataError(str(path), f"row {line}, field 'source'", "must not be empty")
        if current not in dmd and previous not in dmd:
            raise ReferenceDataError(
                str(path), f"row {line}, field 'current_code'", "is not in dmd_products.csv"
            )
        history[previous] = current
    return history
