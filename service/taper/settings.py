"""``rules/taper.yaml`` loaded once at start-up into typed settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from service.errors import ReferenceDataError

KINDS = ("when_required", "immediate_release", "modified_release", "transdermal")


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
    max_units_per_administration: int
    max_patches_at_once: int
    patch_groups: dict[str, tuple[frozenset[float], ...]]
    order: tuple[str, ...]

    @classmethod
    def load(cls, rules_dir: Path, known_sources: frozenset[str]) -> TaperSettings:
        path = rules_dir / "taper.yaml"
        try:
            data: dict[str, Any] = yaml.safe_load(path.read_text("utf-8"))
            _check_sources(data, known_sources, path)
            pace, slow, build = data["pace"], data["slower_near_end"], data["construction"]
            groups = {
                ingredient: tuple(frozenset(float(x) for x in g) for g in group_list)
                for ingredient, group_list in data["patch_groups"]["groups"].items()
            }
            order = tuple(data["order"]["sequence"])
            if sorted(order) != sorted(KINDS):
                raise ValueError(f"order.sequence must list each of {', '.join(KINDS)}")
            return cls(
                default_pace=Pace(
                    float(pace["reduction_percent_of_start"]["value"]),
                    int(pace["interval_days"]["value"]),
                ),
                slower_below_percent=float(slow["below_percent_of_start"]["value"]),
                slower_fraction=float(slow["pace_fraction"]["value"]),
                slower_by_default=bool(slow["default_enabled"]),
                max_reduction_percent=float(pace["max_reduction_percent_of_start"]["value"]),
                max_units_per_administration=int(build["max_units_per_administration"]["value"]),
                max_patches_at_once=int(build["max_patches_at_once"]["value"]),
                patch_groups=groups,
                order=order,
            )
        except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
            raise ReferenceDataError(str(path), "file", f"invalid taper settings: {exc}") from None


def _check_sources(node: Any, known: frozenset[str], path: Path) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "source":
                for source in str(value).split(";"):
                    if source.strip() not in known:
                        raise ReferenceDataError(str(path), "source", f"unknown source {source!r}")
            else:
                _check_sources(value, known, path)
    elif isinstance(node, list):
        for item in node:
            _check_sources(item, known, path)


def _num(value: float) -> str:
    return f"{value:g}"
