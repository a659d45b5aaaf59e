"""Reading a FHIR Bulk Data export (service/fhir/bulk.py): file names, gzip, Bundles, whose
patient each resource is, and errors that name the place, never the content."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from service.fhir.bulk import export_files, read_lines, reference_id

PATIENT = {"resourceType": "Patient", "id": "p1"}
REQUEST = {
    "resourceType": "MedicationRequest",
    "id": "r1",
    "subject": {"reference": "https://fhir.example/Patient/p1"},
    "medicationReference": {"reference": "Medication/m1"},
    "authoredOn": "2026-01-02T10:00:00Z",
}


def test_export_files_by_name(tmp_path: Path) -> None:
    for name in ("Patient.ndjson", "MedicationRequest.2.ndjson", "Condition.ndjson.gz",
                 "bundle.json", "notes.txt", "manifest"):  # fmt: skip
        (tmp_path / name).write_bytes(b"")
    found = {f.path.name: (f.shape, f.resource_type) for f in export_files(tmp_path)}
    assert found == {
        "Patient.ndjson": ("ndjson", "Patient"),
        "MedicationRequest.2.ndjson": ("ndjson", "MedicationRequest"),
        "Condition.ndjson.gz": ("ndjson", "Condition"),
        "bundle.json": ("bundle", None),
    }


def test_lines_of_ndjson_gzip_and_bundles(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "MedicationRequest.ndjson.gz", "wt") as f:
        f.write(json.dumps(REQUEST) + "\n\n")
    bundle = {"resourceType": "Bundle", "entry": [{"fullUrl": "urn:uuid:p1", "resource": PATIENT}]}
    (tmp_path / "b.json").write_text(json.dumps(bundle))
    lines = [line for f in export_files(tmp_path) for line in read_lines(f)]
    assert [(x.kind, x.key, x.refs, x.date) for x in lines] == [
        ("patient", "p1", ("Medication/m1",), "2026-01-02"),
        ("patient", "p1", (), None),
    ]
    assert lines[1].full_url == "urn:uuid:p1"


def test_a_line_that_is_not_json_is_named_not_echoed(tmp_path: Path) -> None:
    (tmp_path / "Patient.ndjson").write_text(json.dumps(PATIENT) + "\n{SECRET\n")
    with pytest.raises(ValueError, match=r"Patient\.ndjson line 2 is not valid JSON") as err:
        list(read_lines(export_files(tmp_path)[0]))
    assert "SECRET" not in str(err.value)


def test_reference_ids() -> None:
    assert reference_id("Patient/1") == reference_id("urn:uuid:1") == "1"
    assert reference_id("https://x/fhir/Patient/1") == "1"
