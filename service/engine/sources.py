"""The bibliography (``rules/sources.yaml``) and the override reasons offered on cards."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from service.errors import ReferenceDataError


@dataclass(frozen=True, slots=True)
class SourceEntry:
    id: str
    title: str
    url: str
    label: str | None  # short name shown as a card's source label


@dataclass(frozen=True, slots=True)
class OverrideReasonDef:
    code: str
    display: str


@dataclass(frozen=True, slots=True)
class OverrideReasons:
    system: str
    reasons: dict[str, OverrideReasonDef]


def load_sources(rules_dir: Path) -> dict[str, SourceEntry]:
    path = rules_dir / "sources.yaml"
    data = _yaml(path)
    out = {}
    for key, entry in data.items():
        if not isinstance(entry, dict) or "title" not in entry or "url" not in entry:
            raise ReferenceDataError(str(path), str(key), "each source needs a title and a url")
        out[key] = SourceEntry(key, entry["title"], entry["url"], entry.get("label"))
    return out


def load_override_reasons(rules_dir: Path) -> OverrideReasons:
    path = rules_dir / "override_reasons.yaml"
    data = _yaml(path)
    try:
        reasons = {
            r["code"]: OverrideReasonDef(str(r["code"]), str(r["display"])) for r in data["reasons"]
        }
        return OverrideReasons(str(data["system"]), reasons)
    except (KeyError, TypeError) as exc:
        raise ReferenceDataError(
            str(path), "reasons", f"each reason needs code and display ({exc})"
        ) from None


def _yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ReferenceDataError(str(path), "file", f"cannot be read as YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ReferenceDataError(str(path), "file", "expected a mapping at the top level")
    return data
