"""CDS Hooks 2.0.1 §Discovery."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

#: [SPEC2] tokens: first-level primitive context fields, or the user* tokens.
TOKEN = re.compile(r"\{\{(.*?)\}\}")
ALLOWED_TOKENS = {
    "context.patientId",
    "context.userId",
    "context.encounterId",
    "userPractitionerId",
}


def test_discovery_lists_one_service_per_supported_hook(client: TestClient) -> None:
    body = client.get("/cds-services").json()
    hooks = {s["hook"]: s["id"] for s in body["services"]}
    assert hooks == {
        "order-select": "opioid-safety",
        "order-sign": "opioid-safety",
        "medication-refill": "opioid-safety",
        "encounter-discharge": "opioid-discharge",
    }


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
