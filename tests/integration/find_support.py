"""Shared by the Find tests: a generated population, and an export grouped by patient in
memory (the engines' grouping, done the simple way, to check them against)."""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

from service.fhir.bulk import export_files, medication_keys, read_lines

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "tools") not in sys.path:
    sys.path.insert(0, str(REPO / "tools"))

from generate_population import generate  # noqa: E402

KEY = "find tests key"

__all__ = ["KEY", "generate", "patients_of"]


def patients_of(*paths: Path) -> dict[str, list[tuple[str | None, str]]]:
    lines = [line for p in paths for f in export_files(p) for line in read_lines(f)]
    medications: dict[str, tuple[str | None, str]] = {}
    for line in lines:
        if line.kind == "medication":
            for key in medication_keys(line):
                medications.setdefault(key, (line.full_url, line.text))
    groups: dict[str, list[tuple[str | None, str]]] = defaultdict(list)
    for line in lines:
        if line.kind == "patient":
            groups[line.key].append((line.full_url, line.text))
            groups[line.key] += [medications[r] for r in line.refs if r in medications]
    return dict(groups)
