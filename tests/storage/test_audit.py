"""The audit trail (issue 13 item 3): every hook call, refused ones too, with a
pseudonymous patient key, the organisation, OME totals, findings and cards — and no names,
raw identifiers or tokens."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from service.api.audit import CallAudit
from service.cds_hooks.models import HookRequest
from service.config import Settings
from service.fhir.organisation import requesting_organisation
from service.storage import schema
from service.storage.records import utc
from tests.conftest import NOW
from tests.scenarios.builder import hook_request
from tests.storage.conftest import HIGH_DOSE, findings_of, scenario_call, storage_of
from tests.storage.rows import rows

PATIENT = "scenario-patient"  # the builder's patient id


def _every_value(client: TestClient) -> str:
    storage = storage_of(client)
    return repr([rows(storage, t) for t in schema.metadata.sorted_tables])


def test_a_hook_call_is_recorded_with_what_it_answered(client: TestClient) -> None:
    response = scenario_call(client, HIGH_DOSE, instance="audit-1")
    (call,) = rows(storage_of(client), schema.hook_call)
    settings = client.app.state.settings  # type: ignore[attr-defined]
    key = settings.pseudonym_key.get_secret_value().encode()
    assert call["patient_key"] == hmac.new(key, PATIENT.encode(), hashlib.sha256).hexdigest()
    assert (call["service_id"], call["hook"], call["status"], call["error_code"]) == (
        "opioid-safety",
        "order-sign",
        200,
        None,
    )
    assert (call["current_ome_mg_per_day"], call["proposed_ome_mg_per_day"]) == (60.0, 120.0)
    assert call["card_count"] == len(response["cards"])
    assert call["latency_ms"] > 0
    assert utc(call["recorded_at"]) == NOW
    issued = rows(storage_of(client), schema.issued_finding)
    assert {(f["rule"], f["rule_version"], f["card_uuid"]) for f in issued} == {
        (rule, f["version"], f["card"]["uuid"]) for rule, f in findings_of(response).items()
    }


def test_nothing_identifying_is_stored(client: TestClient) -> None:
    scenario_call(client, HIGH_DOSE, instance="audit-2")
    stored = _every_value(client)
    for identifying in (PATIENT, "scenario-gp", "Practitioner/"):
        assert identifying not in stored


def test_a_refused_call_is_recorded_with_its_status(client: TestClient) -> None:
    scenario = {**HIGH_DOSE, "omit_prefetch": ["medicationRequests"]}
    service, body = hook_request(scenario, client.app.state.pipeline.dictionary)  # type: ignore[attr-defined]
    response = client.post(f"/cds-services/{service}", json=body)
    assert response.status_code == 412
    (call,) = rows(storage_of(client), schema.hook_call)
    assert (call["status"], call["error_code"], call["card_count"]) == (
        412,
        "prefetch-unavailable",
        0,
    )


def test_a_call_whose_body_cannot_be_read_is_recorded_and_feedback_is_not_a_call(
    client: TestClient,
) -> None:
    """Not JSON, or not a hook request: a 400, audited with what is known (the service)."""
    bad = client.post(
        "/cds-services/opioid-safety-sign",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert bad.status_code == 400
    wrong = client.post("/cds-services/opioid-safety-sign", json={"hook": "order-sign"})
    assert wrong.status_code == 400
    feedback = client.post("/cds-services/opioid-safety-sign/feedback", json={"feedback": 1})
    assert feedback.status_code == 400
    calls = rows(storage_of(client), schema.hook_call)
    assert [(c["service_id"], c["status"], c["error_code"]) for c in calls] == [
        ("opioid-safety-sign", 400, "invalid-request")
    ] * 2


def test_without_a_pseudonym_key_no_patient_key_is_stored(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(pseudonym_key=None)
    scenario_call(client, HIGH_DOSE)
    (call,) = rows(storage_of(client), schema.hook_call)
    assert call["patient_key"] is None


def _role(org: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "PractitionerRole", "id": "r1", "organization": org}


ENCOUNTER = {
    "resourceType": "Encounter",
    "id": "e1",
    "serviceProvider": {"reference": "Organization/hospital"},
}


def test_the_prescribers_organisation_outranks_the_encounters() -> None:
    ods = {"identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "Y01"}}
    values = [ENCOUNTER, {"resourceType": "Bundle", "entry": [{"resource": _role(ods)}]}]
    assert requesting_organisation(values) == ("Y01", "practitioner-role")


def test_the_encounters_organisation_is_used_when_nothing_else_names_one() -> None:
    assert requesting_organisation([ENCOUNTER, {"resourceType": "Patient"}]) == (
        "Organization/hospital",
        "encounter",
    )
    assert requesting_organisation([None, "text", {"resourceType": "Encounter"}]) is None


def test_the_organisation_in_the_request_is_recorded(client: TestClient) -> None:
    service, body = hook_request(HIGH_DOSE, client.app.state.pipeline.dictionary)  # type: ignore[attr-defined]
    body["prefetch"]["practitionerRole"] = _role({"reference": "Organization/practice-7"})
    assert client.post(f"/cds-services/{service}", json=body).status_code == 200
    (call,) = rows(storage_of(client), schema.hook_call)
    assert (call["organisation"], call["organisation_source"]) == (
        "Organization/practice-7",
        "practitioner-role",
    )


def test_the_clients_identity_outranks_the_request() -> None:
    request = HookRequest.model_validate(
        {
            "hook": "order-sign",
            "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
            "context": {"patientId": "p"},
            "prefetch": {"role": _role({"reference": "Organization/practice-7"})},
        }
    )
    row = CallAudit(
        "opioid-safety-sign", request, Settings(), NOW, client="https://ehr.example"
    ).empty()
    assert (row.organisation, row.organisation_source) == ("https://ehr.example", "client")
