"""The local engine: every core of one machine, memory bounded by one partition.

1. Scan (a process per file): each resource line is classified and written to a partition
   file chosen by a stable hash of its patient id (``parts/<p>/<file>.tsv``); Medication
   lines go to ``meds/<file>.tsv``; Organizations come back to the driver (a few thousand
   practices at most).
2. The Medication lines are loaded into an SQLite index (key → resource) in the work folder.
3. Assess (a process per partition): a partition's lines are grouped by patient, the
   Medications each patient's medicines point to are looked up, and each patient goes
   through :func:`service.find.patient.assess_patient`; rows are written as Parquet.

Only one partition's patients are in a process's memory at a time, so the population's size
is bounded by disk, not memory (the number of partitions grows with the input).
"""

from __future__ import annotations

import os
import sqlite3
import zlib
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from service.config import Settings
from service.fhir.bulk import ExportFile, Line, medication_keys, read_lines
from service.find.patient import FindContext, assess_patient
from service.find.rows import ROW_SCHEMA
from service.pipeline import Pipeline

#: Input bytes per partition: a partition's patients are held in memory while assessed.
BYTES_PER_PARTITION = 32_000_000


@dataclass
class Scan:
    """What the scan learnt about the export."""

    earliest: str | None = None
    resource_types: set[str] = field(default_factory=set)
    organisations: list[Line] = field(default_factory=list)
    lines: int = 0

    def add(self, other: Scan) -> None:
        if other.earliest and (self.earliest is None or other.earliest < self.earliest):
            self.earliest = other.earliest
        self.resource_types |= other.resource_types
        self.organisations += other.organisations
        self.lines += other.lines


def partition_of(patient_id: str, partitions: int) -> int:
    # crc32, not hash(): the same in every process and on every run.
    return zlib.crc32(patient_id.encode("utf-8")) % partitions


def partitions_for(files: list[ExportFile], workers: int) -> int:
    size = sum(f.path.stat().st_size for f in files)
    return max(4 * workers, size // BYTES_PER_PARTITION + 1)


def scan(
    files: list[ExportFile], work: Path, partitions: int, workers: int, disable: bool | None
) -> Scan:
    for p in range(partitions):
        (work / "parts" / str(p)).mkdir(parents=True, exist_ok=True)
    (work / "meds").mkdir(parents=True, exist_ok=True)
    total = Scan()
    jobs = [(f, i, partitions, work) for i, f in enumerate(files)]
    with ProcessPoolExecutor(workers) as pool:
        for result in tqdm(
            pool.map(_scan_file, jobs), total=len(jobs), desc="scan", unit="file", disable=disable
        ):
            total.add(result)
    _index_medications(work)
    return total


def _scan_file(job: tuple[ExportFile, int, int, Path]) -> Scan:
    file, index, partitions, work = job
    result = Scan()
    outs: dict[int, Any] = {}
    with (work / "meds" / f"{index}.tsv").open("w", encoding="utf-8") as meds:
        try:
            for line in read_lines(file):
                result.lines += 1
                if line.kind == "patient":
                    result.resource_types.add(line.resource_type)
                    if line.date and (result.earliest is None or line.date < result.earliest):
                        result.earliest = line.date
                    p = partition_of(line.key, partitions)
                    if p not in outs:
                        path = work / "parts" / str(p) / f"{index}.tsv"
                        outs[p] = path.open("w", encoding="utf-8")
                    # JSON never holds a raw tab or newline: the text is the last field.
                    outs[p].write(
                        f"{line.key}\t{line.full_url or ''}\t{','.join(line.refs)}\t{line.text}\n"
                    )
                elif line.kind == "medication":
                    for key in medication_keys(line):
                        meds.write(f"{key}\t{line.full_url or ''}\t{line.text}\n")
                elif line.kind == "organisation":
                    result.organisations.append(line)
        finally:
            for f in outs.values():
                f.close()
    return result


def _index_medications(work: Path) -> None:
    db = sqlite3.connect(work / "medications.sqlite")
    with db:
        db.execute("CREATE TABLE meds (key TEXT PRIMARY KEY, full_url TEXT, json TEXT)")
        for path in sorted((work / "meds").glob("*.tsv")):
            with path.open(encoding="utf-8") as f:
                db.executemany(
                    "INSERT OR IGNORE INTO meds VALUES (?, ?, ?)",
                    (line.rstrip("\n").split("\t", 2) for line in f),
                )
    db.close()


# A worker process's pipeline and context, built once by the pool's initializer.
_STATE: dict[str, Any] = {}


def _init_worker(ctx: FindContext) -> None:
    _STATE["pipeline"] = Pipeline(Settings(**ctx.settings))
    _STATE["ctx"] = ctx


def assess(
    ctx: FindContext, work: Path, partitions: int, workers: int, disable: bool | None
) -> tuple[Path, int]:
    rows = work / "rows"
    rows.mkdir()
    jobs = [(p, work) for p in range(partitions)]
    patients = 0
    with (
        ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(ctx,)) as pool,
        tqdm(total=partitions, desc="assess", unit="part", disable=disable) as bar,
    ):
        for count in pool.map(_assess_partition, jobs):
            patients += count
            bar.update()
            bar.set_postfix_str(f"{patients} patients")
    return rows, patients


def _assess_partition(job: tuple[int, Path]) -> int:
    p, work = job
    pipeline: Pipeline = _STATE["pipeline"]
    ctx: FindContext = _STATE["ctx"]
    grouped: dict[str, list[tuple[str | None, str]]] = defaultdict(list)
    refs: dict[str, set[str]] = defaultdict(set)
    for pid, url, ref, text in _partition_lines(work / "parts" / str(p)):
        grouped[pid].append((url or None, text))
        if ref:
            refs[pid].update(ref.split(","))
    db = sqlite3.connect(f"file:{work / 'medications.sqlite'}?mode=ro", uri=True)
    out = []
    try:
        for pid in sorted(grouped):
            entries = grouped.pop(pid)
            for key in sorted(refs.get(pid, ())):
                found = db.execute("SELECT full_url, json FROM meds WHERE key = ?", (key,))
                entries += [(u or None, t) for u, t in found]
            out.append(assess_patient(pipeline, ctx, pid, entries))
    finally:
        db.close()
    if out:
        pq.write_table(
            pa.Table.from_pylist(out, ROW_SCHEMA), work / "rows" / f"part-{p:05}.parquet"
        )
    return len(out)


def _partition_lines(folder: Path) -> Iterator[tuple[str, str, str, str]]:
    for path in sorted(folder.glob("*.tsv")):
        with path.open(encoding="utf-8") as f:
            for line in f:
                pid, url, ref, text = line.rstrip("\n").split("\t", 3)
                yield pid, url, ref, text


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
