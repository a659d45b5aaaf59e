"""``rules/taper.yaml`` loaded once at start-up into typed settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt, field_validator

from service.rulefiles import Sources, StrictModel, Text, read_yaml

KINDS = ("when_required", "immediate_release", "modified_release", "transdermal")
TAPER_FILE = Path("taper.yaml")


class _Cited(StrictModel):
    """A cited setting: every number in rules/taper.yaml says where it comes from."""

    unit: Text
    source: Text
    locator: Text


class _Percent(_Cited):
    value: float = Field(gt=0, le=100)


class _Fraction(_Cited):
    value: float = Field(gt=0, le=1)


class _Days(_Cited):
    value: PositiveInt


class _Count(_Cited):
    value: PositiveInt


class _PaceFile(StrictModel):
    reduction_percent_of_start: _Percent
    interval_days: _Days
    max_reduction_percent_of_start: _Percent
    max_step_percent_of_start: _Percent


class _SlowerFile(StrictModel):
    default_enabled: bool
    below_percent_of_start: _Percent
    pace_fraction: _Fraction


class _ConstructionFile(StrictModel):
    max_units_per_administration: _Count
    max_patches_at_once: _Count
    max_strengths_per_administration: _Count


class _PatchGroupsFile(StrictModel):
    source: Text
    locator: Text
    groups: dict[str, tuple[tuple[PositiveFloat, ...], ...]]


class _OtherLives(_Cited):
    """Other change intervals some brands of the same strengths have (the VMP is shared)."""

    hours: tuple[PositiveInt, ...]


class _PatchLife(StrictModel):
    strengths: tuple[PositiveFloat, ...]
    hours: PositiveInt
    also: _OtherLives | None = None


class _PatchChangeFile(StrictModel):
    source: Text
    locator: Text
    by_ingredient: dict[str, tuple[_PatchLife, ...]]


class _OrderFile(StrictModel):
    sequence: tuple[
        Literal["when_required", "immediate_release", "modified_release", "transdermal"], ...
    ]
    source: Text
    locator: Text

    @field_validator("sequence")
    @classmethod
    def _each_kind_once(cls, sequence: tuple[str, ...]) -> tuple[str, ...]:
        if sorted(sequence) != sorted(KINDS):
            raise ValueError(f"must list each of {', '.join(KINDS)} once")
        return sequence


class TaperFile(StrictModel):
    """The schema of rules/taper.yaml."""

    pace: _PaceFile
    slower_near_end: _SlowerFile
    construction: _ConstructionFile
    patch_groups: _PatchGroupsFile
    patch_change_hours: _PatchChangeFile
    order: _OrderFile


@dataclass(frozen=True, slots=True)
class Pace:
    """Reduce by ``reduction_percent`` of the starting total every ``interval_days``; below
    ``slower_below_percent`` of the start (when set), by ``slower_fraction`` of that."""

    reduction_percent: float
    interval_days: int
    slower_below_percent: float | None = None
    slower_fraction: float = 1.0

    def describe(self) -> str:
        text = (
            f"{_num(self.reduction_percent)}% of the starting dose every {self.interval_days} days"
        )
        if self.slower_below_percent is not None:
            text += (
                f", slowing to {_num(self.slower_fraction * 100)}% of that pace below "
                f"{_num(self.slower_below_percent)}% of the starting dose"
            )
        return text


@dataclass(frozen=True, slots=True)
class TaperSettings:
    default_pace: Pace
    slower_below_percent: float
    slower_fraction: float
    slower_by_default: bool
    max_reduction_percent: float
    max_step_percent: float
    max_units_per_administration: int
    max_patches_at_once: int
    max_strengths_per_administration: int
    patch_groups: dict[str, tuple[frozenset[float], ...]]
    #: ingredient -> ((patch strengths in micrograms/hour, hours between changes), ...)
    patch_change_hours: dict[str, tuple[tuple[frozenset[float], int], ...]]
    order: tuple[str, ...]
    #: ingredient -> ((patch strengths, other hours between changes some brands have), ...):
    #: an order may state one of these instead of ``patch_change_hours`` (issue 18).
    patch_other_hours: dict[str, tuple[tuple[frozenset[float], frozenset[int]], ...]] = field(
        default_factory=dict
    )

    def change_hours(self, ingredient: str, rate: float) -> int | None:
        """Hours between changes of one ``rate`` patch of ``ingredient``; None if not known."""
        return next(
            (
                hours
                for strengths, hours in self.patch_change_hours.get(ingredient, ())
                if any(abs(rate - s) < 0.01 for s in strengths)
            ),
            None,
        )

    def allowed_change_hours(self, ingredient: str, rate: float) -> frozenset[int]:
        """Every interval ``rules/taper.yaml`` allows for a ``rate`` patch: its usual life
        and those of other brands sharing its VMP (empty if not known)."""
        usual = self.change_hours(ingredient, rate)
        other = next(
            (
                hours
                for strengths, hours in self.patch_other_hours.get(ingredient, ())
                if any(abs(rate - s) < 0.01 for s in strengths)
            ),
            frozenset(),
        )
        return other | ({usual} if usual is not None else set())

    @classmethod
    def load(cls, rules_dir: Path, sources: Sources) -> TaperSettings:
        path = rules_dir / TAPER_FILE
        data = read_yaml(path, TaperFile)
        file = str(path)
        cited: list[tuple[str, str]] = [
            (f"{section}.{name}.source", getattr(getattr(data, section), name).source)
            for section, names in (
                ("pace", _PaceFile.model_fields),
                ("slower_near_end", ("below_percent_of_start", "pace_fraction")),
                ("construction", _ConstructionFile.model_fields),
            )
            for name in names
        ]
        cited += [
            ("patch_groups.source", data.patch_groups.source),
            ("patch_change_hours.source", data.patch_change_hours.source),
            ("order.source", data.order.source),
        ]
        cited += [
            (f"patch_change_hours.by_ingredient.{ingredient}[{i}].also.source", life.also.source)
            for ingredient, lives in data.patch_change_hours.by_ingredient.items()
            for i, life in enumerate(lives)
            if life.also is not None
        ]
        for name, source in cited:
            sources.check(source, file, name)
        pace, slow, build = data.pace, data.slower_near_end, data.construction
        return cls(
            default_pace=Pace(
                float(pace.reduction_percent_of_start.value), pace.interval_days.value
            ),
            slower_below_percent=slow.below_percent_of_start.value,
            slower_fraction=slow.pace_fraction.value,
            slower_by_default=slow.default_enabled,
            max_reduction_percent=pace.max_reduction_percent_of_start.value,
            max_step_percent=pace.max_step_percent_of_start.value,
            max_units_per_administration=build.max_units_per_administration.value,
            max_patches_at_once=build.max_patches_at_once.value,
            max_strengths_per_administration=build.max_strengths_per_administration.value,
            patch_groups={
                ingredient: tuple(frozenset(group) for group in groups)
                for ingredient, groups in data.patch_groups.groups.items()
            },
            patch_change_hours={
                ingredient: tuple((frozenset(life.strengths), life.hours) for life in lives)
                for ingredient, lives in data.patch_change_hours.by_ingredient.items()
            },
            order=data.order.sequence,
            patch_other_hours={
                ingredient: tuple(
                    (frozenset(life.strengths), frozenset(life.also.hours))
                    for life in lives
                    if life.also is not None
                )
                for ingredient, lives in data.patch_change_hours.by_ingredient.items()
            },
        )


def _num(value: float) -> str:
    return f"{value:g}"
