"""Clinical code sets (``rules/codesets/*.csv``): SNOMED CT and ICD-10 codes, prefixes, and
free-text keywords, each row with a source. Loaded once at start-up.

Hierarchy (SNOMED descendants) needs a terminology server, which this service does not call;
each set lists the parent concept and the common children, and says so in its notes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from service.errors import ReferenceDataError
from service.fhir.clinical_records import CodedRecord
from service.fhir.systems import ICD_10, ICD_10_CM, ICD_10_UK
from service.rulefiles import CsvRow, Sources, Text, read_csv

_SYSTEM_ALIASES = {
    ICD_10_UK: ICD_10,
    ICD_10_CM: ICD_10,
}


@dataclass(frozen=True, slots=True)
class CodeSet:
    name: str
    exact: frozenset[tuple[str, str]]
    prefixes: tuple[tuple[str, str], ...]
    keywords: tuple[str, ...]

    def matches(self, record: CodedRecord) -> str | None:
        """What matched ("SNOMED CT 363346000", "text 'cancer'"), or None."""
        for coding in record.codings:
            if coding.system is None or coding.code is None:
                continue
            system = _SYSTEM_ALIASES.get(coding.system, coding.system)
            code = coding.code.strip().upper() if "icd" in system else coding.code.strip()
            if (system, code) in self.exact:
                return f"{coding.display or code} ({code})"
            for p_system, prefix in self.prefixes:
                if system == p_system and code.startswith(prefix):
                    return f"{coding.display or code} ({code})"
        texts = [record.text or ""] + [c.display or "" for c in record.codings]
        for text in texts:
            lowered = text.lower()
            for keyword in self.keywords:
                if keyword in lowered:
                    return f"'{text}' (text)"
        return None


class CodeSetRow(CsvRow):
    """One row of ``rules/codesets/*.csv``: a code, a code prefix, or (system ``text``) a
    keyword looked for in free text."""

    system: Text
    match: Literal["exact", "prefix", "contains"]
    code: Text
    display: str
    source: str
    notes: str


def load_codeset(path: Path, sources: Sources) -> CodeSet:
    exact: set[tuple[str, str]] = set()
    prefixes: list[tuple[str, str]] = []
    keywords: list[str] = []
    file = str(path)
    for row in read_csv(path, CodeSetRow):
        r = row.value
        sources.check(r.source, file, "source", row=row.line)
        system, code = r.system, r.code
        if r.match == "exact":
            exact.add((system, code.upper() if "icd" in system else code))
        elif r.match == "prefix":
            prefixes.append((system, code.upper()))
        elif system == "text":
            keywords.append(code.lower())
        else:
            raise ReferenceDataError(
                file, "system", "a 'contains' row must have system 'text'", row=row.line
            )
    return CodeSet(path.stem, frozenset(exact), tuple(prefixes), tuple(keywords))


def load_codesets(folder: Path, sources: Sources, required: Iterable[str]) -> dict[str, CodeSet]:
    """Every ``*.csv`` under ``folder``, by file stem; a required set that is missing stops
    start-up rather than becoming a fact that can never be true."""
    codesets = {path.stem: load_codeset(path, sources) for path in sorted(folder.glob("*.csv"))}
    for name in sorted(set(required) - set(codesets)):
        raise ReferenceDataError(str(folder / f"{name}.csv"), "", "missing: a fact reads it")
    return codesets
