"""What a hook call's prefetch says, read as a client means it (issue 9, found by trying the
service as a user would): part of the medicines list failing leaves the list unknown, not
empty; a resource about another patient is never read as this one's."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.cards.render import FINDINGS_EXTENSION as FINDINGS
from tests.conftest import service_url
from tests.integration.vignettes import OUTCOME

EXAMPLES = Path(__file__).resolve().parents[2] / "openapi" / "examples"
HOOKS: dict[str, Any] = json.loads((EXAMPLES / "hook-requests.json").read_text("utf-8"))


@pytest.fixture(scope="module")
def client(fixed_client: TestClient) -> TestClient:
    return fixed_client


def morphine_for_a_patient_on_pregabalin() -> dict[str, Any]:
    """The order-sign example: morphine MR drafted for a man whose record holds pregabalin."""
    return copy.deepcopy(HOOKS["order-sign-morphine"]["value"])


def fired(response: Any) -> set[str]:
    """The rules on the cards (a rule may be a line of a card another rule leads)."""
    assert response.status_code == 200, response.text
    return {f["rule"] for c in response.json()["cards"] for f in c["extension"][FINDINGS]}


def test_the_example_warns_about_morphine_with_the_current_pregabalin(client: TestClient) -> None:
    body = morphine_for_a_patient_on_pregabalin()
    assert "opioid-gabapentinoid" in fired(client.post(service_url(body), json=body))


def test_prescriptions_not_sent_and_not_fetchable_are_a_412_not_no_medicines(
    client: TestClient,
) -> None:
    """A missing key was not satisfied ([SPEC2] Prefetch): with the statements null, the
    prescriptions (where the pregabalin is) are unknown, not none (a new-user trial found the
    gabapentinoid warning lost, and a 120 mg order said to "start opioids")."""
    body = morphine_for_a_patient_on_pregabalin()
    body["prefetch"].pop("medicationRequests")
    body["prefetch"]["medicationStatements"] = None
    response = client.post(service_url(body), json=body)
    assert response.status_code == 412, response.text
    said = response.json()["issue"][0]["diagnostics"]
    assert "prefetch.medicationRequests" in said and "could not be fetched" in said


def test_prescriptions_sent_null_mean_none_and_are_evaluated(client: TestClient) -> None:
    """The pair: null is "satisfied, no data" — the order is evaluated, no pregabalin seen."""
    body = morphine_for_a_patient_on_pregabalin()
    body["prefetch"]["medicationRequests"] = None
    assert "opioid-gabapentinoid" not in fired(client.post(service_url(body), json=body))


def test_prescriptions_under_a_clients_own_key_count_as_sent(client: TestClient) -> None:
    body = morphine_for_a_patient_on_pregabalin()
    body["prefetch"]["gpMedications"] = body["prefetch"].pop("medicationRequests")
    assert "opioid-gabapentinoid" in fired(client.post(service_url(body), json=body))


@pytest.mark.parametrize(
    "statements", [None, "missing"], ids=["statements-null", "statements-missing"]
)
def test_a_failed_medication_request_search_is_a_412_not_no_medicines(
    client: TestClient, statements: Any
) -> None:
    body = morphine_for_a_patient_on_pregabalin()
    body["prefetch"]["medicationRequests"] = OUTCOME
    if statements == "missing":
        body["prefetch"].pop("medicationStatements", None)
    else:
        body["prefetch"]["medicationStatements"] = None
    response = client.post(service_url(body), json=body)
    assert response.status_code == 412, response.text
    assert "prefetch.medicationRequests" in response.json()["issue"][0]["diagnostics"]


def test_a_medicine_about_another_patient_is_left_out_and_said(client: TestClient) -> None:
    body = morphine_for_a_patient_on_pregabalin()
    for entry in body["prefetch"]["medicationRequests"]["entry"]:
        entry["resource"]["subject"] = {"reference": "Patient/someone-else"}
    # A high dose, so that a card fires and can say what was left out.
    draft = body["context"]["draftOrders"]["entry"][0]["resource"]
    draft["dosageInstruction"] = [{"text": "three twice a day"}]
    response = client.post(service_url(body), json=body)
    assert "opioid-gabapentinoid" not in fired(response)
    cards = response.json()["cards"]
    assert any("1 resource(s) about another patient were left out" in c["detail"] for c in cards)


def test_a_patient_id_sent_as_a_reference_still_matches_its_resources(client: TestClient) -> None:
    body = morphine_for_a_patient_on_pregabalin()
    patient = body["context"]["patientId"]
    body["context"]["patientId"] = f"Patient/{patient}"
    assert "opioid-gabapentinoid" in fired(client.post(service_url(body), json=body))


def test_a_draft_naming_its_medicine_by_an_unresolvable_reference_gets_a_card(
    client: TestClient,
) -> None:
    """Issue 9: a proposed medicine named only by a medicationReference that resolves nowhere
    got no card at all; it is now unresolved, and the card says so and why."""
    body = morphine_for_a_patient_on_pregabalin()
    draft = body["context"]["draftOrders"]["entry"][0]["resource"]
    del draft["medicationCodeableConcept"]
    draft["medicationReference"] = {"reference": "Medication/not-sent"}
    response = client.post(service_url(body), json=body)
    cards = response.json()["cards"]
    (card,) = [c for c in cards if "not assessed" in c["summary"]]
    assert "Medication/not-sent" in card["summary"] + card["detail"]
    assert "could not be resolved" in card["detail"]
