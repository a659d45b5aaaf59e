"""``POST /taper`` and ``GET /taper/plan`` over HTTP, and the re-authorisation card that
links to them: the JSON plan, the FHIR CarePlan (validated with ``fhir.resources``), the
errors, and the card's first steps, link and "Start the taper" suggestion.

``fhir.resources`` 8 models FHIR R5 at its top level; the service speaks R4, so resources are
validated with its R4B models (CarePlan and MedicationRequest are the same in R4 and R4B;
R5 removed ``CarePlan.activity.detail`` and ``medicationCodeableConcept``).
"""

from __future__ import annotations

import copy
import html
import json
import re
from datetime import UTC, date, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.careplan import CarePlan
from fhir.resources.R4B.medicationrequest import MedicationRequest

from service.fhir.medication_record import read_medication_record
from service.fhir.patient_record import PatientRecord
from service.pipeline import Pipeline
from service.taper.from_regimen import plan_query
from tests.conftest import service_url

EXAMPLES = Path(__file__).resolve().parents[2] / "openapi" / "examples"
TAPER_EXAMPLES: dict[str, Any] = json.loads((EXAMPLES / "taper.json").read_text("utf-8"))
HOOK_EXAMPLES: dict[str, Any] = json.loads((EXAMPLES / "hook-requests.json").read_text("utf-8"))
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
DMD = "https://dmd.nhs.uk"
MORPHINE_MR_60 = "36127711000001103"
OXYCODONE_MR_40 = "36130911000001104"


@pytest.fixture(scope="module")
def client(fixed_client: TestClient) -> TestClient:
    return fixed_client


def medication(code: str, sig: str, rid: str = "m") -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": DMD, "code": code}]},
        "dosageInstruction": [{"text": sig}],
    }


def pipeline_of(client: TestClient) -> Pipeline:
    app: Any = client.app
    pipeline: Pipeline = app.state.pipeline
    return pipeline


def code_of(client: TestClient, name: str) -> str:
    pipeline = pipeline_of(client)
    product = pipeline.dictionary.by_name(name)
    assert product is not None and product.system == "dmd", name
    return str(product.code)


def post_taper(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/taper", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    assert set(data) == {"plan", "not_checked", "carePlan"}
    assert data["not_checked"] == []
    assert_plan_shape(data["plan"])
    assert_care_plan(data)
    return data


def assert_plan_shape(plan: dict[str, Any]) -> None:
    assert set(plan) == {
        "pace",
        "floor_mg_per_day",
        "start_total_ome_mg_per_day",
        "final_total_ome_mg_per_day",
        "end_date",
        "order",
        "not_planned",
        "review",
        "steps",
    }
    steps = plan["steps"]
    assert steps[0]["number"] == 0 and steps[0]["changed"] == ""
    assert plan["start_total_ome_mg_per_day"] == steps[0]["total_ome_mg_per_day"]
    assert plan["final_total_ome_mg_per_day"] == steps[-1]["total_ome_mg_per_day"]
    assert plan["end_date"] == steps[-1]["start"]
    for i, step in enumerate(steps):
        assert step["number"] == i
        assert set(step) == {
            "number",
            "start",
            "total_ome_mg_per_day",
            "reduction_mg_per_day",
            "changed",
            "note",
            "medicines",
        }
        assert [m["label"] for m in step["medicines"]] == plan["order"]
        for medicine in step["medicines"]:
            assert set(medicine) == {
                "label",
                "amount",
                "unit",
                "ome_mg_per_day",
                "how",
                "instruction",
                "products",
            }
            for product in medicine["products"]:
                assert set(product) == {
                    "code",
                    "name",
                    "units_per_day",
                    "at_once",
                    "change_every_hours",
                }
    for before, step in pairwise(steps):
        assert step["start"] >= before["start"]
        assert step["total_ome_mg_per_day"] < before["total_ome_mg_per_day"]
        assert step["changed"] in plan["order"]


def assert_care_plan(data: dict[str, Any], patient: str | None = None) -> None:
    resource = data["carePlan"]
    CarePlan.model_validate(resource)
    plan = data["plan"]
    assert resource["resourceType"] == "CarePlan"
    assert (resource["status"], resource["intent"]) == ("draft", "proposal")
    assert resource["period"] == {"start": plan["steps"][0]["start"], "end": plan["end_date"]}
    if patient:
        assert resource["subject"] == {"reference": patient}
    steps = plan["steps"][1:]
    activities = resource.get("activity", [])
    if plan["review"] is not None:  # a plan ending at a floor ends with hold and review
        review = activities.pop()["detail"]
        assert review["kind"] == "Appointment"
        assert review["scheduledPeriod"] == {"start": plan["review"]["start"]}
    # One activity per product of each step (issue 18: a step of two patch strengths had
    # none with a code), or one for a medicine with no product ("stop", "as now").
    expected = [
        (s["number"], p["code"])
        for s in steps
        for m in s["medicines"]
        for p in (m["products"] or [{"code": None}])
    ]
    made = [
        (
            int(a["detail"]["description"].split(":")[0].removeprefix("Step ")),
            a["detail"].get("productCodeableConcept", {"coding": [{"code": None}]})["coding"][0][
                "code"
            ],
        )
        for a in activities
    ]
    assert made == expected
    for activity in activities:
        detail = activity["detail"]
        assert detail["kind"] == "MedicationRequest" and detail["status"] == "not-started"
        assert re.match(r"Step \d+: ", detail["description"])
        # Every activity names its medicine: "one 30mg tablet twice a day" alone does not (by
        # its ingredient: the started product's strength is not the step's, issue 11).
        assert any(label.split()[0] in detail["description"] for label in plan["order"]), detail


def changed_how(step: dict[str, Any]) -> str:
    return str(next(m["how"] for m in step["medicines"] if m["label"] == step["changed"]))


def named(step: dict[str, Any]) -> str:
    """The card's "Change" column: how, naming the medicine when the how does not (without
    the started product's strength, which is not the step's: "Oxycodone modified-release
    tablets: one 30mg tablet + one 5mg tablet")."""
    how = changed_how(step)
    if step["changed"] in how:
        return how
    name = re.sub(r" \d+(?:\.\d+)?(?:mg|micrograms)\S*", "", step["changed"])
    return f"{name}: {how}"


# --- The examples in openapi/examples/taper.json -------------------------------------------


@pytest.mark.parametrize("name", sorted(TAPER_EXAMPLES))
def test_every_taper_example_gives_a_plan_and_a_valid_care_plan(
    client: TestClient, name: str
) -> None:
    body = TAPER_EXAMPLES[name]["value"]
    data = post_taper(client, body)
    assert data["plan"]["steps"][0]["start"] == body["start"]
    assert data["plan"]["final_total_ome_mg_per_day"] == 0
    assert data["plan"]["not_planned"] == []
    assert_care_plan(data, body.get("patient"))


def test_morphine_mr_example_json_plan(client: TestClient) -> None:
    data = post_taper(client, TAPER_EXAMPLES["morphine-mr"]["value"])
    plan = data["plan"]
    assert plan["pace"] == "10% of the starting dose every 14 days"
    assert plan["order"] == ["Morphine 60mg modified-release tablets"]
    assert plan["start_total_ome_mg_per_day"] == 120
    assert [s["total_ome_mg_per_day"] for s in plan["steps"]] == list(range(120, -1, -10))
    assert plan["end_date"] == "2027-05-04"
    first = plan["steps"][1]
    assert first["start"] == "2026-12-01" and first["reduction_mg_per_day"] == 10
    (medicine,) = first["medicines"]
    assert medicine == {
        "label": "Morphine 60mg modified-release tablets",
        "amount": 110,
        "unit": "mg/day",
        "ome_mg_per_day": 110,
        "how": "one 30mg tablet + two 10mg tablets in the morning and one 60mg tablet at night",
        "instruction": "Morphine modified-release tablets: one 30mg tablet + two 10mg tablets "
        "in the morning and one 60mg tablet at night",
        "products": [
            {"code": MORPHINE_MR_60, "name": "Morphine 60mg modified-release tablets",
             "units_per_day": 1, "at_once": None, "change_every_hours": None},
            {"code": "36127311000001102", "name": "Morphine 30mg modified-release tablets",
             "units_per_day": 1, "at_once": None, "change_every_hours": None},
            {"code": "36126511000001106", "name": "Morphine 10mg modified-release tablets",
             "units_per_day": 2, "at_once": None, "change_every_hours": None},
        ],
    }  # fmt: skip
    care_plan = data["carePlan"]
    assert care_plan["subject"] == {"reference": "Patient/example-patient"}
    # One product a step: its code and daily amount; the last-but-one step.
    detail = care_plan["activity"][-2]["detail"]
    assert detail["productCodeableConcept"]["coding"][0]["code"] == "36127511000001108"
    assert detail["dailyAmount"] == {"value": 2}
    assert detail["scheduledPeriod"] == {"start": "2027-04-20", "end": "2027-05-03"}
    assert care_plan["activity"][-1]["detail"]["scheduledPeriod"] == {"start": "2027-05-04"}


def test_patient_set_pace_example_tapers_when_required_first_at_5_percent_every_28_days(
    client: TestClient,
) -> None:
    plan = post_taper(client, TAPER_EXAMPLES["patient-set-pace"]["value"])["plan"]
    assert plan["pace"] == (
        "5% of the starting dose every 28 days, slowing to 50% of that pace below 30% of "
        "the starting dose"
    )
    assert plan["order"] == [
        "Oxycodone 5mg capsules",
        "Oxycodone 40mg modified-release tablets",
    ]
    assert plan["start_total_ome_mg_per_day"] == 180
    steps = plan["steps"]
    assert [s["start"] for s in steps[1:4]] == ["2026-12-01", "2026-12-29", "2027-01-26"]
    assert {s["changed"] for s in steps[1:9]} == {"Oxycodone 5mg capsules"}
    assert all(s["reduction_mg_per_day"] <= 9 for s in steps[1:])  # 5% of 180 per interval
    assert changed_how(steps[-2]) == "one 5mg tablet at night only"


# --- Vignettes over HTTP -------------------------------------------------------------------


def test_fentanyl_50_patch_over_http(client: TestClient) -> None:
    code = code_of(client, "Fentanyl 50micrograms/hour transdermal patches")
    data = post_taper(
        client,
        {
            "medications": [medication(code, "apply one patch every 72 hours")],
            "start": "2026-12-01",
        },
    )
    steps = data["plan"]["steps"]
    assert [s["medicines"][0]["amount"] for s in steps] == [50, 37.5, 25, 12.5, 0]
    assert {s["medicines"][0]["unit"] for s in steps} == {"microgram/hour"}
    assert [s["start"] for s in steps] == [
        "2026-12-01",
        "2026-12-29",
        "2027-02-09",
        "2027-03-23",
        "2027-05-04",
    ]
    # Patches as patches (issue 18): one worn at a time, changed every 72 hours, so a third
    # of a patch a day; the CarePlan gives each step's quantity, never "1 a day".
    assert steps[1]["medicines"][0]["products"][0] | {"code": "", "name": ""} == {
        "code": "",
        "name": "",
        "units_per_day": 0.3333,
        "at_once": 1,
        "change_every_hours": 72,
    }
    assert steps[1]["medicines"][0]["how"].endswith("at a time, changed every 72 hours")
    first = data["carePlan"]["activity"][0]["detail"]
    assert first["scheduledPeriod"] == {"start": "2026-12-29", "end": "2027-02-08"}
    assert "dailyAmount" not in first
    assert first["quantity"] == {"value": 14}  # 42 days of a 72-hour patch


def test_co_codamol_two_four_times_a_day_over_http(client: TestClient) -> None:
    code = code_of(client, "Co-codamol 30mg/500mg tablets")
    plan = post_taper(
        client, {"medications": medication(code, "two four times a day"), "start": "2026-12-01"}
    )["plan"]
    assert [s["total_ome_mg_per_day"] for s in plan["steps"]] == [24, 21, 18, 15, 12, 9, 6, 3, 0]
    assert [s["medicines"][0]["products"] for s in plan["steps"][-2:]] == [
        [
            {
                "code": code,
                "name": "Co-codamol 30mg/500mg tablets",
                "units_per_day": 1,
                "at_once": None,
                "change_every_hours": None,
            }
        ],
        [],
    ]


def test_the_start_date_defaults_to_today_and_a_floor_is_kept(client: TestClient) -> None:
    body = {"medications": [medication(MORPHINE_MR_60, "one twice a day")], "floor_mg_per_day": 50}
    plan = post_taper(client, body)["plan"]
    assert plan["steps"][0]["start"] == NOW.date().isoformat()
    assert plan["floor_mg_per_day"] == 50 and plan["final_total_ome_mg_per_day"] == 50
    assert plan["review"]["start"] > plan["end_date"]
    assert plan["review"]["text"].startswith("hold at 50 mg OME/day")


def test_a_floor_at_or_above_the_dose_is_a_plan_with_no_step_not_an_error(
    client: TestClient,
) -> None:
    body = {"medications": [medication(MORPHINE_MR_60, "one twice a day")], "floor_mg_per_day": 120}
    data = post_taper(client, body)
    assert len(data["plan"]["steps"]) == 1
    assert "activity" not in data["carePlan"]


def test_a_slower_patient_set_pace_and_an_interval_over_http(client: TestClient) -> None:
    body = {
        "medications": [medication(MORPHINE_MR_60, "one twice a day")],
        "pace": {"reduction_percent": 5, "interval_days": 21},
        "start": "2026-12-01",
    }
    plan = post_taper(client, body)["plan"]
    assert plan["pace"] == "5% of the starting dose every 21 days"
    gaps = {
        (date.fromisoformat(b["start"]) - date.fromisoformat(a["start"])).days
        for a, b in pairwise(plan["steps"][1:])
    }
    # Mostly 21 days; a step that only two strengths a dose cannot make smaller waits whole
    # intervals longer and says so (issue 18).
    assert 21 in gaps and all(gap % 21 == 0 for gap in gaps)
    for before, step in pairwise(plan["steps"][1:]):
        gap = (date.fromisoformat(step["start"]) - date.fromisoformat(before["start"])).days
        assert step["reduction_mg_per_day"] <= 6 * gap / 21
        assert bool(step["note"]) == (gap > 21)


def test_a_medicine_that_cannot_be_planned_is_listed_with_the_reason(client: TestClient) -> None:
    code = code_of(client, "Oxycodone 20mg / Naloxone 10mg modified-release tablets")
    body = {
        "medications": [
            medication(code, "one twice a day", "targinact"),
            medication(MORPHINE_MR_60, "one twice a day", "mst"),
        ]
    }
    plan = post_taper(client, body)["plan"]
    assert plan["not_planned"] == [
        {
            "label": "Oxycodone 20mg / Naloxone 10mg modified-release tablets",
            "reason": "modified-release combination products are tapered by hand",
        }
    ]
    assert plan["start_total_ome_mg_per_day"] == 180
    assert plan["final_total_ome_mg_per_day"] == 60  # the oxycodone/naloxone, unchanged


# --- Errors --------------------------------------------------------------------------------


def _error(response: Any, location: str) -> str:
    assert response.status_code == 400, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    (issue,) = outcome["issue"]
    assert issue["expression"] == [location]
    return str(issue["diagnostics"])


def test_a_pace_above_the_maximum_in_rules_taper_yaml_is_refused(client: TestClient) -> None:
    pipeline = pipeline_of(client)
    maximum = pipeline.taper_settings.max_reduction_percent
    assert maximum == 25
    body = {
        "medications": [medication(MORPHINE_MR_60, "one twice a day")],
        "pace": {"reduction_percent": maximum + 0.1},
    }
    message = _error(client.post("/taper", json=body), "pace.reduction_percent")
    assert "25%" in message and "specialist" in message
    body["pace"] = {"reduction_percent": maximum}
    assert client.post("/taper", json=body).status_code == 200
    query = f"item=dmd|{MORPHINE_MR_60}|2|unit&reduction_percent=26"
    _error(client.get(f"/taper/plan?{query}"), "pace.reduction_percent")


@pytest.mark.parametrize(
    "medications",
    [
        pytest.param([], id="nothing"),
        pytest.param(
            [
                {
                    "resourceType": "MedicationRequest",
                    "id": "d",
                    "status": "active",
                    "intent": "order",
                    "medicationCodeableConcept": {
                        "coding": [{"system": DMD, "code": "42128311000001104"}]
                    },
                    "dosageInstruction": [{"text": "one at night"}],
                }
            ],
            id="diazepam-only",
        ),
        pytest.param({"resourceType": "Bundle", "entry": []}, id="empty-bundle"),
    ],
)
def test_no_opioid_to_taper_is_a_400(client: TestClient, medications: Any) -> None:
    _error(client.post("/taper", json={"medications": medications}), "medications")


@pytest.mark.parametrize(
    "pace",
    [
        pytest.param({"reduction_percent": 0}, id="zero-percent"),
        pytest.param({"interval_days": 0}, id="zero-days"),
        pytest.param({"interval_days": 366}, id="over-a-year"),
    ],
)
def test_an_invalid_pace_is_a_400(client: TestClient, pace: dict[str, Any]) -> None:
    body = {"medications": [medication(MORPHINE_MR_60, "one twice a day")], "pace": pace}
    assert client.post("/taper", json=body).status_code == 400


@pytest.mark.parametrize(
    ("item", "why"),
    [
        pytest.param("dmd|36127711000001103", "expected system|code|amount|unit", id="too-few"),
        pytest.param("snomed|1|2|unit", "expected system|code|amount|unit", id="bad-system"),
        pytest.param("dmd|36127711000001103|two|unit", "not a number", id="amount"),
        pytest.param("dmd|36127711000001103|2|tablets", "unknown unit", id="unit"),
        pytest.param("dmd|36127711000001103|2|unit|prn|x|y", "expected", id="too-many"),
        pytest.param("dmd|36127711000001103|2|unit|prn|x", "neither prn", id="unknown-extra"),
        pytest.param("dmd|36127711000001103|2|unit|every=72h", "neither prn", id="every-not-patch"),
        pytest.param("dmd|36127711000001103|inf|unit", "not a positive number", id="infinite"),
        pytest.param("dmd|36127711000001103|nan|unit", "not a positive number", id="nan"),
        pytest.param("dmd|36127711000001103|0|unit", "not a positive number", id="zero"),
        pytest.param("dmd|36127711000001103|1+2|unit", "morning+night in mg", id="split-unit"),
        pytest.param("dmd|36127711000001103|1+2+3|mg", "morning+night in mg", id="split-three"),
        pytest.param("dmd|36127711000001103|30+0|mg", "not a positive number", id="split-zero"),
    ],
)
def test_bad_item_strings_are_a_400_naming_the_item(
    client: TestClient, item: str, why: str
) -> None:
    response = client.get("/taper/plan", params={"item": [f"dmd|{MORPHINE_MR_60}|2|unit", item]})
    assert why in _error(response, "item[1]")


@pytest.mark.parametrize(
    ("query", "location"),
    [
        pytest.param("start=9999-12-01", "start", id="start-in-the-year-9999"),
        pytest.param("start=1900-01-01", "start", id="start-in-1900"),
        pytest.param("reduction_percent=0.01&interval_days=365", "pace.reduction_percent",
                     id="a-pace-that-never-ends"),
    ],
)  # fmt: skip
def test_a_plan_that_cannot_be_dated_is_a_400_not_a_500(
    client: TestClient, query: str, location: str
) -> None:
    """Found by trying the service as a user would: these were 500s (date overflow)."""
    url = f"/taper/plan?item=dmd|{MORPHINE_MR_60}|2|unit&{query}"
    _error(client.get(url), location)


def test_an_item_naming_no_known_opioid_is_a_400(client: TestClient) -> None:
    _error(client.get("/taper/plan", params={"item": "dmd|999999|2|unit"}), "medications")


# --- The re-authorisation card, its link and its suggestion --------------------------------


@pytest.fixture(scope="module")
def refill_card(client: TestClient) -> dict[str, Any]:
    body = copy.deepcopy(HOOK_EXAMPLES["medication-refill-oxycodone"]["value"])
    response = client.post(service_url(body), json=body)
    assert response.status_code == 200, response.text
    cards = [c for c in response.json()["cards"] if c["summary"].startswith("Re-authorising")]
    assert len(cards) == 1
    card: dict[str, Any] = cards[0]
    return card


_ROW = re.compile(
    r"^\| (\d+) \| (\d{4}-\d{2}-\d{2}) \| ([\d.]+) \| [\d.]+% of the start \| (.+) \|$",
    re.MULTILINE,
)


def test_the_card_links_to_the_full_plan_with_the_same_first_steps(
    client: TestClient, refill_card: dict[str, Any]
) -> None:
    detail = refill_card["detail"]
    # Oxycodone MR 40 twice a day: 5 mg steps are 6.25% of 120 mg OME (issue 18).
    assert "**Proposed taper** (at most 10% of the starting dose every 14 days):" in detail
    rows = _ROW.findall(detail)
    assert [int(n) for n, *_ in rows] == [1, 2, 3]
    (link,) = re.findall(r"\[The full plan\]\(([^)]+)\)", detail)
    url = urlsplit(link)
    assert url.path == "/taper/plan"
    # The regimen travels sealed (issue 12 item 4): nothing of it is in the URL.
    (ref,) = parse_qs(url.query)["ref"]
    assert str(OXYCODONE_MR_40) not in link and "item" not in link
    assert parse_qs(client.app.state.pipeline.links.open(ref)) == {  # type: ignore[attr-defined]
        "start": ["2026-11-22"],
        "item": [f"dmd|{OXYCODONE_MR_40}|2|unit"],
    }
    response = client.get(f"{url.path}?{url.query}")
    assert response.status_code == 200, response.text
    data = response.json()
    assert_plan_shape(data["plan"])
    CarePlan.model_validate(data["carePlan"])
    steps = data["plan"]["steps"]
    assert [
        (str(s["number"]), s["start"], f"{s['total_ome_mg_per_day']:g}", named(s))
        for s in steps[1:4]
    ] == [tuple(row) for row in rows]
    more = re.search(r"\| … \| (\S+) \| (\S+) \| \| (\d+) more steps \|", detail)
    assert more is not None
    assert more.groups() == (
        data["plan"]["end_date"],
        f"{data['plan']['final_total_ome_mg_per_day']:g}",
        str(len(steps) - 4),
    )


def test_the_card_shows_the_support_tier(refill_card: dict[str, Any]) -> None:
    # 120 mg OME/day is at the high-dose threshold, for the tier as for the cards.
    assert "**Support tier 3: Primary Care Network tapering service.**" in refill_card["detail"]
    assert (
        "Risk factors: Male; Older age; Prescribed 120 mg OME/day or more." in refill_card["detail"]
    )


def test_the_card_offers_the_first_step_as_whole_medication_requests(
    client: TestClient, refill_card: dict[str, Any]
) -> None:
    (suggestion,) = [
        s for s in refill_card["suggestions"] if s["label"].startswith("Start the taper")
    ]
    assert suggestion["label"] == "Start the taper: prescribe the first reduced dose instead"
    assert suggestion.get("isRecommended") is True
    actions = suggestion["actions"]
    assert [a["type"] for a in actions] == ["update", "create", "create"]
    draft = HOOK_EXAMPLES["medication-refill-oxycodone"]["value"]["context"]["medications"]
    draft = draft["entry"][0]["resource"]
    assert actions[0]["resource"]["id"] == draft["id"]
    pipeline = pipeline_of(client)
    made = 0.0
    for action in actions:
        resource = action["resource"]
        MedicationRequest.model_validate(resource)
        assert resource["resourceType"] == "MedicationRequest"
        assert resource["subject"] == draft["subject"] and resource["intent"] == "order"
        (coding,) = resource["medicationCodeableConcept"]["coding"]
        product = pipeline.dictionary.by_code(coding["system"], coding["code"])
        assert product is not None and product.name == coding["display"]
        assert product.modified_release and product.opioids[0].name == "oxycodone"
        per_day = resource["dispenseRequest"]["quantity"]["value"] / 14
        made += product.opioids[0].strength.mg_per_one * per_day
        assert resource["dispenseRequest"]["expectedSupplyDuration"]["value"] == 14
        assert resource["dosageInstruction"][0]["text"].endswith(
            "one 30mg tablet + one 5mg tablet in the morning and one 40mg tablet at night"
        )
    # The first step of the plan: 75 mg oxycodone a day, 112.5 mg OME.
    assert made == 75
    assert "| 1 | 2026-11-22 | 112.5 |" in refill_card["detail"]


# --- The card's plan and the linked plan are one plan (issue 18 item 2) ----------------------

_PRN = "one or two every 4-6 hours when required, max 8 in 24 hours"
_DOSE_FORMS: dict[str, list[tuple[str, str]]] = {
    "mr-tablets": [("Morphine 60mg modified-release tablets", "one twice a day")],
    "mr-uneven-tablets": [
        ("Morphine 30mg modified-release tablets", "one in the morning and two at night")
    ],
    "mr-uneven-mg": [
        ("Morphine 60mg modified-release tablets", "30mg in the morning and 60mg at night")
    ],
    "ir-tablets": [("Oxycodone 5mg capsules", "one four times a day")],
    "24-hour-brand": [("MXL 60mg capsules", "one once a day")],
    "mr-brand-combination": [("Targinact 20mg/10mg modified-release tablets", "one twice a day")],
    "combination": [("Co-codamol 30mg/500mg tablets", "two four times a day")],
    "liquid": [("Morphine sulfate 10mg/5ml oral solution", "5ml four times a day")],
    "fentanyl-patch": [
        ("Fentanyl 75micrograms/hour transdermal patches", "apply one every 72 hours")
    ],
    "two-fentanyl-patches": [
        ("Fentanyl 50micrograms/hour transdermal patches", "apply two every 72 hours")
    ],
    "buprenorphine-7-day": [
        ("Buprenorphine 10micrograms/hour transdermal patches", "apply one every 7 days")
    ],
    "buprenorphine-96-hour": [
        ("Buprenorphine 35micrograms/hour transdermal patches", "apply one every 96 hours")
    ],
    # The order's own interval, not the table's, must reach the linked plan too.
    "buprenorphine-70-every-72-hours": [
        ("Buprenorphine 70micrograms/hour transdermal patches", "apply one every 72 hours")
    ],
    "fentanyl-every-96-hours": [
        ("Fentanyl 25micrograms/hour transdermal patches", "apply one every 96 hours")
    ],
    "prn": [("Oxycodone 5mg capsules", _PRN)],
    "mr-and-prn": [
        ("Oxycodone 40mg modified-release tablets", "one twice a day"),
        ("Oxycodone 5mg capsules", _PRN),
    ],
}


def _comparable(steps: list[Any]) -> list[Any]:
    return [
        (
            s["start"],
            s["total_ome_mg_per_day"],
            [(m["amount"], m["unit"], m["how"], m["products"]) for m in s["medicines"]],
        )
        for s in steps
    ]


@pytest.mark.parametrize("form", sorted(_DOSE_FORMS))
def test_the_linked_plan_is_the_plan_the_card_made_for_every_dose_form(
    client: TestClient, form: str
) -> None:
    pipeline = pipeline_of(client)
    today = NOW.date()
    records = tuple(
        read_medication_record(
            medication(code_of(client, name), sig, f"m{i}"), f"medications[{i}]", {}
        )
        for i, (name, sig) in enumerate(_DOSE_FORMS[form])
    )
    regimen = pipeline.regimen(PatientRecord("taper", None, (), records), today)
    card = pipeline.taper(regimen, today)
    assert len(card.steps) > 1, form
    response = client.get(f"/taper/plan?{plan_query(regimen.with_proposal, today)}")
    assert response.status_code == 200, response.text
    linked = response.json()["plan"]
    as_card = [
        (
            s.start.isoformat(),
            s.total_ome_mg_per_day,
            [
                (
                    m.amount,
                    m.unit,
                    m.how,
                    [
                        {
                            "code": p.code,
                            "name": p.name,
                            "units_per_day": round(m.option.units_per_day(p), 4),
                            "at_once": p.units if m.option.change_hours else None,
                            "change_every_hours": m.option.change_hours,
                        }
                        for p in m.option.parts
                    ],
                )
                for m in s.medicines
            ],
        )
        for s in card.steps
    ]
    assert _comparable(linked["steps"]) == as_card


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_the_cards_plan_link_opens_as_a_page_in_a_browser(
    client: TestClient, refill_card: dict[str, Any]
) -> None:
    """A prescriber follows the link in a browser: a page with every step, the same plan
    as the JSON (a new-user trial found raw JSON); an API client still gets JSON."""
    (link,) = re.findall(r"\[The full plan\]\(([^)]+)\)", refill_card["detail"])
    url = urlsplit(link)
    path = f"{url.path}?{url.query}"
    page = client.get(path, headers={"Accept": BROWSER_ACCEPT})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    plan = client.get(path).json()["plan"]
    assert "<script" not in page.text and "http" not in page.text.replace("http-equiv", "")
    for step in plan["steps"][1:]:
        assert f"<td>{step['number']}</td><td>{step['start']}</td>" in page.text
        for medicine in step["medicines"]:
            assert html.escape(medicine["instruction"]) in page.text
    assert f"by {plan['end_date']}" in page.text
    # The last step stops the medicine by name, not by the started product's strength.
    assert plan["steps"][-1]["medicines"][0]["instruction"] == (
        "stop Oxycodone modified-release tablets"
    )
