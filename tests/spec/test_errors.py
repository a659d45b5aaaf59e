"""Bad input gets a clear 4xx naming what is wrong and where; never a 500; never an echo."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.storage import schema
from tests.conftest import REPO_ROOT, service_url
from tests.storage.rows import app_storage, rows

EXAMPLES = json.loads((REPO_ROOT / "openapi/examples/hook-requests.json").read_text("utf-8"))


def example(name: str) -> dict[str, Any]:
    value: dict[str, Any] = copy.deepcopy(EXAMPLES[name]["value"])
    return value


def issue(response: Any) -> dict[str, Any]:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    first: dict[str, Any] = body["issue"][0]
    return first


def test_malformed_json_is_400_saying_so(client: TestClient) -> None:
    response = client.post(
        "/cds-services/opioid-safety-sign",
        content=b'{"hook": ',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert "not valid JSON" in issue(response)["diagnostics"]


def test_a_json_array_body_is_400(client: TestClient) -> None:
    response = client.post("/cds-services/opioid-safety-sign", json=[1, 2])
    assert response.status_code == 400
    assert "JSON object" in issue(response)["diagnostics"]


def test_unknown_service_is_404(client: TestClient) -> None:
    response = client.post("/cds-services/no-such-service", json=example("order-sign-morphine"))
    assert response.status_code == 404
    assert "no-such-service" not in response.text  # never echoed (issue 12)
    assert "no CDS Service with this id" in issue(response)["diagnostics"]


def test_unknown_service_feedback_is_404(client: TestClient) -> None:
    body = {
        "feedback": [
            {
                "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
                "outcome": "overridden",
                "outcomeTimestamp": "2026-11-22T10:00:00Z",
            }
        ]
    }
    assert client.post("/cds-services/nope/feedback", json=body).status_code == 404


def test_hook_not_served_by_the_service_is_400(client: TestClient) -> None:
    body = example("order-sign-morphine")
    response = client.post("/cds-services/opioid-discharge", json=body)
    assert response.status_code == 400
    assert issue(response)["expression"] == ["hook"]


def test_discharge_hook_sent_to_the_prescribing_service_is_400(client: TestClient) -> None:
    response = client.post(
        "/cds-services/opioid-safety-sign", json=example("encounter-discharge-oxycodone")
    )
    assert response.status_code == 400


@pytest.mark.parametrize("field", ["userId", "patientId", "draftOrders"])
def test_missing_required_context_field_is_400_naming_it(client: TestClient, field: str) -> None:
    body = example("order-sign-morphine")
    del body["context"][field]
    response = client.post(service_url(body), json=body)
    assert response.status_code == 400
    assert issue(response)["expression"] == [f"context.{field}"]


def test_refill_without_user_is_accepted(client: TestClient) -> None:
    """medication-refill: userId is optional (refills arrive from pharmacies and portals)."""
    body = example("medication-refill-oxycodone")
    del body["context"]["userId"]
    assert client.post(service_url(body), json=body).status_code == 200


def test_missing_hook_instance_is_400(client: TestClient) -> None:
    body = example("order-sign-morphine")
    del body["hookInstance"]
    response = client.post(service_url(body), json=body)
    assert response.status_code == 400
    assert issue(response)["expression"] == ["hookInstance"]


def test_wrongly_typed_dosage_is_400_with_its_path(client: TestClient) -> None:
    body = example("order-sign-morphine")
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    order["dosageInstruction"][0]["timing"]["repeat"]["frequency"] = "twice"
    response = client.post(service_url(body), json=body)
    assert response.status_code == 400
    assert issue(response)["expression"] == [
        "context.draftOrders.entry[0].resource.dosageInstruction[0].timing.repeat.frequency"
    ]


def test_draft_orders_not_an_object_is_400(client: TestClient) -> None:
    body = example("order-sign-morphine")
    body["context"]["draftOrders"] = "MedicationRequest/1"
    response = client.post(service_url(body), json=body)
    assert response.status_code == 400
    assert issue(response)["expression"] == ["context.draftOrders"]


def test_invalid_date_is_400_with_its_path(client: TestClient) -> None:
    body = example("order-sign-morphine")
    body["context"]["draftOrders"]["entry"][0]["resource"]["authoredOn"] = "22/11/2026"
    response = client.post(service_url(body), json=body)
    assert response.status_code == 400
    assert issue(response)["expression"] == ["context.draftOrders.entry[0].resource.authoredOn"]


def test_fhir_authorization_without_server_is_400_and_token_not_echoed(client: TestClient) -> None:
    body = example("order-sign-morphine")
    del body["fhirServer"]
    body["fhirAuthorization"] = {
        "access_token": "very-secret-token",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "x",
    }
    response = client.post(service_url(body), json=body)
    assert response.status_code == 400
    assert "cds-r-1" in response.text
    assert "very-secret-token" not in response.text


def test_feedback_accepted_without_suggestions_is_400(client: TestClient) -> None:
    body = {
        "feedback": [
            {
                "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
                "outcome": "accepted",
                "outcomeTimestamp": "2026-11-22T10:00:00Z",
            }
        ]
    }
    response = client.post("/cds-services/opioid-safety-sign/feedback", json=body)
    assert response.status_code == 400
    assert "cds-fb-2" in response.text


def test_feedback_is_recorded_without_the_comment_text(client: TestClient) -> None:
    body = json.loads((REPO_ROOT / "openapi/examples/feedback.json").read_text("utf-8"))
    response = client.post(
        "/cds-services/opioid-safety-sign/feedback", json=body["overridden"]["value"]
    )
    assert response.status_code == 200
    entries = rows(app_storage(client), schema.feedback)
    last = entries[-1]
    assert (last["outcome"], last["override_reason_code"], last["has_comment"]) == (
        "overridden",
        "palliative-care",
        True,
    )
    assert "hospice" not in repr(entries)


def test_a_body_over_the_size_limit_is_413() -> None:
    from service.config import Settings
    from service.main import create_app

    with TestClient(create_app(Settings(max_request_bytes=1000))) as small:
        body = example("order-sign-morphine")
        response = small.post(service_url(body), json=body)
        assert response.status_code == 413
        assert "larger than 1000 bytes" in issue(response)["diagnostics"]
        assert small.get("/cds-services").status_code == 200


def _without_history(body: dict[str, Any]) -> dict[str, Any]:
    for key in ("medicationRequests", "medicationStatements"):
        body["prefetch"].pop(key, None)
    return body


def test_an_opioid_with_the_medicines_unobtainable_is_412_naming_the_prefetch(
    client: TestClient,
) -> None:
    response = client.post(
        "/cds-services/opioid-safety-sign", json=_without_history(example("order-sign-morphine"))
    )
    assert response.status_code == 412
    diagnostics = issue(response)["diagnostics"]
    assert "prefetch.medicationRequests" in diagnostics
    assert "prefetch.medicationStatements" in diagnostics


def test_a_medicine_out_of_scope_needs_no_history_and_gets_no_cards(client: TestClient) -> None:
    body = _without_history(example("order-sign-morphine"))
    draft = body["context"]["draftOrders"]["entry"][0]["resource"]
    draft["medicationCodeableConcept"] = {"text": "Amoxicillin 500mg capsules"}
    response = client.post(service_url(body), json=body)
    assert response.status_code == 200
    assert response.json() == {"cards": []}


def test_an_operation_outcome_in_the_medicines_prefetch_is_412(client: TestClient) -> None:
    body = _without_history(example("order-sign-morphine"))
    body["prefetch"]["medicationRequests"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout"}],
    }
    assert client.post(service_url(body), json=body).status_code == 412


def test_a_null_medicines_prefetch_means_none_and_is_evaluated(client: TestClient) -> None:
    """null: "satisfied, no data" — the patient takes nothing else (CDS Hooks 2.0.1)."""
    body = _without_history(example("order-sign-morphine"))
    body["prefetch"]["medicationRequests"] = None
    response = client.post(service_url(body), json=body)
    assert response.status_code == 200


def test_a_fhir_server_not_on_the_allowlist_is_412_and_says_so(client: TestClient) -> None:
    body = _without_history(example("order-sign-morphine"))
    body["fhirAuthorization"] = {
        "access_token": "secret-abc",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "cds",
    }
    response = client.post(service_url(body), json=body)
    assert response.status_code == 412
    diagnostics = issue(response)["diagnostics"]
    assert "not on this service's allowlist" in diagnostics
    assert "prefetch.medicationRequests" in diagnostics
    assert "secret-abc" not in response.text and "gp.example" not in response.text


def test_cors_preflight_is_answered_for_configured_origins_only() -> None:
    """Browser CDS clients (the sandbox) preflight with Authorization and Content-Type."""
    from service.config import Settings
    from service.main import create_app

    origin = "https://sandbox.cds-hooks.org"
    preflight = {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    with TestClient(create_app(Settings(cors_allow_origins=[origin]))) as browser:
        response = browser.options("/cds-services/opioid-safety-sign", headers=preflight)
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == origin
        allowed = response.headers["access-control-allow-headers"].lower()
        assert "authorization" in allowed and "content-type" in allowed
        other = browser.options(
            "/cds-services/opioid-safety-sign",
            headers={**preflight, "Origin": "https://evil.example"},
        )
        assert "access-control-allow-origin" not in other.headers


def test_conditions_under_the_clients_own_prefetch_key_are_read(client: TestClient) -> None:
    """Clients name prefetch keys their own way (the sandbox sends 'meds'): a cancer record
    under 'problems' is still read — the high-dose card becomes information naming it — and
    conditions are not reported unchecked."""
    body = example("order-sign-morphine")
    draft = body["context"]["draftOrders"]["entry"][0]["resource"]
    draft["dosageInstruction"] = [{"text": "two twice a day"}]  # 120 mg OME/day
    summaries = [c["summary"] for c in client.post(service_url(body), json=body).json()["cards"]]
    assert any("complete an opioid risk assessment" in s for s in summaries)
    del body["prefetch"]["conditions"]
    body["prefetch"]["problems"] = {
        "resourceType": "Bundle",
        "entry": [
            {
                "resource": {
                    "resourceType": "Condition",
                    "clinicalStatus": {"coding": [{"code": "active"}]},
                    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "363346000"}]},
                }
            }
        ],
    }
    cards = client.post(service_url(body), json=body).json()["cards"]
    (card,) = [c for c in cards if "complete an opioid risk assessment" in c["summary"]]
    assert card["indicator"] == "info"
    assert "Shown as information rather than a warning" in card["detail"]
    assert "(363346000)" in card["detail"]
    assert all("conditions (cancer, palliative care) were not" not in c["detail"] for c in cards)


@pytest.mark.parametrize(
    ("reason", "accepted"),
    [
        pytest.param({"code": "palliative-care"}, True, id="offered-code-no-system"),
        pytest.param({"code": "made-up"}, False, id="code-never-offered"),
        pytest.param(
            {"system": "https://elsewhere.example/reasons", "code": "palliative-care"},
            False,
            id="another-code-system",
        ),
    ],
)
def test_feedback_override_reasons_the_cards_never_offered_are_kept_marked_unrecognised(
    client: TestClient, reason: dict[str, str], accepted: bool
) -> None:
    body = {
        "feedback": [
            {
                "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
                "outcome": "overridden",
                "overrideReason": {"reason": reason},
                "outcomeTimestamp": "2026-11-22T10:16:00Z",
            }
        ]
    }
    response = client.post("/cds-services/opioid-safety-sign/feedback", json=body)
    assert response.status_code == 200, response.text
    last = rows(app_storage(client), schema.feedback)[-1]
    assert (last["override_reason_code"], last["override_reason_recognised"]) == (
        reason["code"],
        accepted,
    )
