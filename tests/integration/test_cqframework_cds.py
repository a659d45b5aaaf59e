"""cqframework opioid-cds-r4 (CDC 2022 guideline as CDS Hooks): the REC04/05 and REC11
request/response pairs give the same card / no-card outcome here, under the ``us-cdc-2022``
OME profile and the CDC thresholds.

How our rules map to the CDC recommendations
--------------------------------------------
REC04/05 (dose: "High risk for opioid overdose" at ≥50 MME/day; "taper now" at ≥90) maps to
our two high-dose rules, with their threshold set to the CDC's 50:

- ``high-dose-risk-assessment`` for a new order, and
- ``reauthorisation-taper`` for an order that continues an existing one.

The cqframework's draft orders carry ``status: active``. At order-sign our engine reads a
non-draft order as one being re-signed (a re-authorisation, order-sign 1.1.0), so the REC05
example (fentanyl 75 micrograms/hour: 180 MME/day) comes out as ``reauthorisation-taper``:
a taper card, which is also what the CDC card says ("taper now"). The CDC applies its
threshold to every opioid order, new or continued, so both of our thresholds are set to 50.
Our rules have one threshold each; the CDC's second tier (≥90: "taper now" rather than
"consider tapering") is not encoded separately. CDC REC04 proper (extended-release opioids
for opioid-naive patients) has no test pair here; our nearest rule is discharge-mr-opioid.
Other rules may add cards of their own (``escalation`` for 0 → 180, which crosses its
threshold): the comparison is the card / no-card outcome and the mapped rule.

REC11 (opioid with a benzodiazepine, "avoid prescribing concurrently") maps to
``opioid-sedative``, which fires in either direction and also covers Z-drugs.

Adaptations, each the least that makes the request readable
-----------------------------------------------------------
1. Most request files close ``prefetch`` one brace early, so ``item2``… land at the top
   level of the request (and a stray ``}`` trails the JSON). They are moved back into
   ``prefetch``, where the file's indentation puts them.
2. The cqframework's prefetch keys are its own (``item1``…``itemN``), and a null one means
   "no data". Where no prefetch key holds a medication resource, our service cannot tell
   that the patient has no other medicines, and answers 412 as CDS Hooks requires (checked
   as sent). The adapted request adds ``"medicationRequests": null`` — what the null
   cqframework items say: no other active medicines.
3. One file (REC11 patient-view benzo-trigger-with-opioid) wraps each prefetch value in the
   pre-1.0 ``{"response": …, "resource": …}`` shape; the resource is unwrapped (CDS Hooks 2.0
   prefetch values are the resources themselves, and the service answers 400 otherwise).
4. ``patient-view`` is not a hook this service serves: as sent, 400 naming the hook. The
   adapted request is an order-select in which the MedicationRequest the cqframework names
   ``…-context`` (the one being prescribed, per its test description) is the draft order and
   the rest stay in prefetch.

The clock is fixed at the cqframework data's ``dateLastUpdated``, 2023-05-01.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.api.deps import now_dependency
from service.cards.render import FINDINGS_EXTENSION
from service.config import Settings
from service.fhir.medication_record import MEDICATION_RESOURCE_TYPES
from service.main import create_app
from tests.conftest import load_json, reference_path, service_url

pytestmark = pytest.mark.reference

CDC_THRESHOLD_MME = 50.0
CDC_SETTINGS = Settings(
    ome_profile="us-cdc-2022",
    rule_parameter_overrides={
        "high-dose-risk-assessment": {"threshold_mg_per_day": CDC_THRESHOLD_MME},
        "reauthorisation-taper": {"threshold_mg_per_day": CDC_THRESHOLD_MME},
    },
)
NOW = datetime(2023, 5, 1, 12, 0, tzinfo=UTC)

REC04_05 = frozenset({"high-dose-risk-assessment", "reauthorisation-taper"})
REC11 = frozenset({"opioid-sedative"})

#: (requests folder, responses folder, test name, the rules that answer for the CDC card)
CASES = [
    ("OpioidCDSREC04_05", "OpioidCDSREC04_05", "rec-04-05-mme-greater-than-fifty", REC04_05),
    ("OpioidCDSREC04_05", "OpioidCDSREC04_05", "rec-04-05-mme-less-than-fifty", REC04_05),
    ("OpioidCDSREC11", "OpioidCDSREC11", "rec-11-benzo-trigger-with-opioid", REC11),
    ("OpioidCDSREC11", "OpioidCDSREC11", "rec-11-benzo-trigger-without-opioid", REC11),
    ("OpioidCDSREC11", "OpioidCDSREC11", "rec-11-opioid-trigger-with-benzo", REC11),
    ("OpioidCDSREC11", "OpioidCDSREC11", "rec-11-opioid-trigger-without-benzo", REC11),
    ("OpioidCDSREC11PatientView", "OpioidCDSREC11PatientView",
     "rec-11-patient-view-benzo-trigger-with-opioid", REC11),
    ("OpioidCDSREC11PatientView", "OpioidCDSREC11PatientView",
     "rec-11-patient-view-benzo-trigger-without-opioid", REC11),
    ("OpioidCDSREC11PatientView", "OpioidCDSREC11PatientView",
     "rec-11-patient-view-opioid-trigger-with-benzo", REC11),
    ("OpioidCDSREC11PatientView", "OpioidCDSREC11PatientView",
     "rec-11-patient-view-opioid-trigger-without-benzo", REC11),
]  # fmt: skip
IDS = [name for _, _, name, _ in CASES]


def _cqf(*parts: str) -> Path:
    return reference_path("cqframework", "opioid-cds-r4", *parts)


def _request_as_sent(folder: str, name: str) -> dict[str, Any]:
    body: dict[str, Any] = load_json(_cqf("requests", folder, f"request-example-{name}.json"))
    return body


def _expected_cards(folder: str, name: str) -> list[dict[str, Any]]:
    cards: list[dict[str, Any]] = load_json(
        _cqf("responses", folder, f"response-example-{name}.json")
    )["cards"]
    return cards


def _repair_prefetch(body: dict[str, Any]) -> dict[str, Any]:
    """Adaptation 1: move ``item…`` keys that a misplaced brace left at the top level back
    into ``prefetch``."""
    body = copy.deepcopy(body)
    for key in [k for k in body if re.fullmatch(r"item\d+", k)]:
        body["prefetch"][key] = body.pop(key)
    return body


def _holds_medicines(prefetch: dict[str, Any]) -> bool:
    def types(value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            if value.get("resourceType") == "Bundle":
                for entry in value.get("entry") or ():
                    yield from types(entry.get("resource"))
            else:
                yield str(value.get("resourceType"))

    return any(t in MEDICATION_RESOURCE_TYPES for v in prefetch.values() for t in types(v))


def _as_order_select(body: dict[str, Any]) -> dict[str, Any]:
    """Adaptation 4: patient-view → order-select of the ``…-context`` MedicationRequest."""
    body = copy.deepcopy(body)
    prefetch = body["prefetch"]
    key, order = next(
        (k, v)
        for k, v in prefetch.items()
        if isinstance(v, dict)
        and v.get("resourceType") == "MedicationRequest"
        and str(v.get("id", "")).endswith("-context")
    )
    del prefetch[key]
    body["hook"] = "order-select"
    body["context"]["selections"] = [f"MedicationRequest/{order['id']}"]
    body["context"]["draftOrders"] = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": order}],
    }
    return body


def _unwrap_prefetch(body: dict[str, Any]) -> dict[str, Any]:
    """Adaptation 3: pre-1.0 ``{"response": {...}, "resource": {...}}`` prefetch values."""
    for key, value in body["prefetch"].items():
        if isinstance(value, dict) and "resourceType" not in value and "resource" in value:
            body["prefetch"][key] = value["resource"]
    return body


def adapt(body: dict[str, Any]) -> dict[str, Any]:
    body = _unwrap_prefetch(_repair_prefetch(body))
    if body["hook"] == "patient-view":
        body = _as_order_select(body)
    if not _holds_medicines(body["prefetch"]):
        body["prefetch"]["medicationRequests"] = None  # adaptation 2
    return body


@pytest.fixture(scope="module")
def cdc_client() -> Iterator[TestClient]:
    app = create_app(CDC_SETTINGS)
    app.dependency_overrides[now_dependency] = lambda: NOW
    with TestClient(app) as client:
        yield client


def _rule_of(card: dict[str, Any]) -> str:
    """The rule that leads the card (its source topic)."""
    code: str = card["source"]["topic"]["code"]
    return code


def _fired(cards: list[dict[str, Any]]) -> set[str]:
    """Every rule the cards carry (the findings extension): one prompt lists several."""
    return {f["rule"] for c in cards for f in c["extension"][FINDINGS_EXTENSION]}


@pytest.mark.parametrize(("req_folder", "resp_folder", "name", "mapped"), CASES, ids=IDS)
def test_same_card_outcome_as_cqframework(
    cdc_client: TestClient, req_folder: str, resp_folder: str, name: str, mapped: frozenset[str]
) -> None:
    expected = _expected_cards(resp_folder, name)
    body = adapt(_request_as_sent(req_folder, name))
    response = cdc_client.post(service_url(body), json=body)
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    fired = _fired(cards)
    if not expected:
        assert cards == [], [c["summary"] for c in cards]
        return
    assert fired & mapped, f"expected one of {sorted(mapped)}; fired {sorted(fired)}"
    ours = next(c for c in cards if _fired([c]) & mapped)
    assert ours["indicator"] == expected[0]["indicator"]


def test_rec05_dose_matches_the_cdc_figure(cdc_client: TestClient) -> None:
    """CDC card: "Total morphine milligram equivalent (MME) is 179.99999820 'mg/d'" (unrounded);
    ours is rounded to 0.1 as the cqframework calculator does (MMEC-2): 180."""
    name = "rec-04-05-mme-greater-than-fifty"
    cdc_detail = _expected_cards("OpioidCDSREC04_05", name)[0]["detail"]
    match = re.search(r"is ([\d.]+) 'mg/d'", cdc_detail)
    assert match is not None
    cdc_mme = round(float(match.group(1)), 1)
    body = adapt(_request_as_sent("OpioidCDSREC04_05", name))
    response = cdc_client.post(service_url(body), json=body)
    card = next(c for c in response.json()["cards"] if _fired([c]) & REC04_05)
    assert f"{cdc_mme:g} mg OME/day" in card["summary"]
    # The order is "active" at order-sign (re-signed), but the patient's record holds no
    # current fentanyl for it to continue: a new start, so the risk assessment, not a taper
    # (ADR 0006; the CDC card is the same REC 04/05 recommendation either way).
    assert _rule_of(card) == "high-dose-risk-assessment"


def test_rec05_new_draft_order_gets_the_risk_assessment_card(cdc_client: TestClient) -> None:
    """The same fentanyl order sent as a draft (a new prescription) maps to
    high-dose-risk-assessment instead, at the CDC's 50 MME/day."""
    body = adapt(_request_as_sent("OpioidCDSREC04_05", "rec-04-05-mme-greater-than-fifty"))
    body["context"]["draftOrders"]["entry"][0]["resource"]["status"] = "draft"
    response = cdc_client.post(service_url(body), json=body)
    fired = _fired(response.json()["cards"])
    assert "high-dose-risk-assessment" in fired
    assert "reauthorisation-taper" not in fired


@pytest.mark.parametrize(
    "dose_tablets", [3, 4, 5], ids=["30 MME: no card", "40 MME: no card", "50 MME: card"]
)
def test_cdc_threshold_boundary_at_fifty(cdc_client: TestClient, dose_tablets: int) -> None:
    """Kadian morphine 10mg (REC04/05 'less than fifty'), n capsules a day as a new draft:
    the CDC threshold is ≥50 MME/day."""
    body = adapt(_request_as_sent("OpioidCDSREC04_05", "rec-04-05-mme-less-than-fifty"))
    order = body["context"]["draftOrders"]["entry"][0]["resource"]
    order["status"] = "draft"
    order["dosageInstruction"][0]["timing"]["repeat"]["frequency"] = dose_tablets
    response = cdc_client.post(service_url(body), json=body)
    fired = _fired(response.json()["cards"])
    assert ("high-dose-risk-assessment" in fired) is (dose_tablets * 10 >= CDC_THRESHOLD_MME)


def test_under_uk_defaults_the_rec05_example_still_fires_but_rec04_threshold_differs() -> None:
    """Without the CDC settings the UK threshold (120 mg OME/day) applies: 180 still fires;
    a 50 MME/day order does not."""
    app = create_app(Settings())
    app.dependency_overrides[now_dependency] = lambda: NOW
    with TestClient(app) as client:
        body = adapt(_request_as_sent("OpioidCDSREC04_05", "rec-04-05-mme-greater-than-fifty"))
        fired = _fired(client.post(service_url(body), json=body).json()["cards"])
        assert fired & REC04_05
        body = adapt(_request_as_sent("OpioidCDSREC04_05", "rec-04-05-mme-less-than-fifty"))
        order = body["context"]["draftOrders"]["entry"][0]["resource"]
        order["status"] = "draft"
        order["dosageInstruction"][0]["timing"]["repeat"]["frequency"] = 5
        fired = _fired(client.post(service_url(body), json=body).json()["cards"])
        assert not fired & REC04_05


# --- As sent, before adaptation -------------------------------------------------------------

AS_SENT = [(f, n) for f, _, n, _ in CASES]


@pytest.mark.parametrize(("folder", "name"), AS_SENT, ids=[n for _, n in AS_SENT])
def test_as_sent_the_answer_is_the_one_the_spec_calls_for(
    cdc_client: TestClient, folder: str, name: str
) -> None:
    """patient-view: 400 naming the hook. Otherwise, with no medication resource in any
    prefetch key (and no FHIR access token): 412, naming the prefetch it needs."""
    body = _request_as_sent(folder, name)
    response = cdc_client.post(service_url(body), json=body)
    if body["hook"] == "patient-view":
        assert response.status_code == 400
        assert "patient-view" in response.text
        return
    repaired = _repair_prefetch(body)
    if _holds_medicines(repaired["prefetch"]):
        # The medicines are there once the brace is put back; as sent they are at the top
        # level, where no CDS Service reads them.
        assert response.status_code == 412, response.text
        ok = cdc_client.post(service_url(repaired), json=repaired)
        assert ok.status_code == 200, ok.text
        return
    assert response.status_code == 412, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "prefetch.medicationRequests" in outcome["issue"][0]["diagnostics"]
