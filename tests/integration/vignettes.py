"""Named vignettes shared by the issue 9 HTTP tests (test_numbers, test_do_not_perform,
test_containers): FHIR resources, an order-sign request, and POST helpers."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.unit.ome.fhir_builders import MORPHINE_MR_30, Med, bundle, dosage, request, tablets

OUTCOME = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "timeout"}]}


def structured(med: Med, id_: str, **dose: Any) -> dict[str, Any]:
    """A MedicationRequest with one structured dosage line."""
    resource = request(med, id=id_)
    resource["dosageInstruction"] = [dosage(**dose)]
    return resource


def ome(http: TestClient, body: Any) -> dict[str, Any]:
    response = http.post("/ome", json=body)
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def refused(http: TestClient, content: str, url: str = "/ome") -> dict[str, Any]:
    """POST raw JSON text (so NaN and Infinity literals reach the server as sent); expect a
    400 and return its first issue."""
    response = http.post(url, content=content, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    issue: dict[str, Any] = response.json()["issue"][0]
    return issue


#: Morphine 30 mg MR, one tablet twice a day = 60 mg OME/day.
MORPHINE_BD = structured(
    MORPHINE_MR_30, "mst", dose=tablets(1), frequency=2, period=1, period_unit="d"
)


def hook_body(history: list[dict[str, Any]], draft: dict[str, Any] | None = None) -> dict[str, Any]:
    """An order-sign of ``draft`` (default: a new morphine 30 mg MR twice a day) with the
    patient's medicine requests, patient and (empty) conditions prefetched."""
    if draft is None:
        draft = structured(
            MORPHINE_MR_30, "draft", dose=tablets(1), frequency=2, period=1, period_unit="d"
        )
        draft["status"] = "draft"
    return {
        "hook": "order-sign",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {
            "userId": "Practitioner/gp",
            "patientId": "pat-1",
            "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": draft}]},
        },
        "prefetch": {
            "patient": {
                "resourceType": "Patient",
                "id": "pat-1",
                "gender": "female",
                "birthDate": "1960-01-01",
            },
            "medicationRequests": bundle(*history),
            "conditions": {"resourceType": "Bundle", "type": "searchset", "entry": []},
        },
    }
