"""Hostile input (issue 12 item 2): each class of input that used to get a 500 now gets a 4xx
naming the field, without repeating the value, or a 200 with the medicine unresolved; no
response carries a non-finite number."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.vignettes import MORPHINE_BD, hook_body
from tests.unit.ome.fhir_builders import MORPHINE_MR_60

DOSE = ["dosageInstruction", 0, "doseAndRate", 0, "doseQuantity", "value"]
FREQ = ["dosageInstruction", 0, "timing", "repeat", "frequency"]
PERIOD = ["dosageInstruction", 0, "timing", "repeat", "period"]
HUGE = {
    "1e308": "1e308",
    "10^30": "1" + "0" * 30,
    "400-digit-integer": "9" * 400,
    "Infinity": "Infinity",
    "NaN": "NaN",
    "1e-308": "1e-308",
}


def finite_json(text: str) -> Any:
    """The body, refusing NaN/Infinity (which Python's json would otherwise read)."""

    def refuse(constant: str) -> None:
        raise AssertionError(f"non-finite number {constant} in a response")

    return json.loads(text, parse_constant=refuse)


def _with(resource: dict[str, Any], path: list[Any], literal: str) -> dict[str, Any]:
    value = copy.deepcopy(resource)
    node = value
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = "__NUMBER__"
    return value


def post_raw(http: TestClient, url: str, value: Any, literal: str) -> Any:
    content = json.dumps(value).replace('"__NUMBER__"', literal)
    return http.post(url, content=content, headers={"content-type": "application/json"})


def answered_without_echo(response: Any, literal: str, location_end: str | None) -> Any:
    assert response.status_code < 500, response.text
    body = finite_json(response.text)
    if response.status_code >= 400:
        issue = body["issue"][0]
        if literal not in ("NaN", "Infinity"):  # words the message itself uses
            assert literal not in issue["diagnostics"]
        if location_end is not None:
            assert issue["expression"][0].endswith(location_end), issue
    return body


@pytest.mark.parametrize("field", ["dose", "frequency", "period"])
@pytest.mark.parametrize("name", list(HUGE))
def test_huge_or_non_finite_numbers_in_a_dosage_never_500(
    fixed_client: TestClient, field: str, name: str
) -> None:
    path = {"dose": DOSE, "frequency": FREQ, "period": PERIOD}[field]
    literal = HUGE[name]
    body = {"medications": _with(MORPHINE_BD, path, literal)}
    response = post_raw(fixed_client, "/ome", body, literal)
    ending = ".".join(str(p) for p in path[-2:])
    report = answered_without_echo(
        response, literal, ending if response.status_code == 400 else None
    )
    if response.status_code == 200:
        (row,) = report["medications"]
        assert row["status"] == "unresolved" or row["ome_mg_per_day"] is not None


@pytest.mark.parametrize("name", ["400-digit-integer", "1e308", "NaN"])
def test_huge_numbers_in_a_service_calls_prefetch_never_500(
    fixed_client: TestClient, name: str
) -> None:
    literal = HUGE[name]
    body = hook_body(history=[_with(MORPHINE_BD, DOSE, literal)])
    response = post_raw(fixed_client, "/cds-services/opioid-safety-sign", body, literal)
    answered_without_echo(response, literal, "doseQuantity.value")


def test_a_400_digit_strength_in_free_text_is_unresolved(fixed_client: TestClient) -> None:
    digits = "9" * 400
    resource = copy.deepcopy(MORPHINE_BD)
    resource["medicationCodeableConcept"] = {"text": f"Morphine sulfate {digits}mg tablets"}
    resource["dosageInstruction"] = [{"text": f"take {digits} tablets {digits} times a day"}]
    response = fixed_client.post("/ome", json={"medications": resource})
    report = answered_without_echo(response, digits, None)
    assert response.status_code == 200
    assert report["medications"][0]["status"] == "unresolved"
    assert report["complete"] is False


PLAN = f"/taper/plan?item=dmd|{MORPHINE_MR_60.code}|2|unit"


@pytest.mark.parametrize(
    ("query", "location"),
    [
        ("start=9999-12-31", "start"),
        ("start=0001-01-01", "start"),
        ("reduction_percent=1e-300", "pace.reduction_percent"),
        ("reduction_percent=0.0001&interval_days=365", "pace.reduction_percent"),
        ("interval_days=366", "interval_days"),
        ("reduction_percent=1e400", "reduction_percent"),
    ],
)
def test_taper_plan_far_dates_and_slow_paces_are_400_naming_the_field(
    fixed_client: TestClient, query: str, location: str
) -> None:
    response = fixed_client.get(f"{PLAN}&{query}")
    assert response.status_code == 400, response.text
    issue = finite_json(response.text)["issue"][0]
    assert issue["expression"][0].endswith(location)
    assert query.split("=")[1].split("&")[0] not in issue["diagnostics"]


def test_a_one_year_interval_is_a_plan(fixed_client: TestClient) -> None:
    response = fixed_client.get(f"{PLAN}&interval_days=365")
    assert response.status_code == 200, response.text
    finite_json(response.text)


def test_a_token_sent_as_a_date_is_not_echoed(fixed_client: TestClient) -> None:
    token = "eyJhbGciOiJFUzM4NCJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"  # noqa: S105 - a test string
    resource = {**copy.deepcopy(MORPHINE_BD), "authoredOn": token}
    response = fixed_client.post("/ome", json={"medications": resource})
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["medications.authoredOn"]
    assert token not in response.text and "eyJ" not in response.text


def test_a_long_unknown_key_is_named_but_cut(fixed_client: TestClient) -> None:
    key = "k" * 10_000
    response = fixed_client.post("/ome", json={"medications": [], key: 1})
    assert response.status_code == 400
    assert "k" * 65 not in response.text
