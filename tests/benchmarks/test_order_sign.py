"""Benchmarks for the request path (``make bench``; in ``make test`` each runs once).

A typical GP order-sign: one draft opioid, eight current medicines (opioids, a gabapentinoid,
a benzodiazepine, non-opioids), three conditions. We time the JSON parse alone, the
evaluation alone (request model, input reading, identification, dosing, OME, facts, rules,
cards), and the whole HTTP round trip.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pytest_benchmark.fixture import BenchmarkFixture

from service.cds_hooks.hook_input import read_hook_input
from service.cds_hooks.models import HookRequest
from service.config import Settings
from service.main import create_app
from service.pipeline import Pipeline

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


def _mr(rid: str, code: str, name: str, sig: str, status: str = "active") -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": status,
        "intent": "order",
        "subject": {"reference": "Patient/p"},
        "authoredOn": "2026-03-01",
        "medicationCodeableConcept": {
            "coding": [{"system": "https://dmd.nhs.uk", "code": code, "display": name}],
            "text": name,
        },
        "dosageInstruction": [{"text": sig}],
        "dispenseRequest": {
            "quantity": {"value": 56, "unit": "tablet"},
            "expectedSupplyDuration": {"value": 28, "unit": "days", "code": "d"},
        },
    }


HISTORY = [
    _mr("h1", "36127311000001102", "Morphine 30mg modified-release tablets", "one twice a day"),
    _mr(
        "h2",
        "42009811000001101",
        "Co-codamol 30mg/500mg tablets",
        "1 or 2 every 4-6 hours when required, max 8 in 24 hours",
    ),
    _mr("h3", "42135711000001109", "Pregabalin 75mg capsules", "one twice a day"),
    _mr("h4", "42128311000001104", "Diazepam 5mg tablets", "one at night"),
    _mr("h5", "39113611000001102", "Amlodipine 5mg tablets", "one daily"),
    _mr("h6", "39109611000001104", "Atorvastatin 20mg tablets", "one at night"),
    _mr("h7", "42017811000001106", "Tramadol 50mg capsules", "one four times a day", "stopped"),
    _mr(
        "h8",
        "36120011000001101",
        "Fentanyl 25micrograms/hour transdermal patches",
        "apply one patch every 72 hours",
    ),
]
BODY: dict[str, Any] = {
    "hook": "order-sign",
    "hookInstance": str(uuid.UUID(int=1)),
    "context": {
        "userId": "Practitioner/gp",
        "patientId": "p",
        "draftOrders": {
            "resourceType": "Bundle",
            "entry": [
                {
                    "resource": _mr(
                        "draft",
                        "36130911000001104",
                        "Oxycodone 40mg modified-release tablets",
                        "one twice a day",
                        "draft",
                    )
                }
            ],
        },
    },
    "prefetch": {
        "patient": {
            "resourceType": "Patient",
            "id": "p",
            "gender": "female",
            "birthDate": "1958-02-01",
        },
        "medicationRequests": {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": r} for r in HISTORY],
        },
        "medicationStatements": None,
        "conditions": {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [
                {
                    "resource": {
                        "resourceType": "Condition",
                        "id": f"c{i}",
                        "clinicalStatus": {"coding": [{"code": "active"}]},
                        "code": {
                            "coding": [
                                {"system": "http://snomed.info/sct", "code": c, "display": d}
                            ]
                        },
                    }
                }
                for i, (c, d) in enumerate(
                    [
                        ("279039007", "Low back pain"),
                        ("35489007", "Depressive disorder"),
                        ("38341003", "Hypertension"),
                    ]
                )
            ],
        },
    },
}
RAW = json.dumps(BODY).encode()


@pytest.fixture(scope="module")
def engine() -> Pipeline:
    return Pipeline(Settings())


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def test_bench_json_parse(benchmark: BenchmarkFixture) -> None:
    """The floor: what parsing the request's JSON costs."""
    result = benchmark(json.loads, RAW)
    assert result["hook"] == "order-sign"


def test_bench_evaluate(benchmark: BenchmarkFixture, engine: Pipeline) -> None:
    def run() -> int:
        request = HookRequest.model_validate(json.loads(RAW))
        record = read_hook_input("opioid-safety-sign", request)
        return len(engine.evaluate(record, NOW, request.hook_instance).rule_ids)

    assert benchmark(run) >= 3  # high dose, gabapentinoid, sedative, multiple opioids...


def test_bench_http_round_trip(benchmark: BenchmarkFixture, client: TestClient) -> None:
    def run() -> int:
        return client.post(
            "/cds-services/opioid-safety-sign",
            content=RAW,
            headers={"content-type": "application/json"},
        ).status_code

    assert benchmark(run) == 200
