"""The Spark engine: the same per-patient function on Apache Spark (pyspark, the optional
extra ``.[spark]``), for populations beyond one machine.

Spark reads the export (NDJSON, gzipped or not, as text; Bundles as whole files), each
executor classifies the lines with the same reader as the local engine
(``service.fhir.bulk``), the Medications that medicines point to are joined to their
patients, the lines are grouped by patient, and each patient goes through
:func:`service.find.patient.assess_patient` (``mapInArrow`` over partitions of whole
patients, sorted by patient); Spark writes the rows as
Parquet, which :mod:`service.find.outputs` finishes as for the local engine.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from service.config import Settings
from service.fhir.bulk import ExportFile, Line, lines_of_document
from service.find.patient import FindContext, assess_patient
from service.find.rows import ROW_SCHEMA, spark_ddl
from service.pipeline import Pipeline

if TYPE_CHECKING:
    from service.find.run import ContextFactory

_LINES = pa.schema(
    [
        ("kind", pa.string()),
        ("key", pa.string()),
        ("rtype", pa.string()),
        ("full_url", pa.string()),
        ("refs", pa.list_(pa.string())),
        ("date", pa.string()),
        ("text", pa.string()),
    ]
)
_LINES_DDL = (
    "kind string, key string, rtype string, full_url string, refs array<string>, "
    "date string, text string"
)


def session(master: str) -> Any:
    from pyspark.sql import SparkSession

    # Executors on this machine run this interpreter (the one with the service installed);
    # on a cluster, spark-submit's own settings decide (docs/find.md).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("opioid-cds-find")
    if master:  # empty: the master spark-submit or the platform (Databricks) already set
        builder = builder.master(master)
    if master.startswith("local"):
        # One machine: a few shuffle partitions a core, not Spark's 200 (each has a cost).
        cores = os.cpu_count() or 1
        builder = builder.config("spark.sql.shuffle.partitions", str(4 * cores))
    return (
        builder.config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )


def run(
    files: list[ExportFile], work: Path, master: str, context: ContextFactory
) -> tuple[Path, int]:
    from pyspark.sql import functions as F

    spark = session(master)
    spark.sparkContext.setLogLevel("ERROR")
    ndjson = [str(f.path) for f in files if f.shape == "ndjson"]
    bundles = [str(f.path) for f in files if f.shape == "bundle"]
    frames = []
    if ndjson:
        # Spark decompresses .gz by the file name and splits plain files between executors.
        text = spark.read.text(ndjson)
        frames.append(text.mapInArrow(_classify_batches, _LINES_DDL))
    if bundles:
        docs = spark.sparkContext.wholeTextFiles(",".join(bundles)).values()
        frames.append(spark.createDataFrame(docs.flatMap(_bundle_rows), _LINES_DDL))
    lines = frames[0]
    for frame in frames[1:]:
        lines = lines.unionByName(frame)
    lines = lines.cache()
    patient = lines.filter(F.col("kind") == "patient")
    earliest = patient.agg(F.min("date")).first()[0]
    types = {r[0] for r in patient.select("rtype").distinct().collect()}
    orgs = [
        Line("organisation", r.key, r.rtype, r.full_url, (), None, r.text)
        for r in lines.filter(F.col("kind") == "organisation").collect()
    ]
    ctx = context(earliest, types, orgs)
    # A Medication is found by Medication/<id> and by its Bundle fullUrl, as
    # service.fhir.bulk.medication_keys gives the local engine.
    meds = lines.filter(F.col("kind") == "medication").select(
        F.explode(F.array_distinct(F.array("key", F.coalesce("full_url", "key")))).alias("ref"),
        "full_url",
        "text",
    )
    wanted = patient.select(F.col("key").alias("pid"), F.explode("refs").alias("ref")).distinct()
    joined = wanted.join(meds, "ref").select("pid", "full_url", "text")
    entries = patient.select(F.col("key").alias("pid"), "full_url", "text").unionByName(joined)
    # Grouped by patient as one shuffle: each partition holds whole patients, sorted, and
    # one Python call assesses a partition's patients in turn (a call per patient, as
    # groupBy().applyInArrow makes, costs more than most patients' assessment).
    grouped = entries.repartition("pid").sortWithinPartitions("pid")
    rows = grouped.mapInArrow(_assessor(ctx), spark_ddl())
    out = work / "rows"
    rows.write.parquet(str(out))
    count = spark.read.parquet(str(out)).count()
    lines.unpersist()
    return out, count


def _row(line: Line) -> dict[str, Any]:
    return {
        "kind": line.kind,
        "key": line.key,
        "rtype": line.resource_type,
        "full_url": line.full_url,
        "refs": list(line.refs),
        "date": line.date,
        "text": line.text if line.kind != "other" else "",
    }


def _classify_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        rows = [
            _row(line)
            for text in batch.column(0).to_pylist()
            if text and text.strip()
            for line in lines_of_document(text.strip(), "an NDJSON line")
        ]
        yield pa.RecordBatch.from_pylist([r for r in rows if r["kind"] != "other"], _LINES)


def _bundle_rows(text: str) -> list[dict[str, Any]]:
    return [_row(x) for x in lines_of_document(text, "a Bundle") if x.kind != "other"]


#: One pipeline per Python worker process, kept across tasks (Spark reuses its Python
#: workers), keyed by the settings it was built from.
_PIPELINES: dict[str, Pipeline] = {}


def pipeline_for(settings: dict[str, Any]) -> Pipeline:
    # A module function is pickled by reference, so this cache is the worker's own module
    # state; a cache in the closure would be a fresh copy in every task.
    key = json.dumps(settings, sort_keys=True, default=str)
    if key not in _PIPELINES:
        _PIPELINES[key] = Pipeline(Settings(**settings))
    return _PIPELINES[key]


def _assessor(ctx: FindContext) -> Any:
    def assess(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        pipeline = pipeline_for(ctx.settings)
        current: str | None = None
        entries: list[tuple[str | None, str]] = []
        out: list[dict[str, Any]] = []
        for batch in batches:
            columns = (batch.column(n).to_pylist() for n in ("pid", "full_url", "text"))
            for pid, url, text in zip(*columns, strict=True):
                if pid != current:
                    if current is not None:
                        out.append(assess_patient(pipeline, ctx, current, entries))
                    current, entries = pid, []
                entries.append((url, text))
            if len(out) >= _ROWS_PER_BATCH:
                yield pa.RecordBatch.from_pylist(out, ROW_SCHEMA)
                out = []
        if current is not None:
            out.append(assess_patient(pipeline, ctx, current, entries))
        if out:
            yield pa.RecordBatch.from_pylist(out, ROW_SCHEMA)

    return assess


_ROWS_PER_BATCH = 1000
