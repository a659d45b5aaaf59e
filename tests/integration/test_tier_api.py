"""``POST /support-tier`` over HTTP, and the support tier on the high-dose card."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import service_url
from tests.unit.test_stratify import (
    BENZODIAZEPINE,
    DEPENDENCE,
    EMERGENCY,
    HIGH_DOSE,
    MALE,
    OLDER,
    PSYCHOLOGICAL,
    SEXUAL_ABUSE,
    UNEMPLOYED,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "openapi" / "examples"
DEPENDENCE_CODE = "66590003"  # Alcohol dependence, in the example
TIER_EXAMPLES: dict[str, Any] = json.loads((EXAMPLES / "support-tier.json").read_text("utf-8"))
HOOK_EXAMPLES: dict[str, Any] = json.loads((EXAMPLES / "hook-requests.json").read_text("utf-8"))
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
DMD = "https://dmd.nhs.uk"
OXYCODONE_MR_40 = "36130911000001104"


@pytest.fixture(scope="module")
def client(fixed_client: TestClient) -> TestClient:
    return fixed_client


def example() -> dict[str, Any]:
    return copy.deepcopy(TIER_EXAMPLES["complex-needs"]["value"])


def without(bundle: dict[str, Any], *resource_types: str) -> dict[str, Any]:
    bundle["entry"] = [
        e for e in bundle["entry"] if e["resource"]["resourceType"] not in resource_types
    ]
    return bundle


def post(client: TestClient, body: Any) -> dict[str, Any]:
    response = client.post("/support-tier", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def test_the_example_is_tier_4_with_its_factors(client: TestClient) -> None:
    data = post(client, example())
    assert data == {
        "tier": 4,
        "name": "Specialist multidisciplinary team",
        "support": "Referral to a place-based multidisciplinary team with specialist knowledge "
        "of managing both dependence and chronic pain.",
        "risk_factors": [
            MALE,
            OLDER,
            BENZODIAZEPINE,
            EMERGENCY,
            DEPENDENCE,
            PSYCHOLOGICAL,
            HIGH_DOSE,  # 120 mg OME/day: at the threshold, as the high-dose card says
        ],
        "not_checked": [],
        "total_ome_mg_per_day": 120.0,
        "complete": True,
        "unresolved": [],
    }


def test_the_example_without_its_a_and_e_visit_and_dependence_history_is_tier_3(
    client: TestClient,
) -> None:
    """Five factors, one of them the high dose: tier 3 (tier 4 needs six, or a high dose
    with a dependence history)."""
    bundle = example()
    encounter = next(e for e in bundle["entry"] if e["resource"]["resourceType"] == "Encounter")
    encounter["resource"]["class"] = {"code": "AMB"}  # an outpatient visit: encounters sent
    bundle["entry"] = [e for e in bundle["entry"] if DEPENDENCE_CODE not in json.dumps(e)]
    data = post(client, bundle)
    assert (data["tier"], data["not_checked"]) == (3, [])
    assert data["risk_factors"] == [MALE, OLDER, BENZODIAZEPINE, PSYCHOLOGICAL, HIGH_DOSE]


def test_kinds_of_data_not_sent_are_reported_as_not_checked(client: TestClient) -> None:
    data = post(client, without(example(), "Patient", "Condition", "Encounter"))
    assert data["tier"] == 3 and data["risk_factors"] == [BENZODIAZEPINE, HIGH_DOSE]
    assert data["not_checked"] == [
        MALE,
        OLDER,
        UNEMPLOYED,
        EMERGENCY,
        DEPENDENCE,
        PSYCHOLOGICAL,
        SEXUAL_ABUSE,
    ]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(without(example(), "MedicationRequest"), id="bundle-without-medicines"),
        pytest.param({"resourceType": "Bundle", "type": "collection"}, id="empty-bundle"),
        pytest.param(
            {"resourceType": "Patient", "id": "p", "gender": "male"}, id="a-patient-alone"
        ),
    ],
)
def test_no_medication_is_a_400(client: TestClient, body: dict[str, Any]) -> None:
    response = client.post("/support-tier", json=body)
    assert response.status_code == 400, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "no MedicationRequest or MedicationStatement" in outcome["issue"][0]["diagnostics"]


def test_no_opioid_is_no_tier(client: TestClient) -> None:
    bundle = example()  # without the oxycodone: diazepam and five other risk factors
    bundle["entry"] = [e for e in bundle["entry"] if e["resource"].get("id") != "oxy"]
    data = post(client, bundle)
    assert data == {
        "tier": None,
        "name": None,
        "support": None,
        "risk_factors": [],
        "not_checked": [],
        "total_ome_mg_per_day": 0.0,
        "complete": True,
        "unresolved": [],
    }


def test_the_high_dose_card_shows_the_support_tier(client: TestClient) -> None:
    body = copy.deepcopy(HOOK_EXAMPLES["order-sign-morphine"]["value"])
    draft = body["context"]["draftOrders"]["entry"][0]["resource"]
    draft["medicationCodeableConcept"] = {
        "coding": [
            {
                "system": DMD,
                "code": OXYCODONE_MR_40,
                "display": "Oxycodone 40mg modified-release tablets",
            }
        ]
    }
    draft["dosageInstruction"] = [{"text": "one twice a day"}]
    body["prefetch"]["conditions"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {
                "resource": {
                    "resourceType": "Condition",
                    "id": "dep",
                    "clinicalStatus": {"coding": [{"code": "resolved"}]},
                    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "66590003"}]},
                }
            }
        ],
    }
    response = client.post(service_url(body), json=body)
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    (card,) = [c for c in cards if "complete an opioid risk assessment" in c["summary"]]
    detail = card["detail"]
    # A man of 65 with a past alcohol dependence at 120 mg OME/day: the card fires at the
    # threshold, and the tier counts the same threshold the same way (high dose and a
    # dependence history: the specialist team).
    assert "**Support tier 4: Specialist multidisciplinary team.**" in detail
    assert f"Risk factors: {MALE}; {OLDER}; {DEPENDENCE}; {HIGH_DOSE}." in detail
    assert f"Not checked (no data): {EMERGENCY}." in detail


def test_above_120_with_a_dependence_history_the_high_dose_card_says_tier_4(
    client: TestClient,
) -> None:
    body = copy.deepcopy(HOOK_EXAMPLES["order-sign-morphine"]["value"])
    draft = body["context"]["draftOrders"]["entry"][0]["resource"]
    draft["dosageInstruction"] = [{"text": "three twice a day"}]  # morphine MR 30: 180 mg/day
    body["prefetch"]["conditions"] = [
        {
            "resourceType": "Condition",
            "id": "dep",
            "clinicalStatus": {"coding": [{"code": "resolved"}]},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "26416006"}]},
        }
    ]
    response = client.post(service_url(body), json=body)
    assert response.status_code == 200, response.text
    (card,) = [
        c for c in response.json()["cards"] if "complete an opioid risk assessment" in c["summary"]
    ]
    assert "**Support tier 4: Specialist multidisciplinary team.**" in card["detail"]
    assert HIGH_DOSE in card["detail"]
