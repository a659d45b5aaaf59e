"""The bibliography (``rules/sources.yaml``) and the override reasons offered on cards
(``rules/override_reasons.yaml``), each read once at start-up.

:class:`Sources` is the one place a cited source id is checked: every loader is given the
same object by the composition root (``service.pipeline.Pipeline``) and calls
:meth:`Sources.check` on each ``source`` field it reads.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Literal

from pydantic import RootModel

from service.errors import ReferenceDataError
from service.rulefiles.base import StrictModel, Text, read_yaml

SOURCES_FILE = Path("sources.yaml")
OVERRIDE_REASONS_FILE = Path("override_reasons.yaml")


class SourceEntry(StrictModel):
    """One entry of the bibliography. ``id`` is its key in the file."""

    id: str = ""
    title: Text
    url: Text
    #: A short name shown as a card's source label; only sources with one may be a card's.
    label: Text | None = None
    #: How we know the content: read at source, or from a reproduction of it.
    verified: Literal["primary", "secondary"]
    note: Text | None = None


class _SourcesFile(RootModel[dict[str, SourceEntry]]):
    pass


class Sources(Mapping[str, SourceEntry]):
    """The bibliography: source id → entry, read-only."""

    def __init__(self, entries: Mapping[str, SourceEntry], file: str) -> None:
        self._entries = MappingProxyType(dict(entries))
        self.file = file

    @classmethod
    def load(cls, rules_dir: Path) -> Sources:
        path = rules_dir / SOURCES_FILE
        data = read_yaml(path, _SourcesFile).root
        if not data:
            raise ReferenceDataError(str(path), "", "expected a mapping of source ids")
        return cls({key: e.model_copy(update={"id": key}) for key, e in data.items()}, str(path))

    def __getitem__(self, key: str) -> SourceEntry:
        return self._entries[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def check(
        self,
        source_text: str | Sequence[str],
        file: str,
        field: str,
        *,
        row: int | None = None,
        needs_label: bool = False,
        error: type[ReferenceDataError] = ReferenceDataError,
    ) -> tuple[str, ...]:
        """The ids a ``source`` field cites: ``;``-separated text, or a YAML list.

        Raises ``error`` (naming ``file``, ``field`` and ``row``) on an empty, repeated or
        unknown id, or, with ``needs_label``, an id whose entry has no label.
        """
        parts = source_text.split(";") if isinstance(source_text, str) else list(source_text)
        ids = [part.strip() for part in parts]
        if not ids or any(not one for one in ids):
            raise error(file, field, "empty source id", row=row)
        if len(set(ids)) != len(ids):
            raise error(file, field, "a source id is repeated", row=row)
        for one in ids:
            entry = self._entries.get(one)
            if entry is None:
                raise error(
                    file, field, f"unknown source {one!r}: add it to rules/sources.yaml", row=row
                )
            if needs_label and not entry.label:
                raise error(
                    file, field, f"source {one!r} needs a label to be a card source", row=row
                )
        return tuple(ids)


class OverrideReasonDef(StrictModel):
    code: Text
    display: Text


class _OverrideReasonsFile(StrictModel):
    system: Text
    reasons: tuple[OverrideReasonDef, ...]


class OverrideReasons:
    """The coded reasons a prescriber may give for overriding a card, by code."""

    def __init__(self, system: str, reasons: Mapping[str, OverrideReasonDef]) -> None:
        self.system = system
        self.reasons = dict(reasons)

    @classmethod
    def load(cls, rules_dir: Path) -> OverrideReasons:
        path = rules_dir / OVERRIDE_REASONS_FILE
        data = read_yaml(path, _OverrideReasonsFile)
        reasons: dict[str, OverrideReasonDef] = {}
        for i, reason in enumerate(data.reasons):
            if reason.code in reasons:
                raise ReferenceDataError(
                    str(path), f"reasons[{i}].code", f"{reason.code!r} is listed twice"
                )
            reasons[reason.code] = reason
        return cls(data.system, reasons)


def load_sources(rules_dir: Path) -> Sources:
    return Sources.load(rules_dir)


def load_override_reasons(rules_dir: Path) -> OverrideReasons:
    return OverrideReasons.load(rules_dir)
