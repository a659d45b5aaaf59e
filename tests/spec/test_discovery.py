"""CDS Hooks 2.0.1 §Discovery."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient

EXAMPLES = Path(__file__).resolve().parents[2] / "openapi" / "examples"

#: [SPEC2] tokens: first-level primitive context fields, or the user* tokens.
TOKEN = re.compile(r"\{\{(.*?)\}\}")
ALLOWED_TOKENS = {
    "context.patientId",
    "context.userId",
    "context.encounterId",
    "userPractitionerId",
}


def test_discovery_lists_one_service_per_supported_hook_each_with_its_own_id(
    client: TestClient,
) -> None:
    """Clients key services by id (the sandbox keeps the last entry for an id), so a shared
    id would leave all but one hook uncalled (issue 10)."""
    body = client.get("/cds-services").json()
    hooks = {s["hook"]: s["id"] for s in body["services"]}
    assert hooks == {
        "order-select": "opioid-safety-select",
        "order-sign": "opioid-safety-sign",
        "medication-refill": "opioid-safety-refill",
        "encounter-discharge": "opioid-discharge",
        "patient-view": "opioid-review",
    }
    ids = [s["id"] for s in body["services"]]
    assert len(ids) == len(set(ids))


def test_the_deprecated_shared_id_is_not_listed_but_still_answers(client: TestClient) -> None:
    body = json.loads((EXAMPLES / "hook-requests.json").read_text("utf-8"))
    listed = {s["id"] for s in client.get("/cds-services").json()["services"]}
    assert "opioid-safety" not in listed
    for name in ("order-sign-morphine", "order-select-empty-draft", "medication-refill-oxycodone"):
        response = client.post("/cds-services/opioid-safety", json=body[name]["value"])
        assert response.status_code == 200, (name, response.text)
    discharge = body["encounter-discharge-oxycodone"]["value"]
    assert client.post("/cds-services/opioid-safety", json=discharge).status_code == 400


def test_each_service_answers_only_its_own_hook(client: TestClient) -> None:
    body = json.loads((EXAMPLES / "hook-requests.json").read_text("utf-8"))
    sign = body["order-sign-morphine"]["value"]
    assert client.post("/cds-services/opioid-safety-sign", json=sign).status_code == 200
    response = client.post("/cds-services/opioid-safety-select", json=sign)
    assert response.status_code == 400
    assert "opioid-safety-sign" in response.text  # says where the hook is served


def test_every_service_has_the_required_fields(client: TestClient) -> None:
    for service in client.get("/cds-services").json()["services"]:
        assert service["hook"] and service["id"] and service["description"]
        assert service["title"] and service["usageRequirements"]
        assert all(v not in (None, "", [], {}) for v in service.values())


def test_prefetch_templates_use_only_the_2_0_token_subset(client: TestClient) -> None:
    for service in client.get("/cds-services").json()["services"]:
        for template in service["prefetch"].values():
            tokens = set(TOKEN.findall(template))
            assert tokens <= ALLOWED_TOKENS, template
            assert "today()" not in template and "_include" not in template
            resource = template.split("?")[0].split("/")[0]
            assert resource in {
                "Patient",
                "MedicationRequest",
                "MedicationStatement",
                "Condition",
                "Observation",
                "Encounter",
            }


def test_discharge_prefetch_is_scoped_to_the_encounter(client: TestClient) -> None:
    discharge = next(
        s
        for s in client.get("/cds-services").json()["services"]
        if s["hook"] == "encounter-discharge"
    )
    assert "encounter={{context.encounterId}}" in discharge["prefetch"]["dischargeMedications"]
