"""One record, four ways in: the CDS hook, ``POST /ome``, ``POST /taper`` and
``POST /support-tier`` read the same FHIR through the one record builder
(``service.fhir.patient_record``) and must agree on the medicines, their statuses and the
total.

The record names its medicines in every way real systems do: a coded concept, a
``medicationReference`` to a Bundle entry by ``fullUrl`` (``urn:uuid``), one by
``Medication/id``, one to a contained Medication, and one that cannot be resolved at all
(which must be unresolved with its reason, never dropped or counted as 0).
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.cds_hooks.hook_input import read_hook_input
from service.cds_hooks.models import HookRequest
from service.pipeline import Pipeline
from tests.conftest import NOW
from tests.unit.ome.fhir_builders import (
    MORPHINE_MR_30,
    OXYCODONE_MR_40,
    TRAMADOL_CAPS_50,
    Med,
    concept,
    request,
)

MORPHINE_URL = "urn:uuid:0b7b5c2e-8a51-4d3c-9a51-5f0c2b1d7e10"
#: Morphine 30 mg MR twice a day = 60; oxycodone 40 mg MR twice a day = 120; tramadol 50 mg
#: two four times a day = 40 (uk-opioids-aware); the fourth is unresolvable.
TOTAL = 220.0
UNRESOLVED = "an unidentified medicine (Medication/not-sent, not sent)"


def _by_reference(med: Med, reference: str, text: str, id_: str) -> dict[str, Any]:
    resource = request(med, text=text, id=id_)
    del resource["medicationCodeableConcept"]
    resource["medicationReference"] = {"reference": reference}
    return resource


def _medication(med: Med, id_: str) -> dict[str, Any]:
    return {"resourceType": "Medication", "id": id_, "code": concept(med)}


def record_bundle() -> dict[str, Any]:
    morphine = _by_reference(MORPHINE_MR_30, MORPHINE_URL, "1 twice a day", "mst")
    oxycodone = _by_reference(OXYCODONE_MR_40, "Medication/oxy-med", "1 twice a day", "oxy")
    tramadol = _by_reference(TRAMADOL_CAPS_50, "#tram", "2 four times a day", "tram")
    tramadol["contained"] = [_medication(TRAMADOL_CAPS_50, "tram")]
    lost = _by_reference(MORPHINE_MR_30, "Medication/not-sent", "1 twice a day", "lost")
    entries = [
        {"fullUrl": MORPHINE_URL, "resource": _medication(MORPHINE_MR_30, "morphine-med")},
        {"resource": _medication(OXYCODONE_MR_40, "oxy-med")},
        {"resource": morphine},
        {"resource": oxycodone},
        {"resource": tramadol},
        {"resource": lost},
    ]
    return {"resourceType": "Bundle", "type": "searchset", "entry": entries}


def hook_body(bundle: dict[str, Any], draft: dict[str, Any] | None = None) -> dict[str, Any]:
    """Order-sign of ``draft``; by default re-signing the morphine (same id), so that the
    total with the proposal equals the current total and every endpoint should report the
    same number."""
    draft = draft or copy.deepcopy(bundle["entry"][2]["resource"])
    return {
        "hook": "order-sign",
        "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
        "context": {
            "userId": "Practitioner/gp",
            "patientId": "pat-1",
            "draftOrders": {"resourceType": "Bundle", "entry": [{"resource": draft}]},
        },
        "prefetch": {
            "patient": None,
            "medicationRequests": bundle,
            "medicationStatements": None,
            "conditions": None,
        },
    }


@pytest.fixture(scope="module")
def client(fixed_client: TestClient) -> TestClient:
    return fixed_client


@pytest.fixture(scope="module")
def pipeline(client: TestClient) -> Pipeline:
    return client.app.state.pipeline  # type: ignore[attr-defined,no-any-return]


def _statuses_from_ome(report: dict[str, Any]) -> dict[str, str]:
    return {m["name"]: m["status"] for m in report["medications"]}


def test_the_hook_and_ome_agree_on_medicines_statuses_and_total(
    client: TestClient, pipeline: Pipeline
) -> None:
    bundle = record_bundle()
    report = client.post("/ome", json=bundle).json()
    record = read_hook_input("opioid-safety-sign", HookRequest.model_validate(hook_body(bundle)))
    regimen = pipeline.regimen(record, NOW.date())
    from_hook = {m.label: m.status.value for m in regimen.current}
    assert (
        from_hook
        == _statuses_from_ome(report)
        == {
            MORPHINE_MR_30.name: "calculated",
            OXYCODONE_MR_40.name: "calculated",
            TRAMADOL_CAPS_50.name: "calculated",
            UNRESOLVED: "unresolved",
        }
    )
    assert regimen.current_total == regimen.total_with_proposal == TOTAL
    assert report["total_ome_mg_per_day"] == TOTAL
    assert report["complete"] is False


def test_the_hook_says_which_medicine_it_could_not_resolve(client: TestClient) -> None:
    response = client.post("/cds-services/opioid-safety-sign", json=hook_body(record_bundle()))
    assert response.status_code == 200
    summaries = [card["summary"] for card in response.json()["cards"]]
    assert any(UNRESOLVED in s and "not assessed" in s for s in summaries), summaries
    details = "\n".join(card["detail"] for card in response.json()["cards"])
    assert "'Medication/not-sent' could not be resolved" in details


def test_taper_plans_from_the_same_total_and_lists_the_unresolved_medicine(
    client: TestClient,
) -> None:
    response = client.post("/taper", json={"medications": record_bundle()})
    assert response.status_code == 200, response.text
    plan = response.json()["plan"]
    assert plan["start_total_ome_mg_per_day"] == TOTAL
    assert [m["label"] for m in plan["steps"][0]["medicines"]] != []
    assert UNRESOLVED in [n["label"] for n in plan["not_planned"]]


def test_support_tier_counts_the_same_total_and_reports_the_unresolved_medicine(
    client: TestClient,
) -> None:
    response = client.post("/support-tier", json=record_bundle())
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["total_ome_mg_per_day"] == TOTAL
    assert data["complete"] is False
    assert [u.split(":")[0] for u in data["unresolved"]] == [UNRESOLVED]
    assert data["tier"] == 3  # 220 mg OME/day is a high-dose risk factor


@pytest.mark.parametrize("path", ["/ome", "/support-tier"])
def test_a_medication_reference_that_resolves_is_not_unresolved(
    client: TestClient, path: str
) -> None:
    """Without the unresolvable item every endpoint is complete: resolution by fullUrl,
    by Medication/id and by #contained all worked."""
    bundle = record_bundle()
    bundle["entry"] = bundle["entry"][:-1]
    data = client.post(path, json=bundle).json()
    assert (data["total_ome_mg_per_day"], data["complete"]) == (TOTAL, True)


# --- Every way of naming a medicine, every status: the four agree ---------------------------

STYLES = ("coded", "contained", "by-id", "by-full-url", "display-only", "unresolvable")
MEDICINES = {
    "morphine-mr": (MORPHINE_MR_30, "1 twice a day", 60.0),
    "oxycodone-mr": (OXYCODONE_MR_40, "1 twice a day", 120.0),
    "tramadol": (TRAMADOL_CAPS_50, "2 four times a day", 40.0),
}


def _named(style: str, med: Med, sig: str, id_: str) -> list[dict[str, Any]]:
    """A MedicationRequest naming ``med`` in ``style``, and any Bundle entries it needs."""
    if style == "coded":
        return [{"resource": request(med, text=sig, id=id_)}]
    medication = _medication(med, f"{id_}-med")
    if style == "contained":
        resource = _by_reference(med, f"#{id_}-med", sig, id_)
        resource["contained"] = [medication]
        return [{"resource": resource}]
    if style == "by-id":
        resource = _by_reference(med, f"Medication/{id_}-med", sig, id_)
        return [{"resource": medication}, {"resource": resource}]
    if style == "by-full-url":
        url = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, id_)}"
        resource = _by_reference(med, url, sig, id_)
        return [{"fullUrl": url, "resource": medication}, {"resource": resource}]
    resource = _by_reference(med, f"Medication/{id_}-not-sent", sig, id_)
    if style == "display-only":
        resource["medicationReference"]["display"] = med.name
    return [{"resource": resource}]


def _answers(client: TestClient, pipeline: Pipeline, bundle: dict[str, Any]) -> list[Any]:
    """(total, unresolved count) from the hook's regimen, /ome, /support-tier and /taper."""
    body = hook_body(bundle, _paracetamol_draft())
    record = read_hook_input("opioid-safety-sign", HookRequest.model_validate(body))
    regimen = pipeline.regimen(record, NOW.date())
    ome = client.post("/ome", json=bundle).json()
    tier = client.post("/support-tier", json=bundle).json()
    taper = client.post("/taper", json={"medications": bundle})
    taper_total = (
        taper.json()["plan"]["start_total_ome_mg_per_day"] if taper.status_code == 200 else 0.0
    )
    return [
        (regimen.current_total, len(regimen.unresolved)),
        (ome["total_ome_mg_per_day"], ome["unresolved_count"]),
        (tier["total_ome_mg_per_day"], len(tier["unresolved"])),
        (taper_total, None),
    ]


def _paracetamol_draft() -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": "draft-paracetamol",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {"text": "Paracetamol 500mg tablets"},
        "dosageInstruction": [{"text": "2 four times a day"}],
    }


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("medicine", sorted(MEDICINES))
def test_every_way_of_naming_a_medicine_gives_the_same_answer_everywhere(
    client: TestClient, pipeline: Pipeline, style: str, medicine: str
) -> None:
    med, sig, ome = MEDICINES[medicine]
    other = "tramadol" if medicine != "tramadol" else "morphine-mr"
    other_med, other_sig, other_ome = MEDICINES[other]
    entries = _named(style, med, sig, "item") + _named("coded", other_med, other_sig, "other")
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": entries}
    resolved = style != "unresolvable"
    total = other_ome + (ome if resolved else 0.0)
    hook, from_ome, from_tier, from_taper = _answers(client, pipeline, bundle)
    assert hook == from_ome == from_tier == (total, 0 if resolved else 1)
    assert from_taper[0] == total


@pytest.mark.parametrize("status", ["stopped", "completed", "entered-in-error", "on-hold"])
def test_a_medicine_that_is_not_current_is_left_out_everywhere(
    client: TestClient, pipeline: Pipeline, status: str
) -> None:
    entries = _named("by-id", MORPHINE_MR_30, "1 twice a day", "item") + _named(
        "coded", TRAMADOL_CAPS_50, "2 four times a day", "other"
    )
    entries[-2]["resource"]["status"] = status  # the morphine order, not its Medication
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": entries}
    answers = _answers(client, pipeline, bundle)
    assert [a[0] for a in answers] == [40.0] * 4
