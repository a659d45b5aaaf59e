"""cqframework opioid-cds-r4 (CDC 2022 guideline as CDS Hooks): the REC04/05, REC08 (and its
order-sign variants) and REC11 (order and patient-view) request/response pairs give the same
card / no-card outcome here, under the ``us-cdc-2022`` OME profile alone: the CDC thresholds
are that profile's parameter values (rules/parameters.yaml ``profile_values``), and the
naloxone rule runs by default under it — no rule is edited and no setting overridden.

How our rules map to the CDC recommendations
--------------------------------------------
REC04/05 (dose: "consider tapering" at ≥50 MME/day; "taper now" at ≥90) maps to our two
high-dose rules. Under us-cdc-2022 their tiers are the CDC's (issue 17): the lower tier
(``dose_review_mg_per_day``, 50) and the upper (``high_dose_mg_per_day``, 90), each with its
own wording:

- ``high-dose-risk-assessment`` for a new order, and
- ``reauthorisation-taper`` for an order that continues an existing one.

The cqframework's draft orders carry ``status: active``. At order-sign our engine reads a
non-draft order as one being re-signed (a re-authorisation, order-sign 1.1.0); the REC05
example (fentanyl 75 micrograms/hour: 180 MME/day) continues nothing the record holds, so it
is a new start and gets the risk-assessment card at the upper tier. CDC REC04 proper
(extended-release opioids for opioid-naive patients) has no test pair here; our nearest rule
is discharge-mr-opioid. Other rules may add cards of their own (``escalation`` for 0 → 180,
which crosses its threshold): the comparison is the card / no-card outcome and the mapped rule.

REC08 (offer naloxone: ≥50 MME/day, a benzodiazepine, a history of substance misuse; silent
when naloxone is prescribed) maps to ``naloxone``. This service answers every recommendation
from one call, so a REC08 "no card" is compared for the mapped rule: the on-naloxone patient
(180 MME/day) still gets the dose card, as the peer's REC04/05 service would give. The
order-sign variants (OpioidCDSREC08OrderSign) have no published responses; each is compared
with the REC08 response of the same case (the same patient and medicines, per
recommendation08-test-data.html); the two without one (doseRange, multiple-doseRate) are run
for a 200 only.

REC11 (opioid with a benzodiazepine, "avoid prescribing concurrently") maps to
``opioid-sedative``, which fires in either direction and also covers Z-drugs. Its
patient-view pairs go to our patient-view service (``opioid-review``): the same finding as a
review prompt, shown as **information**, where the peer shows a warning (issue 17: a prompt at
chart open interrupts nothing; compared as card / no card).

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
4. REC08: the prefetched MedicationRequest carries the draft order's own id. Every REC08
   description names the order as fentanyl 75 micrograms/hour patches (RxNorm 197696). Where
   the draft names another medicine ("Pepto-bismol Pill", mme-greater-than-fifty) and the
   prefetched copy names fentanyl, the prefetched copy is the order; otherwise the prefetched
   resource is another current medicine (temazepam, naloxone: "has also been prescribed")
   and is given its own id, so it is not read as the draft it shares an id with.
5. One REC08 order-sign file's ``hookInstance`` is not a UUID (``rec08-p02-5``): as sent,
   400 naming it; adapted, a UUID derived from it.

The clock is fixed at the cqframework data's ``dateLastUpdated``, 2023-05-01.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.api.deps import now_dependency
from service.api.review_memory import InMemoryReviewPromptMemory
from service.cards.render import FINDINGS_EXTENSION
from service.config import Settings
from service.fhir.medication_record import MEDICATION_RESOURCE_TYPES
from service.main import create_app
from tests.conftest import load_json, reference_path, service_url

pytestmark = pytest.mark.reference

CDC_THRESHOLD_MME = 50.0
#: The CDC thresholds are the profile's own values: nothing is overridden.
CDC_SETTINGS = Settings(ome_profile="us-cdc-2022")
NOW = datetime(2023, 5, 1, 12, 0, tzinfo=UTC)

REC04_05 = frozenset({"high-dose-risk-assessment", "reauthorisation-taper"})
REC11 = frozenset({"opioid-sedative"})
REC08 = frozenset({"naloxone"})

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
    ("OpioidCDSREC08", "OpioidCDSREC08", "rec-08-mme-greater-than-fifty", REC08),
    ("OpioidCDSREC08", "OpioidCDSREC08", "rec-08-mme-less-than-fifty", REC08),
    ("OpioidCDSREC08", "OpioidCDSREC08", "rec-08-on-benzodiazepine", REC08),
    ("OpioidCDSREC08", "OpioidCDSREC08", "rec-08-on-naloxone", REC08),
    ("OpioidCDSREC08", "OpioidCDSREC08", "rec-08-substance-abuse", REC08),
]  # fmt: skip
#: The order-sign variants, compared with the REC08 response of the same case.
ORDER_SIGN_CASES = [
    ("rec-08-order-sign-mme-greater-than-fifty", "rec-08-mme-greater-than-fifty"),
    ("rec-08-order-sign-mme-less-than-fifty", "rec-08-mme-less-than-fifty"),
    ("rec-08-order-sign-on-benzodiazepine", "rec-08-on-benzodiazepine"),
    ("rec-08-order-sign-on-naloxone", "rec-08-on-naloxone"),
    ("rec-08-order-sign-substance-abuse", "rec-08-substance-abuse"),
]
#: With no published response: run for a 200 only.
UNANSWERED = [
    ("OpioidCDSREC08", "rec-08-multiple-doseRate"),
    ("OpioidCDSREC08OrderSign", "rec-08-order-sign-mme-doseRange"),
    ("OpioidCDSREC08OrderSign", "rec-08-order-sign-multiple-doseRate"),
]
#: The order every REC08 description names: 72 HR Fentanyl 0.075 MG/HR Transdermal System.
REC08_ORDER_RXNORM = "197696"
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


def _rxnorm(resource: dict[str, Any]) -> str | None:
    codings = resource.get("medicationCodeableConcept", {}).get("coding", [])
    return next((str(c.get("code")) for c in codings), None)


def _separate_shared_ids(body: dict[str, Any]) -> dict[str, Any]:
    """Adaptation 4: a prefetched MedicationRequest with the draft order's id."""
    entries = (body["context"].get("draftOrders") or {}).get("entry") or []
    for entry in entries:
        draft = entry["resource"]
        for key, value in body["prefetch"].items():
            if not (isinstance(value, dict) and value.get("resourceType") == "MedicationRequest"):
                continue
            if value.get("id") != draft.get("id"):
                continue
            if _rxnorm(draft) != REC08_ORDER_RXNORM and _rxnorm(value) == REC08_ORDER_RXNORM:
                entry["resource"] = value  # the order the description names
                body["prefetch"][key] = None
            else:
                body["prefetch"][key] = {**value, "id": f"{value['id']}-current"}
    return body


def _uuid_hook_instance(body: dict[str, Any]) -> dict[str, Any]:
    """Adaptation 5: a hookInstance that is not a UUID."""
    try:
        uuid.UUID(str(body["hookInstance"]))
    except ValueError:
        body["hookInstance"] = str(uuid.uuid5(uuid.NAMESPACE_URL, str(body["hookInstance"])))
    return body


def _unwrap_prefetch(body: dict[str, Any]) -> dict[str, Any]:
    """Adaptation 3: pre-1.0 ``{"response": {...}, "resource": {...}}`` prefetch values."""
    for key, value in body["prefetch"].items():
        if isinstance(value, dict) and "resourceType" not in value and "resource" in value:
            body["prefetch"][key] = value["resource"]
    return body


def adapt(body: dict[str, Any]) -> dict[str, Any]:
    body = _unwrap_prefetch(_repair_prefetch(body))
    body = _uuid_hook_instance(_separate_shared_ids(body))
    if not _holds_medicines(body["prefetch"]):
        body["prefetch"]["medicationRequests"] = None  # adaptation 2
    return body


@pytest.fixture(scope="module")
def cdc_app() -> Iterator[TestClient]:
    app = create_app(CDC_SETTINGS)
    app.dependency_overrides[now_dependency] = lambda: NOW
    with TestClient(app) as client:
        yield client


@pytest.fixture
def cdc_client(cdc_app: TestClient) -> TestClient:
    """Each pair is the first chart-open of its patient: the review memory starts empty."""
    cdc_app.app.state.review_prompt_memory = InMemoryReviewPromptMemory()  # type: ignore[attr-defined]
    return cdc_app


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
    _compare(cdc_client, req_folder, name, _expected_cards(resp_folder, name), mapped)


@pytest.mark.parametrize(
    ("name", "answered_by"), ORDER_SIGN_CASES, ids=[n for n, _ in ORDER_SIGN_CASES]
)
def test_rec08_order_sign_variants_same_outcome_as_their_rec08_case(
    cdc_client: TestClient, name: str, answered_by: str
) -> None:
    expected = _expected_cards("OpioidCDSREC08", answered_by)
    _compare(cdc_client, "OpioidCDSREC08OrderSign", name, expected, REC08)


@pytest.mark.parametrize(("folder", "name"), UNANSWERED, ids=[n for _, n in UNANSWERED])
def test_pairs_without_a_published_response_are_answered(
    cdc_client: TestClient, folder: str, name: str
) -> None:
    body = adapt(_request_as_sent(folder, name))
    response = cdc_client.post(service_url(body), json=body)
    assert response.status_code == 200, response.text


def _compare(
    client: TestClient,
    folder: str,
    name: str,
    expected: list[dict[str, Any]],
    mapped: frozenset[str],
) -> None:
    body = adapt(_request_as_sent(folder, name))
    response = client.post(service_url(body), json=body)
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    fired = _fired(cards)
    if not expected:
        if mapped == REC08:  # one service for every recommendation: compared for REC08
            assert not fired & mapped, [c["summary"] for c in cards]
            return
        assert cards == [], [c["summary"] for c in cards]
        return
    assert fired & mapped, f"expected one of {sorted(mapped)}; fired {sorted(fired)}"
    ours = next(c for c in cards if _fired([c]) & mapped)
    if body["hook"] == "patient-view":
        assert ours["indicator"] == "info"  # a review prompt, never an interruption
        return
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

AS_SENT = (
    [(f, n) for f, _, n, _ in CASES]
    + [("OpioidCDSREC08OrderSign", n) for n, _ in ORDER_SIGN_CASES]
    + [(f, n) for f, n in UNANSWERED]
)


@pytest.mark.parametrize(("folder", "name"), AS_SENT, ids=[n for _, n in AS_SENT])
def test_as_sent_the_answer_is_the_one_the_spec_calls_for(
    cdc_client: TestClient, folder: str, name: str
) -> None:
    """A hookInstance that is not a UUID, or a pre-1.0 prefetch value: 400 naming it.
    Otherwise, with no medication resource where the service reads them (and no FHIR access
    token): 412 naming the prefetch it needs — unless nothing proposed needs the medicines
    list (the REC08 draft that names "Pepto-bismol Pill")."""
    body = _request_as_sent(folder, name)
    response = cdc_client.post(service_url(body), json=body)
    if _uuid_hook_instance(copy.deepcopy(body)) != body:
        assert response.status_code == 400
        assert response.json()["issue"][0]["expression"] == ["hookInstance"]
        return
    repaired = _repair_prefetch(body)
    if _unwrap_prefetch(copy.deepcopy(repaired)) != repaired:
        assert response.status_code == 400, response.text
        return
    if not _proposes_in_scope(body):
        assert response.status_code == 200, response.text
        return
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


def _proposes_in_scope(body: dict[str, Any]) -> bool:
    """Whether the draft names anything but the cqframework's "Pepto-bismol Pill"; a
    patient-view proposes nothing but reads only the medicines list."""
    entries = (body["context"].get("draftOrders") or {}).get("entry") or []
    return body["hook"] == "patient-view" or any(
        _rxnorm(e["resource"]) != PEPTO_BISMOL_RXNORM for e in entries
    )


PEPTO_BISMOL_RXNORM = "1185223"


def test_rec08_order_sign_without_prefetch_is_a_412(cdc_client: TestClient) -> None:
    """noPrefetch.json: a fentanyl order-sign with no prefetch and no FHIR access."""
    body = load_json(_cqf("requests", "OpioidCDSREC08OrderSign", "noPrefetch.json"))
    response = cdc_client.post(service_url(body), json=body)
    assert response.status_code == 412, response.text


def test_rec08_naloxone_card_offers_an_rxnorm_naloxone_order(cdc_client: TestClient) -> None:
    """Under us-cdc-2022 the "order naloxone" suggestion carries RxNorm
    (rules/naloxone_supply.yaml)."""
    body = adapt(_request_as_sent("OpioidCDSREC08", "rec-08-substance-abuse"))
    cards = cdc_client.post(service_url(body), json=body).json()["cards"]
    card = next(c for c in cards if "naloxone" in _fired([c]))
    (suggestion,) = [s for s in card["suggestions"] if "naloxone" in s["label"]]
    resource = suggestion["actions"][0]["resource"]
    assert resource["resourceType"] == "MedicationRequest"
    coding = resource["medicationCodeableConcept"]["coding"][0]
    assert coding["system"] == "http://www.nlm.nih.gov/research/umls/rxnorm"
