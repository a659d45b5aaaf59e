"""OME conversion factors: ``rules/ome/factors.csv`` and ``rules/ome/profiles.yaml``.

Both files are read once, at startup, by :meth:`FactorTable.load`, checked row by row,
and held in an immutable index. Every number comes from the rules files, each with its
source; this module holds none. Any violation raises :class:`ReferenceDataError`, which
names the file, the row and the field, so a bad table stops the service from starting
instead of producing a wrong OME.

A combination the table does not hold is answered with status ``unknown`` and no
factor: never with 0. See docs/adr/0002-ome-conversion-factors.md for the choices made
where sources disagree.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import yaml

from service.medicines.model import Route

FACTORS_FILE = Path("ome") / "factors.csv"
PROFILES_FILE = Path("ome") / "profiles.yaml"
SOURCES_FILE = Path("sources.yaml")

COLUMNS = (
    "profile",
    "ingredient",
    "route",
    "status",
    "factor",
    "basis",
    "source",
    "source_locator",
    "alternatives",
    "notes",
)

# Canonical lower-case ingredient names the factor table may use (the vocabulary shared
# with service.medicines). A name outside this set is a typo that would otherwise turn
# into a silent "unknown" at lookup time, so the loader rejects it.
INGREDIENTS = frozenset(
    {
        "alfentanil",
        "buprenorphine",
        "codeine",
        "dextromoramide",
        "dextropropoxyphene",
        "diamorphine",
        "dihydrocodeine",
        "dipipanone",
        "fentanyl",
        "hydrocodone",
        "hydromorphone",
        "levorphanol",
        "meptazinol",
        "methadone",
        "morphine",
        "nalbuphine",
        "opium",
        "oxycodone",
        "oxymorphone",
        "papaveretum",
        "pentazocine",
        "pethidine",
        "remifentanil",
        "tapentadol",
        "tramadol",
    }
)


class ReferenceDataError(Exception):
    """A rules file is missing, unreadable or breaks the table's rules.

    ``path``, ``row`` and ``field`` say where; ``row`` is the CSV line number (the header
    is row 1) or, for YAML, the 1-based position of the entry in its list.
    """

    def __init__(
        self,
        path: Path,
        reason: str,
        *,
        row: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = path
        self.row = row
        self.field = field
        self.reason = reason
        where = str(path)
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {reason}")


class FactorStatus(StrEnum):
    """What the table says about an (ingredient, route) under a profile."""

    FACTOR = "factor"  # a number applies
    NO_FIXED_RATIO = "no_fixed_ratio"  # e.g. methadone (UK): specialist review, no number
    NOT_COUNTED = "not_counted"  # deliberately excluded, e.g. buprenorphine under CDC 2022
    UNKNOWN = "unknown"  # not in the table; never written in the CSV


class Basis(StrEnum):
    """The unit a factor multiplies."""

    PER_MG = "per_mg"  # mg OME/day per mg of drug/day
    PER_MICROGRAM_PER_HOUR = "per_microgram_per_hour"  # mg OME/day per microgram/hour of patch


class RoundingScope(StrEnum):
    PER_INGREDIENT_PER_DAY = "per_ingredient_per_day"


class RoundingMode(StrEnum):
    HALF_UP = "half_up"


class PrnDose(StrEnum):
    RANGE_HIGH = "range_high"


class PrnFrequency(StrEnum):
    FREQUENCY_MAX = "frequency_max"


class PrnPeriod(StrEnum):
    SHORTEST = "shortest"


class StatedDailyMaximum(StrEnum):
    CAP = "cap"  # a stated maximum (maxDosePerPeriod, "max 8 in 24 hours") caps the count
    IGNORE = "ignore"  # as cqframework, which does not read it


_CSV_STATUSES = frozenset(
    {FactorStatus.FACTOR, FactorStatus.NO_FIXED_RATIO, FactorStatus.NOT_COUNTED}
)


@dataclass(frozen=True, slots=True)
class FactorLookup:
    """The answer for one (profile, ingredient, route).

    ``factor`` is set only when ``status`` is ``factor``; ``basis`` says what it
    multiplies. ``source`` holds ids from rules/sources.yaml.
    """

    status: FactorStatus
    factor: float | None
    basis: Basis | None
    source: tuple[str, ...]
    source_locator: str
    alternatives: str
    notes: str


@dataclass(frozen=True, slots=True)
class RoundingRule:
    """How each ingredient's OME/day is rounded before ingredients are summed."""

    scope: RoundingScope
    decimal_places: int
    mode: RoundingMode
    source: tuple[str, ...]
    source_locator: str
    notes: str


@dataclass(frozen=True, slots=True)
class PrnRule:
    """How "when required" doses and ranges are counted (at the most the sig allows)."""

    counted: bool
    dose: PrnDose
    frequency: PrnFrequency
    period: PrnPeriod
    stated_daily_maximum: StatedDailyMaximum
    label: str
    source: tuple[str, ...]
    source_locator: str
    notes: str


@dataclass(frozen=True, slots=True)
class Profile:
    """One entry of rules/ome/profiles.yaml."""

    profile_id: str
    title: str
    description: str
    default: bool
    sources: tuple[str, ...]
    rounding: RoundingRule
    prn: PrnRule


_Key = tuple[str, str, Route]


@dataclass(frozen=True, slots=True, repr=False)
class FactorTable:
    """The loaded, validated and immutable factor index. Build it with :meth:`load`."""

    _profiles: Mapping[str, Profile]
    _default_profile: str
    _index: Mapping[_Key, FactorLookup]

    @classmethod
    def load(cls, rules_dir: Path) -> FactorTable:
        """Read and check ``rules_dir``/ome/factors.csv and ome/profiles.yaml.

        Call once at startup. Raises :class:`ReferenceDataError` on any violation.
        """
        source_ids = _load_source_ids(rules_dir / SOURCES_FILE)
        profiles = _load_profiles(rules_dir / PROFILES_FILE, source_ids)
        index = _load_factors(rules_dir / FACTORS_FILE, source_ids, frozenset(profiles))
        default = next(p.profile_id for p in profiles.values() if p.default)
        return cls(
            _profiles=MappingProxyType(profiles),
            _default_profile=default,
            _index=MappingProxyType(index),
        )

    def profiles(self) -> tuple[str, ...]:
        """Profile ids, in the order profiles.yaml lists them."""
        return tuple(self._profiles)

    @property
    def default_profile(self) -> str:
        return self._default_profile

    def profile(self, profile_id: str) -> Profile:
        """The profile's rounding and PRN rules. Raises KeyError for an undefined id."""
        try:
            return self._profiles[profile_id]
        except KeyError:
            raise KeyError(f"OME profile {profile_id!r} is not defined") from None

    def lookup(self, profile: str, ingredient: str, route: Route) -> FactorLookup:
        """The factor for ``ingredient`` by ``route`` under ``profile``.

        Anything the table does not hold, including an undefined profile, is answered
        with status ``unknown`` and ``factor`` None.
        """
        found = self._index.get((profile, ingredient.strip().lower(), route))
        if found is not None:
            return found
        if profile not in self._profiles:
            why = f"OME profile {profile!r} is not defined"
        else:
            why = f"no conversion factor for {ingredient} ({route}) under {profile}"
        return FactorLookup(
            status=FactorStatus.UNKNOWN,
            factor=None,
            basis=None,
            source=(),
            source_locator="",
            alternatives="",
            notes=why,
        )

    def entries(self, profile: str) -> tuple[tuple[str, Route, FactorLookup], ...]:
        """Every (ingredient, route, lookup) the table holds for ``profile``, sorted."""
        return tuple(
            sorted(
                (
                    (ingredient, route, found)
                    for (p, ingredient, route), found in self._index.items()
                    if p == profile
                ),
                key=lambda entry: (entry[0], entry[1].value),
            )
        )

    def __repr__(self) -> str:
        return f"FactorTable(profiles={self.profiles()!r}, rows={len(self._index)})"


# --------------------------------------------------------------------------- sources


def _read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReferenceDataError(path, f"cannot read the file ({exc})") from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ReferenceDataError(path, f"not valid YAML ({exc})") from exc


def _load_source_ids(path: Path) -> frozenset[str]:
    data = _read_yaml(path)
    if not isinstance(data, dict) or not data:
        raise ReferenceDataError(path, "expected a mapping of source ids")
    return frozenset(str(key) for key in data)


def _source_ids(
    value: object, known: frozenset[str], path: Path, row: int | None, field: str
) -> tuple[str, ...]:
    """Parse a source list (YAML list or ';'-separated string) and check every id exists."""
    if isinstance(value, str):
        ids = [part.strip() for part in value.split(";")]
    elif isinstance(value, list) and all(isinstance(part, str) for part in value):
        ids = [part.strip() for part in value]
    else:
        raise ReferenceDataError(path, "expected source ids", row=row, field=field)
    if not ids or any(not part for part in ids):
        raise ReferenceDataError(path, "empty source id", row=row, field=field)
    if len(set(ids)) != len(ids):
        raise ReferenceDataError(path, "a source id is repeated", row=row, field=field)
    for part in ids:
        if part not in known:
            raise ReferenceDataError(
                path,
                f"unknown source id {part!r} (not in rules/sources.yaml)",
                row=row,
                field=field,
            )
    return tuple(ids)


# -------------------------------------------------------------------------- profiles


_PROFILE_KEYS = frozenset({"id", "title", "description", "default", "sources", "rounding", "prn"})
_ROUNDING_KEYS = frozenset({"scope", "decimal_places", "mode", "source", "source_locator", "notes"})
_PRN_KEYS = frozenset(
    {
        "counted",
        "dose",
        "frequency",
        "period",
        "stated_daily_maximum",
        "label",
        "source",
        "source_locator",
        "notes",
    }
)


_E = TypeVar("_E", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class _Entry:
    """One YAML mapping being validated, with where it came from for error messages."""

    path: Path
    row: int
    data: Mapping[str, Any]
    prefix: str = ""

    def error(self, field: str, reason: str) -> ReferenceDataError:
        return ReferenceDataError(self.path, reason, row=self.row, field=self.prefix + field)

    def check_keys(self, allowed: frozenset[str]) -> None:
        unrecognised = sorted(str(key) for key in self.data if key not in allowed)
        if unrecognised:
            raise self.error(unrecognised[0], "unrecognised field")
        missing = sorted(allowed - set(self.data))
        if missing:
            raise self.error(missing[0], "required field is missing")

    def text(self, field: str) -> str:
        value = self.data[field]
        if not isinstance(value, str) or not value.strip():
            raise self.error(field, "expected non-empty text")
        return value.strip()

    def flag(self, field: str) -> bool:
        value = self.data[field]
        if not isinstance(value, bool):
            raise self.error(field, "expected true or false")
        return value

    def choice(self, field: str, enum: type[_E]) -> _E:
        value = self.data[field]
        legal = ", ".join(member.value for member in enum)
        if not isinstance(value, str):
            raise self.error(field, f"expected one of: {legal}")
        try:
            return enum(value)
        except ValueError:
            raise self.error(field, f"{value!r} is not one of: {legal}") from None

    def nested(self, field: str) -> _Entry:
        value = self.data[field]
        if not isinstance(value, dict):
            raise self.error(field, "expected a mapping")
        return _Entry(self.path, self.row, value, f"{self.prefix}{field}.")


def _load_profiles(path: Path, source_ids: frozenset[str]) -> dict[str, Profile]:
    data = _read_yaml(path)
    if not isinstance(data, dict) or set(data) != {"profiles"}:
        raise ReferenceDataError(path, "expected a single top-level key 'profiles'")
    items = data["profiles"]
    if not isinstance(items, list) or not items:
        raise ReferenceDataError(path, "expected a non-empty list", field="profiles")
    profiles: dict[str, Profile] = {}
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise ReferenceDataError(path, "expected a mapping", row=number)
        profile = _parse_profile(_Entry(path, number, item), source_ids)
        if profile.profile_id in profiles:
            raise ReferenceDataError(
                path, f"profile {profile.profile_id!r} is defined twice", row=number, field="id"
            )
        profiles[profile.profile_id] = profile
    defaults = [p.profile_id for p in profiles.values() if p.default]
    if len(defaults) != 1:
        raise ReferenceDataError(
            path,
            f"exactly one profile must be default: true (found {len(defaults)})",
            field="default",
        )
    return profiles


def _parse_profile(entry: _Entry, source_ids: frozenset[str]) -> Profile:
    entry.check_keys(_PROFILE_KEYS)
    rounding = entry.nested("rounding")
    rounding.check_keys(_ROUNDING_KEYS)
    places = rounding.data["decimal_places"]
    if isinstance(places, bool) or not isinstance(places, int) or not 0 <= places <= 3:
        raise rounding.error("decimal_places", "expected a whole number from 0 to 3")
    prn = entry.nested("prn")
    prn.check_keys(_PRN_KEYS)
    return Profile(
        profile_id=entry.text("id"),
        title=entry.text("title"),
        description=entry.text("description"),
        default=entry.flag("default"),
        sources=_source_ids(entry.data["sources"], source_ids, entry.path, entry.row, "sources"),
        rounding=RoundingRule(
            scope=rounding.choice("scope", RoundingScope),
            decimal_places=places,
            mode=rounding.choice("mode", RoundingMode),
            source=_source_ids(
                rounding.data["source"], source_ids, entry.path, entry.row, "rounding.source"
            ),
            source_locator=rounding.text("source_locator"),
            notes=rounding.text("notes"),
        ),
        prn=PrnRule(
            counted=prn.flag("counted"),
            dose=prn.choice("dose", PrnDose),
            frequency=prn.choice("frequency", PrnFrequency),
            period=prn.choice("period", PrnPeriod),
            stated_daily_maximum=prn.choice("stated_daily_maximum", StatedDailyMaximum),
            label=prn.text("label"),
            source=_source_ids(prn.data["source"], source_ids, entry.path, entry.row, "prn.source"),
            source_locator=prn.text("source_locator"),
            notes=prn.text("notes"),
        ),
    )


# --------------------------------------------------------------------------- factors


def _load_factors(
    path: Path, source_ids: frozenset[str], profile_ids: frozenset[str]
) -> dict[_Key, FactorLookup]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle, strict=True)
            # Each record with the line it ends on (the header is line 1).
            records = [(reader.line_num, record) for record in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ReferenceDataError(path, f"cannot read the file as CSV ({exc})") from exc
    if not records:
        raise ReferenceDataError(path, "the file is empty")
    header_row, header = records[0]
    if tuple(header) != COLUMNS:
        raise ReferenceDataError(
            path,
            f"the header must be exactly {','.join(COLUMNS)} (found {','.join(header)})",
            row=header_row,
        )
    index: dict[_Key, FactorLookup] = {}
    first_seen: dict[_Key, int] = {}
    for number, record in records[1:]:
        if not record:
            continue  # a blank line
        if len(record) != len(COLUMNS):
            raise ReferenceDataError(
                path, f"expected {len(COLUMNS)} fields, found {len(record)}", row=number
            )
        cells = dict(zip(COLUMNS, (cell.strip() for cell in record), strict=True))
        key, found = _parse_factor_row(path, number, cells, source_ids, profile_ids)
        if key in first_seen:
            raise ReferenceDataError(
                path,
                f"duplicate of row {first_seen[key]} for ({key[0]}, {key[1]}, {key[2]})",
                row=number,
                field="route",
            )
        first_seen[key] = number
        index[key] = found
    return index


def _parse_factor_row(
    path: Path,
    row: int,
    cells: Mapping[str, str],
    source_ids: frozenset[str],
    profile_ids: frozenset[str],
) -> tuple[_Key, FactorLookup]:
    def error(field: str, reason: str) -> ReferenceDataError:
        return ReferenceDataError(path, reason, row=row, field=field)

    profile = cells["profile"]
    if profile not in profile_ids:
        raise error("profile", f"{profile!r} is not a profile in rules/ome/profiles.yaml")
    ingredient = cells["ingredient"]
    if ingredient not in INGREDIENTS:
        raise error("ingredient", f"{ingredient!r} is not a canonical lower-case ingredient name")
    try:
        route = Route(cells["route"])
    except ValueError:
        legal = ", ".join(member.value for member in Route)
        raise error("route", f"{cells['route']!r} is not one of: {legal}") from None
    try:
        status = FactorStatus(cells["status"])
    except ValueError:
        status = FactorStatus.UNKNOWN
    if status not in _CSV_STATUSES:
        legal = ", ".join(sorted(member.value for member in _CSV_STATUSES))
        raise error("status", f"{cells['status']!r} is not one of: {legal}")

    factor: float | None = None
    basis: Basis | None = None
    if status is FactorStatus.FACTOR:
        factor = _positive_number(cells["factor"], error)
        try:
            basis = Basis(cells["basis"])
        except ValueError:
            legal = ", ".join(member.value for member in Basis)
            raise error("basis", f"{cells['basis']!r} is not one of: {legal}") from None
        patch = route is Route.TRANSDERMAL
        if patch != (basis is Basis.PER_MICROGRAM_PER_HOUR):
            raise error(
                "basis",
                "transdermal rows use per_microgram_per_hour and all other routes per_mg",
            )
    else:
        for field in ("factor", "basis"):
            if cells[field]:
                raise error(field, f"must be empty when status is {status.value}")

    source = _source_ids(cells["source"], source_ids, path, row, "source")
    for field in ("source_locator", "notes"):
        if not cells[field]:
            raise error(field, "required field is empty")
    return (profile, ingredient, route), FactorLookup(
        status=status,
        factor=factor,
        basis=basis,
        source=source,
        source_locator=cells["source_locator"],
        alternatives=cells["alternatives"],
        notes=cells["notes"],
    )


def _positive_number(text: str, error: Callable[[str, str], ReferenceDataError]) -> float:
    if not text:
        raise error("factor", "a factor is required when status is factor")
    try:
        value = float(text)
    except ValueError:
        raise error("factor", f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise error("factor", f"{text!r} must be a number greater than 0")
    return value
