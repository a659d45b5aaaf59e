"""``MedicationRequest.doNotPerform: true`` (issue 9 item 6): an instruction NOT to give the
medicine. Excluded with the reason "doNotPerform: an instruction not to give it", never
counted, never proposed; the same resource without it is counted (named pairs, via HTTP)."""

from __future__ import annotations

import copy

import pytest
from fastapi.testclient import TestClient

from tests.conftest import service_url
from tests.integration.vignettes import MORPHINE_BD, hook_body, ome, structured
from tests.unit.ome.fhir_builders import OXYCODONE_MR_40, tablets


@pytest.fixture(scope="module")
def http(fixed_client: TestClient) -> TestClient:
    return fixed_client


def test_do_not_perform_is_excluded_with_the_reason_and_not_counted(http: TestClient) -> None:
    stop = copy.deepcopy(MORPHINE_BD) | {"id": "do-not", "doNotPerform": True}
    oxy = structured(
        OXYCODONE_MR_40, "oxy", dose=tablets(1), frequency=2, period=1, period_unit="d"
    )
    report = ome(http, [stop, oxy])
    assert report["total_ome_mg_per_day"] == 120.0  # oxycodone only
    first = report["medications"][0]
    assert first["status"] == "excluded" and first["counted"] is False
    assert first["reason"] == "doNotPerform: an instruction not to give it"
    assert "do_not_perform" in first["flags"]


def test_do_not_perform_false_is_counted(http: TestClient) -> None:
    given = copy.deepcopy(MORPHINE_BD) | {"doNotPerform": False}
    assert ome(http, given)["total_ome_mg_per_day"] == 60.0


def test_a_proposed_do_not_perform_order_is_not_a_proposal(http: TestClient) -> None:
    """An order not to give oxycodone 120 mg OME/day on top of morphine 60: silent. The same
    order without doNotPerform makes the total 180 and the high-dose card fires."""
    oxy = structured(
        OXYCODONE_MR_40, "oxy", dose=tablets(1), frequency=2, period=1, period_unit="d"
    )
    oxy["status"] = "draft"
    fires = http.post("/cds-services/opioid-safety-sign", json=hook_body([MORPHINE_BD], draft=oxy))
    assert any("180" in c["summary"] for c in fires.json()["cards"])
    silent = http.post(
        "/cds-services/opioid-safety-sign",
        json=hook_body([MORPHINE_BD], draft=oxy | {"doNotPerform": True}),
    )
    assert silent.status_code == 200
    assert silent.json() == {"cards": []}


def test_a_proposed_do_not_perform_opioid_needs_no_medicines_list(http: TestClient) -> None:
    oxy = structured(
        OXYCODONE_MR_40, "oxy", dose=tablets(1), frequency=2, period=1, period_unit="d"
    )
    body = hook_body([], draft=oxy | {"doNotPerform": True, "status": "draft"})
    del body["prefetch"]["medicationRequests"]
    assert http.post(service_url(body), json=body).status_code == 200
    del body["context"]["draftOrders"]["entry"][0]["resource"]["doNotPerform"]
    assert http.post(service_url(body), json=body).status_code == 412
