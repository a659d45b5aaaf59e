"""``POST /ome`` over HTTP, and ``python -m service ome FILE`` giving the same answer.

The body may be a FHIR Bundle, a list of resources, one resource, or a wrapper
``{"medications": ..., "profile": ...}``; the profile may also be a query parameter.
The clock is fixed (2026-11-22) so what counts as current does not depend on the day the
tests run.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.__main__ import main
from service.api.deps import now_dependency
from service.main import create_app
from tests.unit.ome.fhir_builders import (
    CO_CODAMOL_30_500,
    FENTANYL_PATCH_25,
    MORPHINE_MR_30,
    OXYCODONE_MR_40,
    TRAMADOL_CAPS_50,
    Med,
    bundle,
    request,
    statement,
)

TODAY = "2026-11-22"
NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)

MST = request(MORPHINE_MR_30, text="1 twice a day", id="mst")  # 60
OXY = request(OXYCODONE_MR_40, text="1 twice a day", id="oxy")  # 120
PATCH = request(FENTANYL_PATCH_25, text="apply one patch every 72 hours", id="patch")  # 60
TRAMADOL = request(TRAMADOL_CAPS_50, text="2 four times a day", id="tramadol")  # 40 UK, 80 US


@pytest.fixture(scope="module")
def http() -> Iterator[TestClient]:
    app = create_app()
    app.dependency_overrides[now_dependency] = lambda: NOW
    with TestClient(app) as client:
        yield client


def ome(http: TestClient, body: Any, **params: str) -> dict[str, Any]:
    response = http.post("/ome", json=body, params=params)
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report


def refused(
    http: TestClient, body: Any = None, *, content: bytes | None = None, **params: str
) -> str:
    if content is not None:
        response = http.post(
            "/ome", content=content, params=params, headers={"content-type": "application/json"}
        )
    else:
        response = http.post("/ome", json=body, params=params)
    assert response.status_code == 400, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    return " ".join(
        f"{issue['diagnostics']} {' '.join(issue.get('expression', []))}"
        for issue in outcome["issue"]
    )


# --------------------------------------------------------------------------- body forms


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(bundle(MST, OXY, PATCH), id="bundle"),
        pytest.param(bundle(MST, OXY, PATCH, bundle_type=None), id="bundle-without-type"),
        pytest.param([MST, OXY, PATCH], id="list"),
        pytest.param({"medications": bundle(MST, OXY, PATCH)}, id="wrapper-bundle"),
        pytest.param({"medications": [MST, OXY, PATCH]}, id="wrapper-list"),
    ],
)
def test_every_body_form_gives_the_same_total(http: TestClient, body: Any) -> None:
    report = ome(http, body)
    assert report["total_ome_mg_per_day"] == 240.0
    assert report["complete"] is True
    assert report["unresolved_count"] == 0
    assert report["profile"] == "uk-opioids-aware"
    assert [m["ome_mg_per_day"] for m in report["medications"]] == [60.0, 120.0, 60.0]


def test_a_single_resource(http: TestClient) -> None:
    report = ome(http, OXY)
    assert report["total_ome_mg_per_day"] == 120.0
    (row,) = report["medications"]
    assert row["status"] == "calculated"
    assert row["counted"] is True
    assert row["reference"] == "MedicationRequest/oxy"
    assert row["explanation"] == (
        "Oxycodone 40mg modified-release tablets, 1 tablet twice a day = 80 mg oxycodone/day × 1.5 "
        "= 120 mg OME/day"
    )
    assert row["daily_dose"] == {
        "amount": 2.0,
        "unit": "unit",
        "basis": "dosage text",
        "as_needed": False,
        "description": "1 tablet twice a day",
    }
    assert row["ingredients"][0]["ingredient"] == "oxycodone"
    assert row["ingredients"][0]["factor"] == 1.5
    assert row["ingredients"][0]["source"]  # every factor is cited


def test_medication_reference_to_a_medication_in_the_bundle(http: TestClient) -> None:
    medication = {
        "resourceType": "Medication",
        "id": "med-1",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": OXYCODONE_MR_40.code}]},
    }
    order = {k: v for k, v in OXY.items() if k != "medicationCodeableConcept"}
    order["medicationReference"] = {"reference": "Medication/med-1"}
    assert ome(http, bundle(order, medication))["total_ome_mg_per_day"] == 120.0


def test_medication_reference_to_a_contained_medication(http: TestClient) -> None:
    order = {k: v for k, v in OXY.items() if k != "medicationCodeableConcept"}
    order["contained"] = [
        {"resourceType": "Medication", "id": "m", "code": {"text": OXYCODONE_MR_40.name}}
    ]
    order["medicationReference"] = {"reference": "#m"}
    assert ome(http, order)["total_ome_mg_per_day"] == 120.0


# ------------------------------------------------------------------------------ profile


def test_profile_as_a_query_parameter(http: TestClient) -> None:
    assert ome(http, [TRAMADOL])["total_ome_mg_per_day"] == 40.0
    us = ome(http, [TRAMADOL], profile="us-cdc-2022")
    assert (us["profile"], us["total_ome_mg_per_day"]) == ("us-cdc-2022", 80.0)


def test_profile_in_the_wrapper(http: TestClient) -> None:
    report = ome(http, {"medications": [TRAMADOL], "profile": "us-cdc-2022"})
    assert (report["profile"], report["total_ome_mg_per_day"]) == ("us-cdc-2022", 80.0)


def test_the_query_parameter_wins_over_the_wrapper(http: TestClient) -> None:
    body = {"medications": [TRAMADOL], "profile": "us-cdc-2022"}
    assert ome(http, body, profile="uk-opioids-aware")["total_ome_mg_per_day"] == 40.0


def test_an_unknown_profile_is_refused_by_name(http: TestClient) -> None:
    assert "unknown profile" in refused(http, [MST], profile="nhs-2031")
    assert "unknown profile" in refused(http, {"medications": [MST], "profile": "nhs-2031"})


# ----------------------------------------------------------------------- bad requests


def test_a_body_that_is_not_json_is_refused(http: TestClient) -> None:
    assert "not valid JSON" in refused(http, content=b'{"resourceType": "Bundle",')


@pytest.mark.parametrize("body", ["hello", 42, True])
def test_a_body_that_is_not_an_object_or_list_is_refused(http: TestClient, body: Any) -> None:
    refused(http, body)


def test_a_field_of_the_wrong_type_is_refused_with_its_path(http: TestClient) -> None:
    bad = dict(MST, status=5)
    assert "medications[1].status" in refused(http, [OXY, bad])


def test_a_resource_without_resource_type_is_refused(http: TestClient) -> None:
    assert "no resourceType" in refused(http, [{"status": "active"}])


def test_a_bundle_with_no_medication_resources_is_refused(http: TestClient) -> None:
    patient_only = bundle({"resourceType": "Patient", "id": "p"})
    assert "no MedicationRequest or MedicationStatement" in refused(http, patient_only)


def test_a_wrapper_without_medications_is_refused_not_read_as_none(http: TestClient) -> None:
    assert "no medications given" in refused(http, {"medication": [MST]})  # typo in the key
    assert "no medications given" in refused(http, {"profile": "us-cdc-2022"})


def test_an_operation_outcome_beside_medicines_is_reported_not_checked(http: TestClient) -> None:
    """The client could not get everything: the report counts what came and says that the
    total may be understated, rather than refusing or reading the error as "no medicine"."""
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error"}]}
    report = ome(http, bundle(MST, outcome))
    assert report["total_ome_mg_per_day"] == 60.0
    assert report["complete"] is False
    assert report["not_checked"] == [
        "medications.entry[1].resource is an OperationOutcome: some data may be missing"
    ]


def test_an_input_that_is_only_an_operation_outcome_is_refused(http: TestClient) -> None:
    outcome = {"resourceType": "OperationOutcome", "issue": [{"severity": "error"}]}
    assert "only an OperationOutcome" in refused(http, bundle(outcome))


def test_an_explicitly_empty_list_or_bundle_is_no_medicines(http: TestClient) -> None:
    for body in ([], {"medications": []}, bundle(bundle_type="searchset")):
        report = ome(http, body)
        assert (report["total_ome_mg_per_day"], report["complete"], report["medications"]) == (
            0.0,
            True,
            [],
        )


# --------------------------------------------------------------------- response fields


def test_unresolved_and_excluded_rows(http: TestClient) -> None:
    body = [
        MST,
        request(MORPHINE_MR_30, text="as directed", id="unknown-dose"),
        request(Med("Amoxicillin 500mg capsules"), text="1 three times a day", id="amox"),
        statement(OXYCODONE_MR_40, text="1 twice a day", id="ended", end="2026-01-31"),
        request(MORPHINE_MR_30, text="1 twice a day", id="stopped", status="stopped"),
    ]
    report = ome(http, body)
    assert report["total_ome_mg_per_day"] == 60.0
    assert (report["complete"], report["unresolved_count"]) == (False, 1)
    rows = {m["reference"].split("/")[1]: m for m in report["medications"]}
    assert [m["reference"] for m in report["medications"]] == [
        f"{r['resourceType']}/{r['id']}" for r in body
    ]  # in the order sent
    assert rows["mst"]["status"] == "calculated"
    unknown = rows["unknown-dose"]
    assert (unknown["status"], unknown["ome_mg_per_day"], unknown["counted"]) == (
        "unresolved",
        None,
        False,
    )
    assert "'as directed' gives no dose" in unknown["reason"]
    assert "OME not calculated" in unknown["explanation"]
    assert rows["amox"]["status"] == "not_opioid"
    for key, why in (("ended", "ended 2026-01-31"), ("stopped", "status stopped")):
        assert rows[key]["status"] == "excluded"
        assert rows[key]["ome_mg_per_day"] is None
        assert rows[key]["reason"] == why
        assert "not_current" in rows[key]["flags"]


def test_as_needed_rows_say_they_are_counted_at_the_maximum(http: TestClient) -> None:
    prn = request(
        CO_CODAMOL_30_500,
        text="one or two every 4-6 hours when required, max 8 in 24 hours",
        id="prn",
    )
    (row,) = ome(http, prn)["medications"]
    assert row["ome_mg_per_day"] == 24.0
    assert row["flags"] == ["as_needed_maximum"]
    assert row["daily_dose"]["as_needed"] is True
    assert "(maximum possible)" in row["explanation"]


def test_one_medicine_recorded_twice_is_counted_once(http: TestClient) -> None:
    plan = request(MORPHINE_MR_30, text="1 twice a day", id="plan", intent="plan")
    issue = request(
        MORPHINE_MR_30, text="1 twice a day", id="issue", based_on=["MedicationRequest/plan"]
    )
    report = ome(http, [plan, issue])
    assert report["total_ome_mg_per_day"] == 60.0
    duplicate = report["medications"][1]
    assert (duplicate["status"], duplicate["counted"]) == ("excluded", False)
    assert "counted_once" in duplicate["flags"]


# ------------------------------------------------------------------------ command line


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_line_prints_the_same_report(
    http: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = bundle(
        MST, OXY, PATCH, statement(OXYCODONE_MR_40, text="1 daily", id="old", end="2026-02-01")
    )
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(body), "utf-8")
    code, out, err = run_cli(["ome", str(path), "--date", TODAY], capsys)
    assert (code, err) == (0, "")
    printed = json.loads(out)
    over_http = ome(http, body)
    assert printed["total_ome_mg_per_day"] == over_http["total_ome_mg_per_day"] == 240.0
    assert printed == over_http


def test_the_command_line_takes_a_profile_and_a_wrapper(
    http: TestClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "tramadol.json"
    path.write_text(json.dumps([TRAMADOL]), "utf-8")
    code, out, _ = run_cli(["ome", str(path), "--profile", "us-cdc-2022", "--date", TODAY], capsys)
    assert (code, json.loads(out)["total_ome_mg_per_day"]) == (0, 80.0)
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"medications": [TRAMADOL], "profile": "us-cdc-2022"}), "utf-8")
    code, out, _ = run_cli(["ome", str(wrapped), "--date", TODAY], capsys)
    assert (code, json.loads(out)["total_ome_mg_per_day"]) == (0, 80.0)


def test_the_command_line_reads_stdin(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(OXY)))
    code, out, _ = run_cli(["ome", "-", "--date", TODAY], capsys)
    assert (code, json.loads(out)["total_ome_mg_per_day"]) == (0, 120.0)


def test_the_date_decides_what_is_current_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "statement.json"
    path.write_text(json.dumps(statement(OXYCODONE_MR_40, text="1 twice a day", end="2026-06-30")))
    _, before, _ = run_cli(["ome", str(path), "--date", "2026-06-30"], capsys)
    _, after, _ = run_cli(["ome", str(path), "--date", "2026-07-01"], capsys)
    assert json.loads(before)["total_ome_mg_per_day"] == 120.0
    assert json.loads(after)["total_ome_mg_per_day"] == 0.0


def test_the_command_line_reports_bad_input_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"resourceType": ', "utf-8")
    code, out, err = run_cli(["ome", str(path), "--date", TODAY], capsys)
    assert (code, out) == (2, "")
    assert "is not valid JSON" in err
    path.write_text(json.dumps([MST]), "utf-8")
    code, out, err = run_cli(["ome", str(path), "--profile", "nhs-2031"], capsys)
    assert (code, out) == (2, "")
    assert "unknown profile" in err


# -- as_of (issue 15): the date that decides what is current, so Find can be compared ----
ENDING = statement(MORPHINE_MR_30, text="1 twice a day", id="ending", end="2026-06-30")


def test_as_of_before_a_statement_ends_counts_it(http: TestClient) -> None:
    assert ome(http, bundle(ENDING), as_of="2026-06-30")["total_ome_mg_per_day"] == 60


def test_as_of_after_a_statement_ends_leaves_it_out(http: TestClient) -> None:
    assert ome(http, bundle(ENDING), as_of="2026-07-01")["total_ome_mg_per_day"] == 0
    assert ome(http, bundle(ENDING))["total_ome_mg_per_day"] == 0  # default: today (NOW)


def test_as_of_that_is_not_a_date_is_refused_naming_it(http: TestClient) -> None:
    message = refused(http, bundle(ENDING), as_of="yesterday-ish")
    assert "as_of" in message and "yesterday-ish" not in message
