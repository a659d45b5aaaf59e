"""Malformed containers and an OperationOutcome where data should be (issue 9 item 6),
through HTTP, as named accepted/refused pairs:
- a Bundle ``entry`` sent as one object is read as that one entry (lenient, as ``category``
  is); an entry without a resource, a resource that is not an object, or a prefetch value
  that is not an object is a 400 naming it;
- an OperationOutcome in the medicines prefetch, with an opioid proposed, is a 412 naming
  the key (never "no medicines"); in the conditions prefetch, cards say conditions were not
  checked.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import service_url
from tests.integration.vignettes import (
    MORPHINE_BD,
    OUTCOME,
    hook_body,
    ome,
    refused,
    structured,
)
from tests.unit.ome.fhir_builders import OXYCODONE_MR_40, bundle, tablets


@pytest.fixture(scope="module")
def http(fixed_client: TestClient) -> TestClient:
    return fixed_client


# ------------------------------------------------------------- malformed containers
def test_a_bundle_entry_sent_as_one_object_is_read_as_one_entry(http: TestClient) -> None:
    as_object = {"resourceType": "Bundle", "type": "searchset", "entry": {"resource": MORPHINE_BD}}
    as_array = bundle(MORPHINE_BD)
    assert ome(http, as_object)["total_ome_mg_per_day"] == 60.0
    assert ome(http, as_array)["total_ome_mg_per_day"] == 60.0
    assert ome(http, as_object)["medications"][0]["path"] == "medications.entry.resource"


@pytest.mark.parametrize(
    ("entry", "location"),
    [
        pytest.param({"fullUrl": "urn:uuid:1"}, "medications.entry[1].resource", id="no-resource"),
        pytest.param({"resource": "MedicationRequest/1"}, "medications.entry[1].resource",
                     id="resource-a-string"),
        pytest.param({"resource": [MORPHINE_BD]}, "medications.entry[1].resource",
                     id="resource-an-array"),
        pytest.param("MedicationRequest/1", "medications.entry[1]", id="entry-a-string"),
    ],
)  # fmt: skip
def test_a_malformed_bundle_entry_is_400_naming_it(
    http: TestClient, entry: Any, location: str
) -> None:
    body = {"medications": {"resourceType": "Bundle", "entry": [{"resource": MORPHINE_BD}, entry]}}
    issue = refused(http, json.dumps(body))
    assert issue["expression"] == [location]


def test_entry_as_a_string_is_400_naming_entry(http: TestClient) -> None:
    body = {"medications": {"resourceType": "Bundle", "entry": "nothing"}}
    assert refused(http, json.dumps(body))["expression"] == ["medications.entry"]


@pytest.mark.parametrize(
    "value",
    [pytest.param("none", id="a-string"), pytest.param(3, id="a-number"),
     pytest.param(True, id="a-boolean")],
)  # fmt: skip
def test_a_prefetch_value_that_is_not_an_object_is_400_naming_the_key(
    http: TestClient, value: Any
) -> None:
    body = hook_body([MORPHINE_BD])
    body["prefetch"]["medicationRequests"] = value
    issue = refused(http, json.dumps(body), "/cds-services/opioid-safety-sign")
    assert issue["expression"] == ["prefetch.medicationRequests"]


def test_a_prefetch_value_that_is_a_bundle_or_null_is_accepted(http: TestClient) -> None:
    body = hook_body([MORPHINE_BD])
    assert http.post(service_url(body), json=body).status_code == 200
    body["prefetch"]["medicationRequests"] = None
    assert http.post(service_url(body), json=body).status_code == 200


# ------------------------------------------------- an OperationOutcome as a prefetch value
def test_an_operation_outcome_for_the_medicines_is_412_naming_the_key(http: TestClient) -> None:
    body = hook_body([MORPHINE_BD])
    body["prefetch"]["medicationRequests"] = OUTCOME
    response = http.post(service_url(body), json=body)
    assert response.status_code == 412
    diagnostics = response.json()["issue"][0]["diagnostics"]
    assert "prefetch.medicationRequests holds an OperationOutcome" in diagnostics
    assert "no medicines" not in diagnostics.lower()


def test_the_same_request_with_the_medicines_sent_is_evaluated(http: TestClient) -> None:
    response = http.post("/cds-services/opioid-safety-sign", json=hook_body([MORPHINE_BD]))
    assert response.status_code == 200


def test_an_operation_outcome_for_the_conditions_says_conditions_were_not_checked(
    http: TestClient,
) -> None:
    """Morphine 60 + oxycodone 120 proposed = 180 mg OME/day: the high-dose card fires and,
    with conditions an OperationOutcome, says they were not checked (not "no cancer")."""
    oxy = structured(
        OXYCODONE_MR_40, "oxy", dose=tablets(1), frequency=2, period=1, period_unit="d"
    )
    oxy["status"] = "draft"
    body = hook_body([MORPHINE_BD], draft=oxy)
    checked = http.post(service_url(body), json=body).json()["cards"]
    assert checked and "conditions" not in json.dumps(checked)
    body["prefetch"]["conditions"] = OUTCOME
    cards = http.post(service_url(body), json=body).json()["cards"]
    assert cards
    assert all(
        "conditions (cancer, palliative care) were not available" in c["detail"] for c in cards
    )


# ---------------------------------------------- medicationReference that cannot be resolved
def _by_reference(reference: Any, **extra: Any) -> dict[str, Any]:
    resource = copy.deepcopy(MORPHINE_BD)
    del resource["medicationCodeableConcept"]
    return resource | {"medicationReference": reference} | extra


MEDICATION = {
    "resourceType": "Medication",
    "id": "m",
    "code": MORPHINE_BD["medicationCodeableConcept"],
}


@pytest.mark.parametrize(
    ("resource", "why"),
    [
        pytest.param(_by_reference({"reference": "Medication/x"}),
                     "'Medication/x' could not be resolved (not contained, not in the Bundle",
                     id="not-sent"),
        pytest.param(_by_reference({"reference": "#m"}),
                     "'#m' could not be resolved (not contained", id="contained-missing"),
        pytest.param(_by_reference({"reference": "#m"},
                                   contained=[{"resourceType": "Medication", "id": "m"}]),
                     "'#m' could not be resolved (it points to a Medication with no code)",
                     id="contained-without-code"),
        pytest.param(_by_reference({}), "(it has neither a reference nor a display)",
                     id="no-reference-no-display"),
    ],
)  # fmt: skip
def test_an_unresolvable_medication_reference_is_unresolved_with_its_own_reason(
    http: TestClient, resource: dict[str, Any], why: str
) -> None:
    (row,) = ome(http, resource)["medications"]
    assert row["status"] == "unresolved"
    assert why in row["reason"]


@pytest.mark.parametrize(
    "resource",
    [
        pytest.param(_by_reference({"reference": "#m"}, contained=[MEDICATION]), id="contained"),
        pytest.param(_by_reference({"reference": "Medication/x", "display": "Morphine 30mg "
                                    "modified-release tablets"}), id="by-display"),
    ],
)  # fmt: skip
def test_a_resolvable_medication_reference_is_calculated(
    http: TestClient, resource: dict[str, Any]
) -> None:
    assert ome(http, resource)["total_ome_mg_per_day"] == 60.0


def test_a_contained_value_that_is_not_an_object_is_400_naming_it(http: TestClient) -> None:
    body = {"medications": _by_reference({"reference": "#m"}, contained=["m", MEDICATION])}
    assert refused(http, json.dumps(body))["expression"] == ["medications.contained[0]"]
