"""Find's Spark engine (issue 15) gives the local engine's output exactly: the same files,
the same rows sorted by patient key, the same values. One small population on ``local[2]``
(Spark's start-up is most of the time), with gzipped NDJSON, a Medication joined by
reference, and a plain Bundle whose references are ``urn:uuid`` fullUrls."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from service.config import Settings
from service.find.run import FindOptions, run_find
from tests.integration.find_support import KEY, generate

pytest.importorskip("pyspark")
pytestmark = pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java 17")

AS_OF = date(2026, 11, 22)


def _bundle_patient(folder: Path) -> None:
    """A patient as Synthea writes one: a Bundle, references by urn:uuid fullUrl."""
    pid, mid = "0b0c7a7e-0000-4000-8000-000000000001", "0b0c7a7e-0000-4000-8000-000000000002"
    entries = [
        {
            "fullUrl": f"urn:uuid:{pid}",
            "resource": {"resourceType": "Patient", "id": pid, "gender": "female"},
        },
        {
            "fullUrl": f"urn:uuid:{mid}",
            "resource": {
                "resourceType": "Medication",
                "id": mid,
                "code": {
                    "coding": [
                        {
                            "system": "https://dmd.nhs.uk",
                            "code": "36127311000001102",
                            "display": "Morphine 30mg modified-release tablets",
                        }
                    ]
                },
            },
        },
        {
            "fullUrl": "urn:uuid:0b0c7a7e-0000-4000-8000-000000000003",
            "resource": {
                "resourceType": "MedicationRequest",
                "id": "0b0c7a7e-0000-4000-8000-000000000003",
                "status": "active",
                "intent": "order",
                "subject": {"reference": f"urn:uuid:{pid}"},
                "medicationReference": {"reference": f"urn:uuid:{mid}"},
                "authoredOn": "2026-10-01",
                "dosageInstruction": [{"text": "2 twice a day"}],
            },
        },
    ]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    (folder / "synthea-like.json").write_text(json.dumps(bundle), "utf-8")


def test_spark_output_equals_the_local_engine(tmp_path: Path) -> None:
    export = tmp_path / "export"
    generate(export, patients=60, seed=7, practices=3, compress=True)
    _bundle_patient(export)
    settings = Settings(pseudonym_key=KEY)
    local, spark = tmp_path / "local", tmp_path / "spark"
    a = run_find(settings, FindOptions((export,), local, AS_OF, workers=2, progress=False))
    b = run_find(settings, FindOptions((export,), spark, AS_OF, engine="spark", master="local[2]"))
    assert a["patients"] == b["patients"] == 61
    names = sorted(p.name for p in local.iterdir())
    assert names == sorted(p.name for p in spark.iterdir())
    for name in names:
        if name.endswith(".parquet"):
            assert pq.read_table(local / name).equals(pq.read_table(spark / name)), name
        else:
            assert (local / name).read_bytes() == (spark / name).read_bytes(), name
    rows = pq.read_table(spark / "patients.parquet").to_pylist()
    # The Bundle's patient: 2 × 30 mg twice a day, through the joined Medication.
    assert any(r["total_ome_mg_per_day"] == 120 for r in rows)
