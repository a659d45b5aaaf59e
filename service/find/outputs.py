"""From the patients' rows (a Parquet dataset, whichever engine wrote it) to the output
files: ``patients``, ``organisations`` (CSV and Parquet), ``trend.csv`` and ``report.html``.

The same code finishes both engines' rows, sorted by patient key, so their outputs are the
same files with the same bytes.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from service.find.patient import AT_LEAST, FINDINGS, UNKNOWN
from service.find.report_html import report_html
from service.find.rows import PATIENT_COLUMNS, ROW_SCHEMA

#: The trend's period: 8 weeks (issue 15, "trend.csv by 8-week period").
PERIOD_DAYS = 56
ALL = "ALL"


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What the report states about the run."""

    as_of: date
    profile: str
    key: str  # "configured" or "per-run"
    high_dose_mg_per_day: float
    tiers: tuple[tuple[int, str], ...]
    period_ends: tuple[date, ...]
    files: int


def period_ends(as_of: date, earliest: str | None, max_periods: int) -> tuple[date, ...]:
    """Ends of 8-week periods back from ``as_of`` while the export has data before them, at
    most ``max_periods``; oldest first. One period (no trend) when the export does not span
    time."""
    ends = [as_of]
    first = date.fromisoformat(earliest) if earliest else as_of
    while len(ends) < max_periods and ends[-1] - timedelta(days=PERIOD_DAYS) >= first:
        ends.append(ends[-1] - timedelta(days=PERIOD_DAYS))
    return tuple(reversed(ends))


def finish(rows_dir: Path, out: Path, run: RunFacts) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    parts = sorted(rows_dir.rglob("*.parquet"))
    table = (
        pa.concat_tables([pq.read_table(p, schema=ROW_SCHEMA) for p in parts])
        if parts
        else ROW_SCHEMA.empty_table()
    )
    table = table.sort_by([("patient_key", "ascending")])
    patients = table.filter(pc.field("in_scope")).select(list(PATIENT_COLUMNS))
    _write(patients, out / "patients")
    organisations = _organisations(table, run)
    _write(organisations, out / "organisations")
    trend = _trend(table, run) if len(run.period_ends) > 1 else None
    if trend is not None:
        pacsv.write_csv(trend, out / "trend.csv")
    (out / "report.html").write_text(
        report_html(patients.to_pylist(), organisations.to_pylist(), _rows(trend), run),
        "utf-8",
    )
    return {
        "patients": table.num_rows,
        "in_scope": patients.num_rows,
        "organisations": organisations.num_rows,
        "periods": len(run.period_ends),
    }


def _rows(table: pa.Table | None) -> list[dict[str, Any]]:
    return [] if table is None else table.to_pylist()


def _write(table: pa.Table, stem: Path) -> None:
    pq.write_table(table, stem.with_suffix(".parquet"))
    pacsv.write_csv(table, stem.with_suffix(".csv"))


def _per_1000(count: int, size: int) -> float:
    return round(count * 1000 / size, 1) if size else 0.0


def _organisations(table: pa.Table, run: RunFacts) -> pa.Table:
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    columns = {
        name: table.column(name).to_pylist()
        for name in ("organisation", "in_scope", "opioid", *FINDINGS, "support_tier")
    }
    statuses = table.column("total_status").to_pylist()
    for i, org in enumerate(columns["organisation"]):
        c = counts[org]
        c["list_size"] += 1
        for name in ("in_scope", "opioid", *FINDINGS):
            c[name] += columns[name][i] is True
        # As the reports count (service.reports.aggregate): a lower bound at or above the
        # threshold is high dose; an understated or unknown total below it is counted apart,
        # never as below the threshold.
        understated = statuses[i] in (AT_LEAST, UNKNOWN)
        c["total_unknown"] += understated and columns["high_dose"][i] is not True
        tier = columns["support_tier"][i]
        if tier is not None:
            c[f"tier_{tier}"] += 1
    rows = []
    for org in sorted(counts):
        c = counts[org]
        rows.append(
            {
                "organisation": org,
                "list_size": c["list_size"],
                "patients_in_scope": c["in_scope"],
                "opioid_patients": c["opioid"],
                "high_dose_patients": c["high_dose"],
                "high_dose_per_1000": _per_1000(c["high_dose"], c["list_size"]),
                "total_unknown_patients": c["total_unknown"],
                **{f"{n}_patients": c[n] for n in FINDINGS if n != "high_dose"},
                **{f"tier_{t}_patients": c[f"tier_{t}"] for t, _ in run.tiers},
            }
        )
    schema = pa.schema(
        [
            ("organisation", pa.string()),
            ("list_size", pa.int64()),
            ("patients_in_scope", pa.int64()),
            ("opioid_patients", pa.int64()),
            ("high_dose_patients", pa.int64()),
            ("high_dose_per_1000", pa.float64()),
            ("total_unknown_patients", pa.int64()),
            *((f"{n}_patients", pa.int64()) for n in FINDINGS if n != "high_dose"),
            *((f"tier_{t}_patients", pa.int64()) for t, _ in run.tiers),
        ]
    )
    return pa.Table.from_pylist(rows, schema)


def _trend(table: pa.Table, run: RunFacts) -> pa.Table:
    n = len(run.period_ends)
    size: dict[str, int] = defaultdict(int)
    opioid: dict[tuple[str, int], int] = defaultdict(int)
    high: dict[tuple[str, int], int] = defaultdict(int)
    unknown: dict[tuple[str, int], int] = defaultdict(int)
    orgs = table.column("organisation").to_pylist()
    for org, points in zip(orgs, table.column("trend").to_pylist(), strict=True):
        for name in (org, ALL):
            size[name] += 1
        for i, point in enumerate(points.split(";")[:n]):
            total, on, maybe = point.split(":")
            for name in (org, ALL):
                opioid[name, i] += on == "1"
                unknown[name, i] += maybe == "1"
                high[name, i] += total != "-" and float(total) >= run.high_dose_mg_per_day
    rows = []
    for name in sorted(size, key=lambda o: (o == ALL, o)):
        for i, end in enumerate(run.period_ends):
            rows.append(
                {
                    "period_start": (end - timedelta(days=PERIOD_DAYS - 1)).isoformat(),
                    "period_end": end.isoformat(),
                    "organisation": name,
                    "list_size": size[name],
                    "opioid_patients": opioid[name, i],
                    "opioid_unknown_patients": unknown[name, i],
                    "high_dose_patients": high[name, i],
                    "high_dose_per_1000": _per_1000(high[name, i], size[name]),
                }
            )
    return pa.Table.from_pylist(
        rows,
        pa.schema(
            [
                ("period_start", pa.string()),
                ("period_end", pa.string()),
                ("organisation", pa.string()),
                ("list_size", pa.int64()),
                ("opioid_patients", pa.int64()),
                ("opioid_unknown_patients", pa.int64()),
                ("high_dose_patients", pa.int64()),
                ("high_dose_per_1000", pa.float64()),
            ]
        ),
    )
