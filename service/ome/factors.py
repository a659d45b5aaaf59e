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

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator

from service.errors import ReferenceDataError
from service.medicines.model import IngredientClass, Route
from service.medicines.vocabulary import Vocabulary
from service.rulefiles import (
    CsvRow,
    OptionalFloat,
    Sources,
    StrictModel,
    Text,
    blank_to_none,
    read_csv,
    read_yaml,
)

FACTORS_FILE = Path("ome") / "factors.csv"
PROFILES_FILE = Path("ome") / "profiles.yaml"

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


class StatedDailyMaximum(StrEnum):
    CAP = "cap"  # a stated maximum (maxDosePerPeriod, "max 8 in 24 hours") caps the count
    IGNORE = "ignore"  # as cqframework, which does not read it


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


class RoundingRule(StrictModel):
    """How each ingredient's OME/day is rounded before ingredients are summed: half up, to
    ``decimal_places`` (service.ome.calculate; ADR 0002)."""

    decimal_places: int = Field(ge=0, le=3)
    source: tuple[str, ...]
    source_locator: Text
    notes: Text


class PrnRule(StrictModel):
    """How "when required" doses and ranges are counted: at the most the sig allows (the top
    of a dose range, the highest frequency, the shortest period; service.dosing.daily)."""

    stated_daily_maximum: StatedDailyMaximum
    label: Text  # the words shown with any figure counted this way
    source: tuple[str, ...]
    source_locator: Text
    notes: Text


class Profile(StrictModel):
    """One entry of rules/ome/profiles.yaml."""

    profile_id: Text = Field(alias="id")
    title: Text
    description: Text
    default: bool
    sources: tuple[str, ...]
    rounding: RoundingRule
    prn: PrnRule


class _ProfilesFile(StrictModel):
    profiles: tuple[Profile, ...] = Field(min_length=1)


class _FactorRow(CsvRow):
    """One row of rules/ome/factors.csv. Columns are listed in rules/README.md and ADR 0002."""

    profile: Text
    ingredient: Text
    route: Route
    status: Literal["factor", "no_fixed_ratio", "not_counted"]
    factor: OptionalFloat
    basis: Annotated[Basis | None, BeforeValidator(blank_to_none)]
    source: str
    source_locator: Text
    alternatives: str
    notes: Text

    @field_validator("factor")
    @classmethod
    def _factor_with_status(cls, value: float | None, info: ValidationInfo) -> float | None:
        status = info.data.get("status")
        if status == FactorStatus.FACTOR:
            if value is None:
                raise ValueError("a factor is required when status is factor")
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"{value!r} must be a number greater than 0")
        elif value is not None and status is not None:
            raise ValueError(f"must be empty when status is {status}")
        return value

    @field_validator("basis")
    @classmethod
    def _basis_with_status(cls, value: Basis | None, info: ValidationInfo) -> Basis | None:
        status = info.data.get("status")
        if status == FactorStatus.FACTOR:
            if value is None:
                legal = ", ".join(member.value for member in Basis)
                raise ValueError(f"a basis is required when status is factor: one of {legal}")
            patch = info.data.get("route") is Route.TRANSDERMAL
            if patch != (value is Basis.PER_MICROGRAM_PER_HOUR):
                raise ValueError(
                    "transdermal rows use per_microgram_per_hour and all other routes per_mg"
                )
        elif value is not None and status is not None:
            raise ValueError(f"must be empty when status is {status}")
        return value


_Key = tuple[str, str, Route]


@dataclass(frozen=True, slots=True, repr=False)
class FactorTable:
    """The loaded, validated and immutable factor index. Build it with :meth:`load`."""

    _profiles: Mapping[str, Profile]
    _default_profile: str
    _index: Mapping[_Key, FactorLookup]

    @classmethod
    def load(
        cls,
        rules_dir: Path,
        sources: Sources | None = None,
        opioids: frozenset[str] | None = None,
    ) -> FactorTable:
        """Read and check ``rules_dir``/ome/factors.csv and ome/profiles.yaml.

        Call once at startup. ``sources``: the bibliography; ``opioids``: the canonical
        ingredient names a row may use, the opioids of the medicines vocabulary (a name
        outside it is a typo that would otherwise become a silent "unknown" at lookup
        time). Both are read from ``rules_dir`` when not given (the composition root gives
        them). Raises :class:`ReferenceDataError` on any violation.
        """
        sources = sources if sources is not None else Sources.load(rules_dir)
        if opioids is None:
            opioids = Vocabulary.load(rules_dir, sources).ingredients_of(IngredientClass.OPIOID)
        profiles = _load_profiles(rules_dir / PROFILES_FILE, sources)
        index = _load_factors(
            rules_dir / FACTORS_FILE,
            sources,
            frozenset(profiles),
            opioids,
        )
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


# -------------------------------------------------------------------------- profiles


def _load_profiles(path: Path, sources: Sources) -> dict[str, Profile]:
    file = str(path)
    profiles: dict[str, Profile] = {}
    for i, profile in enumerate(read_yaml(path, _ProfilesFile).profiles):
        at = f"profiles[{i}]"
        sources.check(profile.sources, file, f"{at}.sources")
        sources.check(profile.rounding.source, file, f"{at}.rounding.source")
        sources.check(profile.prn.source, file, f"{at}.prn.source")
        if profile.profile_id in profiles:
            raise ReferenceDataError(
                file, f"{at}.id", f"profile {profile.profile_id!r} is defined twice"
            )
        profiles[profile.profile_id] = profile
    defaults = [p.profile_id for p in profiles.values() if p.default]
    if len(defaults) != 1:
        raise ReferenceDataError(
            file,
            "profiles[].default",
            f"exactly one profile must be default: true (found {len(defaults)})",
        )
    return profiles


# --------------------------------------------------------------------------- factors


def _load_factors(
    path: Path,
    sources: Sources,
    profile_ids: frozenset[str],
    ingredients: frozenset[str],
) -> dict[_Key, FactorLookup]:
    file = str(path)
    index: dict[_Key, FactorLookup] = {}
    first_seen: dict[_Key, int] = {}
    for row in read_csv(path, _FactorRow):
        r, line = row.value, row.line
        if r.profile not in profile_ids:
            raise ReferenceDataError(
                file,
                "profile",
                f"{r.profile!r} is not a profile in rules/ome/profiles.yaml",
                row=line,
            )
        if r.ingredient not in ingredients:
            raise ReferenceDataError(
                file,
                "ingredient",
                f"{r.ingredient!r} is not a canonical lower-case opioid ingredient name "
                "(rules/medicines/ingredients.csv)",
                row=line,
            )
        source = sources.check(r.source, file, "source", row=line)
        key = (r.profile, r.ingredient, r.route)
        if key in first_seen:
            raise ReferenceDataError(
                file,
                "route",
                f"duplicate of row {first_seen[key]} for ({key[0]}, {key[1]}, {key[2]})",
                row=line,
            )
        first_seen[key] = line
        index[key] = FactorLookup(
            status=FactorStatus(r.status),
            factor=r.factor,
            basis=r.basis,
            source=source,
            source_locator=r.source_locator,
            alternatives=r.alternatives,
            notes=r.notes,
        )
    return index
