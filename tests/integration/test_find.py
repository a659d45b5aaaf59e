"""Find (issue 15) with the local engine: a generated population and the Synthea patients
through ``python -m service find``, the outputs, and the one code path — every patient's
total equals ``POST /ome`` on the same record and date."""

from __future__ import annotations

import csv
import io
import json
from contextlib import redirect_stdout
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from service.__main__ import main
from service.config import Settings
from service.find.patient import patient_bundle, patient_key
from service.find.report_html import worklist_order
from service.find.run import FindOptions, run_find
from tests.conftest import reference_path
from tests.integration.find_support import KEY, generate, patients_of

AS_OF = date(2026, 11, 22)
SYNTHEA_AS_OF = date(2020, 1, 1)


@pytest.fixture(scope="module")
def population(tmp_path_factory: pytest.TempPathFactory) -> Path:
    export = tmp_path_factory.mktemp("export")
    generate(export, patients=300, seed=15, practices=4, compress=True)
    return export


@pytest.fixture(scope="module")
def found(population: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("out")
    settings = Settings(pseudonym_key=KEY)
    summary = run_find(settings, FindOptions((population,), out, AS_OF, workers=2, progress=False))
    assert summary["patients"] == 300 and summary["pseudonym_key"] == "configured"
    return out


def _csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text("utf-8"))))


def _same_as_ome(
    client: TestClient, paths: tuple[Path, ...], out: Path, as_of: date, profile: str
) -> int:
    rows = {r["patient_key"]: r for r in pq.read_table(out / "patients.parquet").to_pylist()}
    checked = 0
    for pid, entries in patients_of(*paths).items():
        row = rows.get(patient_key(KEY, pid))
        if not any('"Medication' in text for _, text in entries):
            assert row is None, pid  # no medicines: nothing for POST /ome, not in scope
            continue
        response = client.post(
            f"/ome?as_of={as_of.isoformat()}&profile={profile}", json=patient_bundle(entries)
        )
        assert response.status_code == 200, response.text[:300]
        report = response.json()
        total = report["total_ome_mg_per_day"]
        # A patient not in patients.csv has no in-scope medicine: no opioid total either.
        found_total = row["total_ome_mg_per_day"] if row else None
        counted = [m for m in report["medications"] if m["counted"] and m["status"] == "calculated"]
        # Find leaves the total empty, never 0, when POST /ome counted no opioid in it.
        assert found_total == (total if counted else None), pid
        if row:
            assert (row["total_status"] in ("at least", "unknown")) == (
                report["unresolved_count"] > 0
            )
        checked += 1
    assert checked
    return checked


def test_every_total_equals_post_ome(app_client: TestClient, population: Path, found: Path) -> None:
    assert _same_as_ome(app_client, (population,), found, AS_OF, "uk-opioids-aware") > 50


def test_outputs_are_written(found: Path) -> None:
    names = sorted(p.name for p in found.iterdir())
    assert names == [
        "organisations.csv",
        "organisations.parquet",
        "patients.csv",
        "patients.parquet",
        "report.html",
        "trend.csv",
    ]
    patients = _csv(found / "patients.csv")
    assert patients and len(patients) == pq.read_table(found / "patients.parquet").num_rows
    keys = [p["patient_key"] for p in patients]
    assert keys == sorted(keys)
    orgs = _csv(found / "organisations.csv")
    assert sum(int(o["list_size"]) for o in orgs) == 300
    assert {o["organisation"] for o in orgs} <= {p["organisation"] for p in patients} | {
        o["organisation"] for o in orgs
    }
    assert all(o["organisation"][0].isalpha() for o in orgs)  # ODS codes, not ids
    for o in orgs:
        expected = round(int(o["high_dose_patients"]) * 1000 / int(o["list_size"]), 1)
        assert float(o["high_dose_per_1000"]) == expected
    trend = _csv(found / "trend.csv")
    ends = sorted({t["period_end"] for t in trend})
    assert ends[-1] == AS_OF.isoformat() and len(ends) > 1
    assert {t["organisation"] for t in trend} == {o["organisation"] for o in orgs} | {"ALL"}


def test_escalation_co_prescribing_and_duplicates_are_found(found: Path) -> None:
    patients = pq.read_table(found / "patients.parquet").to_pylist()
    assert any(p["escalation"] for p in patients)
    assert any(p["opioid_gabapentinoid"] for p in patients)
    assert any(p["opioid_sedative"] for p in patients)
    assert any("counted once" in p["medicines"] for p in patients)


def test_report_is_self_contained_with_a_worklist_per_practice(found: Path) -> None:
    html = (found / "report.html").read_text("utf-8")
    assert "<script" not in html and "<link" not in html and 'src="' not in html
    assert "<svg" in html
    orgs = [o["organisation"] for o in _csv(found / "organisations.csv")]
    for org in orgs:
        assert f"<h3>{org} (" in html
    patients = pq.read_table(found / "patients.parquet").to_pylist()
    first_org = sorted({p["organisation"] for p in patients})[0]
    section = html.split(f"<h3>{first_org} (")[1].split("</table>")[0]
    shown = [line.split("<code>")[1].split("</code>")[0] for line in section.split("<tr>")[2:]]
    by_key = {p["patient_key"]: p for p in patients}
    order = [worklist_order(by_key[k]) for k in shown]
    assert order == sorted(order)  # tier first, then dose (unknown first, none counted last)
    assert any(by_key[k]["total_ome_mg_per_day"] for k in shown)


def test_synthea_patients_total_as_post_ome(app_client: TestClient, tmp_path: Path) -> None:
    trimmed = reference_path("synthea", "trimmed")
    controls = reference_path("synthea", "controls")
    out = tmp_path / "out"
    summary = run_find(
        Settings(pseudonym_key=KEY),
        FindOptions(
            (trimmed, controls), out, SYNTHEA_AS_OF, "us-cdc-2022", workers=2, progress=False
        ),
    )
    patients = len(list(trimmed.glob("*.json"))) + len(list(controls.glob("*.json")))
    assert summary["patients"] == patients
    assert (out / "report.html").exists() and (out / "patients.parquet").exists()
    checked = _same_as_ome(app_client, (trimmed, controls), out, SYNTHEA_AS_OF, "us-cdc-2022")
    assert checked >= len(list(trimmed.glob("*.json")))  # each has an opioid or benzodiazepine


def test_command_line(population: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPIOID_CDS_PSEUDONYM_KEY", raising=False)
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        code = main(
            [
                "find",
                str(population),
                "--out",
                str(tmp_path),
                "--as-of",
                "2026-11-22",
                "--workers",
                "1",
                "--no-progress",
            ]
        )
    assert code == 0
    summary: dict[str, Any] = json.loads(buffer.getvalue())
    assert summary["pseudonym_key"] == "per-run" and summary["patients"] == 300
    assert "per-run key" in (tmp_path / "report.html").read_text("utf-8")


def test_command_line_refuses_an_unknown_profile(population: Path, tmp_path: Path) -> None:
    assert main(["find", str(population), "--out", str(tmp_path), "--profile", "nope"]) == 2
