"""The Synthea extract (US, RxNorm; ../shared/reference/synthea) through POST /ome.

89 patients with an opioid or benzodiazepine request and 15 controls without. Synthea's
shape: mostly stopped requests, many without dosage, doses as a bare count every 4 or 6
hours. Every bundle must be read; every opioid or benzodiazepine request identified by its
RxNorm code; the controls complete with no opioid and nothing unresolved.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import REFERENCE, load_json

INDEX = REFERENCE / "synthea" / "index.json"
#: Active, dosed requests in the extract: "1 every 6 hours" of each tablet (CDC 2022 factors).
EXPECTED_MME = {
    "1049221": 30.0,  # APAP 325 / oxycodone 5 mg: 4 × 5 mg × 1.5
    "857005": 30.0,  # APAP 325 / hydrocodone 7.5 mg: 4 × 7.5 mg × 1
}
PATIENTS = load_json(INDEX) if INDEX.exists() else []
CONTROLS = sorted((REFERENCE / "synthea" / "controls").glob("*.json"))


def _ome(client: TestClient, path: Path) -> dict[str, Any]:
    response = client.post("/ome?profile=us-cdc-2022", json=load_json(path))
    assert response.status_code == 200, (path.name, response.text[:300])
    report: dict[str, Any] = response.json()
    return report


@pytest.mark.skipif(not INDEX.exists(), reason="reference data not present")
@pytest.mark.parametrize("patient", PATIENTS, ids=[p["file"][:40] for p in PATIENTS])
def test_every_opioid_and_benzodiazepine_request_is_identified(
    fixed_client: TestClient, patient: dict[str, Any]
) -> None:
    report = _ome(fixed_client, REFERENCE / "synthea" / "trimmed" / patient["file"])
    by_code = {}
    for row in report["medications"]:
        code = row["identified_by"].removeprefix("RxNorm code ")
        by_code.setdefault(code, []).append(row)
    for request in patient["opioid_or_benzo_medicationrequests"]:
        rows = by_code.get(request["rxnorm"])
        assert rows, (request["display"], [r["identified_by"] for r in report["medications"]])
        for row in rows:
            if request["status"] != "active":
                assert row["status"] == "excluded" and not row["counted"]
            elif request["rxnorm"] in EXPECTED_MME:
                assert row["ome_mg_per_day"] == EXPECTED_MME[request["rxnorm"]], row
            elif row["status"] == "unresolved":
                assert row["reason"], row  # e.g. no dosage at all: said, never 0
            assert row["status"] != "calculated" or row["ome_mg_per_day"] > 0


@pytest.mark.skipif(not CONTROLS, reason="reference data not present")
@pytest.mark.parametrize("path", CONTROLS, ids=[p.name[:40] for p in CONTROLS])
def test_controls_have_no_opioid_and_nothing_unresolved(
    fixed_client: TestClient, path: Path
) -> None:
    report = _ome(fixed_client, path)
    assert report["total_ome_mg_per_day"] == 0
    assert report["complete"], [r for r in report["medications"] if r["status"] == "unresolved"]
