"""Clinical code sets (``rules/codesets/*.csv``): SNOMED CT and ICD-10 codes, prefixes, and
free-text keywords, each row with a source. Loaded once at start-up.

Hierarchy (SNOMED descendants) needs a terminology server, which this service does not call;
each set lists the parent concept and the common children, and says so in its notes.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from service.errors import ReferenceDataError
from service.fhir.clinical_records import CodedRecord
from service.fhir.systems import ICD_10, ICD_10_CM, ICD_10_UK

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


def load_codeset(path: Path, known_sources: frozenset[str]) -> CodeSet:
    exact: set[tuple[str, str]] = set()
    prefixes: list[tuple[str, str]] = []
    keywords: list[str] = []
    with path.open(encoding="utf-8", newline="") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            for source in row["source"].split(";"):
                if source.strip() not in known_sources:
                    raise ReferenceDataError(str(path), f"row {line}", f"unknown source {source!r}")
            match, system, code = row["match"], row["system"], row["code"].strip()
            if match == "exact":
                exact.add((system, code.upper() if "icd" in system else code))
            elif match == "prefix":
                prefixes.append((system, code.upper()))
            elif match == "contains" and system == "text":
                keywords.append(code.lower())
            else:
                raise ReferenceDataError(str(path), f"row {line}", f"unknown match {match!r}")
    return CodeSet(path.stem, frozenset(exact), tuple(prefixes), tuple(keywords))
