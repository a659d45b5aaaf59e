"""Every request in ../shared/reference/cds-hooks gets the answer the spec calls for.

Conformant requests for a hook we serve get 200; a hook we do not serve, and the
non-conformant CDC example, get a clear 400.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.cds_hooks.services import SERVICE_FOR_HOOK
from tests.conftest import load_json, reference_path, service_url


def wrap_context(hook: str, context: dict[str, Any], prefetch: dict[str, Any]) -> dict[str, Any]:
    """A Hook Library context file as a whole request."""
    return {
        "hook": hook,
        "hookInstance": str(uuid.uuid4()),
        "context": context,
        "prefetch": prefetch,
    }


HOOK_LIBRARY_SERVED = [
    ("order-select", "order-select-context-r4.json"),
    ("order-select", "order-select-context-stu3.json"),
    ("order-select", "order-select-context-dstu2.json"),
    ("order-sign", "order-sign-context-r4.json"),
    ("order-sign", "order-sign-context-stu3.json"),
    ("order-sign", "order-sign-context-dstu2.json"),
    ("medication-refill", "medication-refill-context-r4.json"),
    ("medication-refill", "medication-refill-context-dstu2.json"),
]


@pytest.mark.parametrize(
    ("hook", "name"), HOOK_LIBRARY_SERVED, ids=[n for _, n in HOOK_LIBRARY_SERVED]
)
def test_hook_library_contexts_are_accepted(client: TestClient, hook: str, name: str) -> None:
    context = load_json(reference_path("cds-hooks", "hook-library-1.0.1", name))["context"]
    body = wrap_context(hook, context, {"medicationRequests": None, "conditions": None})
    response = client.post(f"/cds-services/{SERVICE_FOR_HOOK[hook]}", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"cards": []}  # no opioid, gabapentinoid or sedative here


def test_hook_library_discharge_context_is_accepted(client: TestClient) -> None:
    context = load_json(
        reference_path("cds-hooks", "hook-library-1.0.1", "encounter-discharge-context-any.json")
    )["context"]
    body = wrap_context("encounter-discharge", context, {"dischargeMedications": None})
    response = client.post("/cds-services/opioid-discharge", json=body)
    assert response.status_code == 200, response.text


def test_deprecated_medication_prescribe_hook_is_refused(client: TestClient) -> None:
    context = load_json(
        reference_path("cds-hooks", "hook-library-1.0.1", "medication-prescribe-context-stu3.json")
    )["context"]
    body = wrap_context("medication-prescribe", context, {})
    response = client.post(service_url(body), json=body)
    assert response.status_code == 400
    assert "does not serve hook 'medication-prescribe'" in response.text


SANDBOX = [
    "captured-order-select-empty-draft.json",
    "captured-order-select-with-medication.json",
    "captured-order-sign-with-medication.json",
]


@pytest.mark.parametrize("name", SANDBOX)
def test_sandbox_captures_are_accepted(client: TestClient, name: str) -> None:
    """Real-client quirks: Bundle without type, category as an object, {pill} doses, the
    client's own prefetch key names."""
    body = load_json(reference_path("cds-hooks", "sandbox", name))["body"]
    response = client.post(service_url(body), json=body)
    assert response.status_code == 200, response.text


def test_sandbox_empty_draft_gets_no_cards(client: TestClient) -> None:
    body = load_json(
        reference_path("cds-hooks", "sandbox", "captured-order-select-empty-draft.json")
    )["body"]
    response = client.post(service_url(body), json=body)
    assert response.json() == {"cards": []}


@pytest.mark.parametrize("name", ["order_select_hook_request.json", "order_sign_hook_request.json"])
def test_inferno_requests_are_accepted(client: TestClient, name: str) -> None:
    """Amoxicillin and a diet order: nothing in scope, so no history is needed: 200."""
    body = load_json(reference_path("cds-hooks", "inferno-crd-test-kit", name))
    response = client.post(f"/cds-services/{SERVICE_FOR_HOOK[body['hook']]}", json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"cards": []}


def test_inferno_discharge_without_data_is_412(client: TestClient) -> None:
    """No prefetch and a FHIR server this version cannot query yet: the discharge medicines
    are unobtainable, and CDS Hooks 2.0.1 says the service SHALL answer 412."""
    body = load_json(
        reference_path("cds-hooks", "inferno-crd-test-kit", "encounter_discharge_hook_request.json")
    )
    response = client.post("/cds-services/opioid-discharge", json=body)
    assert response.status_code == 412
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "dischargeMedications" in outcome["issue"][0]["diagnostics"]
    assert body["fhirAuthorization"]["access_token"] not in response.text


def test_spec3_paginated_prefetch_is_read_and_the_gap_noted(client: TestClient) -> None:
    body = load_json(
        reference_path(
            "cds-hooks", "spec-3.0.0-ballot", "request-order-sign-paginated-prefetch-example.json"
        )
    )
    response = client.post(service_url(body), json=body)
    assert response.status_code == 200, response.text


def test_spec3_two_medication_requests_context_is_accepted(client: TestClient) -> None:
    context = load_json(
        reference_path(
            "cds-hooks",
            "spec-3.0.0-ballot",
            "order-sign-context-two-medicationrequests-example.json",
        )
    )["context"]
    body = wrap_context("order-sign", context, {"medicationRequests": None})
    assert client.post(service_url(body), json=body).status_code == 200


def test_radiology_order_select_gets_no_cards(client: TestClient) -> None:
    body = load_json(
        reference_path("cds-hooks", "docs-examples", "radiology-order-select-request.json")
    )
    response = client.post(service_url(body), json=body)
    assert response.status_code == 200, response.text
    assert response.json() == {"cards": []}


def test_patient_view_example_without_medicines_is_a_412_naming_them(client: TestClient) -> None:
    """The spec's patient-view example prefetches only the Patient, and its fhirServer is not
    on the allowlist: chart-open review has nothing to read, so 412 (issue 17)."""
    body = load_json(reference_path("cds-hooks", "spec-2.0.1", "request-patient-view-example.json"))
    response = client.post(service_url(body), json=body)
    assert response.status_code == 412, response.text
    assert "prefetch.medicationRequests" in response.json()["issue"][0]["diagnostics"]
    assert "1288992" not in response.text  # the patient id is never echoed


def test_patient_view_extension_example_without_patient_id_is_a_400(client: TestClient) -> None:
    body = load_json(reference_path("cds-hooks", "spec-2.0.1", "request-extension-example.json"))
    response = client.post(service_url(body), json=body)
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["context.patientId"]


def test_nonconformant_cdc_example_gets_a_clear_400(client: TestClient) -> None:
    """Pre-1.0 shape: order-sign with ``medications`` (an array) instead of draftOrders."""
    body = load_json(
        reference_path("cds-hooks", "docs-examples", "cdc-opioid-request-NONCONFORMANT.json")
    )
    response = client.post(service_url(body), json=body)
    assert response.status_code == 400
    issue = response.json()["issue"][0]
    assert issue["expression"] == ["context.draftOrders"]


def test_sandbox_feedback_captures_are_accepted(client: TestClient) -> None:
    for name in ("captured-feedback-accepted.json", "captured-feedback-overridden.json"):
        capture = load_json(reference_path("cds-hooks", "sandbox", name))
        response = client.post("/cds-services/opioid-safety-sign/feedback", json=capture["body"])
        assert response.status_code == 200, (name, response.text)


@pytest.mark.parametrize(
    "name",
    [
        "feedback-accepted-example.json",
        "feedback-overridden-example.json",
        "feedback-overridden-with-reason-example.json",
    ],
)
def test_spec_feedback_examples_are_accepted(client: TestClient, name: str) -> None:
    body = load_json(reference_path("cds-hooks", "spec-2.0.1", name))
    response = client.post("/cds-services/opioid-safety-sign/feedback", json=body)
    assert response.status_code == 200, response.text
