"""Numbers that are not doses (issue 9 item 7), through HTTP, as named pairs:
- a non-finite number (NaN, Infinity, 1e309) or a negative dose, frequency or period is a
  400 naming the field;
- a finite but absurd dosage (a dose every second, a frequency of a billion, a daily amount
  above ``implausible_total_mg_per_day``) makes the medicine unresolved with the reason;
- a total of plausible medicines above that ceiling is flagged ("implausible: check the
  record") and never reported or carded as a figure.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.integration.vignettes import MORPHINE_BD, hook_body, ome, refused, structured
from tests.unit.ome.fhir_builders import MORPHINE_MR_30, MORPHINE_MR_60, OXYCODONE_MR_40, mg


@pytest.fixture(scope="module")
def http(fixed_client: TestClient) -> TestClient:
    return fixed_client


# ----------------------------------------------------------- (a) non-finite and negative
DOSE = "medications.dosageInstruction[0].doseAndRate[0].doseQuantity.value"
REPEAT = "medications.dosageInstruction[0].timing.repeat"


def _raw(resource: dict[str, Any], path: list[Any], literal: str) -> str:
    """The resource as JSON text with the value at ``path`` replaced by ``literal``."""
    marker = "__NUMBER__"
    value = copy.deepcopy(resource)
    node = value
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = marker
    return json.dumps({"medications": value}).replace(f'"{marker}"', literal)


DOSE_PATH = ["dosageInstruction", 0, "doseAndRate", 0, "doseQuantity", "value"]
FREQ_PATH = ["dosageInstruction", 0, "timing", "repeat", "frequency"]
PERIOD_PATH = ["dosageInstruction", 0, "timing", "repeat", "period"]


@pytest.mark.parametrize(
    ("path", "literal", "location"),
    [
        pytest.param(DOSE_PATH, "NaN", DOSE, id="dose-NaN"),
        pytest.param(DOSE_PATH, "Infinity", DOSE, id="dose-Infinity"),
        pytest.param(DOSE_PATH, "-Infinity", DOSE, id="dose-minus-Infinity"),
        pytest.param(DOSE_PATH, "1e309", DOSE, id="dose-1e309-overflows-to-infinity"),
        pytest.param(DOSE_PATH, '"NaN"', DOSE, id="dose-string-NaN"),
        pytest.param(DOSE_PATH, '"inf"', DOSE, id="dose-string-inf"),
        pytest.param(FREQ_PATH, "NaN", f"{REPEAT}.frequency", id="frequency-NaN"),
        pytest.param(PERIOD_PATH, "Infinity", f"{REPEAT}.period", id="period-Infinity"),
        pytest.param(DOSE_PATH, "-10", DOSE, id="dose-negative"),
        pytest.param(FREQ_PATH, "-2", f"{REPEAT}.frequency", id="frequency-negative"),
        pytest.param(PERIOD_PATH, "-1", f"{REPEAT}.period", id="period-negative"),
    ],
)
def test_non_finite_or_negative_numbers_are_400_naming_the_field(
    http: TestClient, path: list[Any], literal: str, location: str
) -> None:
    issue = refused(http, _raw(MORPHINE_BD, path, literal))
    assert issue["expression"] == [location]
    assert "number" in issue["diagnostics"]


@pytest.mark.parametrize(
    ("path", "literal"),
    [
        pytest.param(DOSE_PATH, "1", id="dose-1-accepted"),
        pytest.param(DOSE_PATH, '"1"', id="dose-as-string-accepted"),
        pytest.param(DOSE_PATH, "0", id="dose-0-accepted-and-unresolved"),
        pytest.param(FREQ_PATH, "2", id="frequency-2-accepted"),
    ],
)
def test_finite_non_negative_numbers_are_accepted(
    http: TestClient, path: list[Any], literal: str
) -> None:
    response = http.post(
        "/ome",
        content=_raw(MORPHINE_BD, path, literal),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200, response.text


def test_non_finite_numbers_in_a_hook_prefetch_are_400_too(http: TestClient) -> None:
    body = hook_body(history=[MORPHINE_BD])
    text = json.dumps(body).replace('"frequency": 2', '"frequency": NaN', 1)
    issue = refused(http, text, "/cds-services/opioid-safety-sign")
    assert issue["expression"][0].endswith("timing.repeat.frequency")


# -------------------------------------------------------------- (b) finite but absurd
@pytest.mark.parametrize(
    ("dose", "reason"),
    [
        pytest.param(
            {"dose": mg(10), "frequency": 1, "period": 1, "period_unit": "s"},
            "implausible: 86400 doses a day",
            id="a-dose-every-second",
        ),
        pytest.param(
            {"dose": mg(10), "frequency": 1e9, "period": 1, "period_unit": "d"},
            "implausible: 1000000000 doses a day",
            id="a-frequency-of-a-billion",
        ),
        pytest.param(
            {"dose": mg(10), "frequency": 1, "period": 29, "period_unit": "min"},
            "doses a day is more than the plausible 48",
            id="every-29-minutes-just-above-the-ceiling",
        ),
        pytest.param(
            {"dose": mg(1e308), "frequency": 2, "period": 1, "period_unit": "d"},
            "implausible: the daily amount is too large to be a dose",
            id="1e308-mg-twice-a-day-overflows",
        ),
        pytest.param(
            {"dose": mg(5001), "frequency": 2, "period": 1, "period_unit": "d"},
            "implausible: a daily amount of 10002 mg OME/day is above the plausibility "
            "ceiling of 10000 mg OME/day; check the record",
            id="one-medicine-above-the-total-ceiling",
        ),
    ],
)
def test_absurd_dosages_are_unresolved_with_the_reason(
    http: TestClient, dose: dict[str, Any], reason: str
) -> None:
    report = ome(http, structured(MORPHINE_MR_30, "absurd", **dose))
    (row,) = report["medications"]
    assert row["status"] == "unresolved"
    assert row["ome_mg_per_day"] is None
    assert reason in row["reason"]
    assert "implausible" in row["flags"]
    assert report["total_ome_mg_per_day"] == 0
    assert report["complete"] is False
    assert report["implausible"] is True
    assert report["implausible_message"].startswith("implausible: check the record")


@pytest.mark.parametrize(
    ("dose", "expected"),
    [
        pytest.param(
            {"dose": mg(10), "frequency": 1, "period": 30, "period_unit": "min"},
            480.0,
            id="every-30-minutes-at-the-ceiling-is-a-dose",
        ),
        pytest.param(
            {"dose": mg(10), "frequency": 1, "period": 1, "period_unit": "h"},
            240.0,
            id="hourly-breakthrough-is-a-dose",
        ),
        pytest.param(
            {"dose": mg(5000), "frequency": 2, "period": 1, "period_unit": "d"},
            10000.0,
            id="exactly-the-ceiling-is-a-dose",
        ),
    ],
)
def test_plausible_dosages_near_the_ceilings_are_calculated(
    http: TestClient, dose: dict[str, Any], expected: float
) -> None:
    report = ome(http, structured(MORPHINE_MR_30, "plausible", **dose))
    assert report["total_ome_mg_per_day"] == expected
    assert report["implausible"] is False
    assert report["implausible_message"] is None


# ----------------------------------------------------- (c) a total above the ceiling
def _pair(second_mg: float) -> list[dict[str, Any]]:
    """Two different morphine products (so not one medicine recorded twice)."""
    return [
        structured(MORPHINE_MR_30, "a", dose=mg(2500), frequency=2, period=1, period_unit="d"),
        structured(MORPHINE_MR_60, "b", dose=mg(second_mg), frequency=2, period=1, period_unit="d"),
    ]


@pytest.mark.parametrize(
    ("second_mg", "implausible"),
    [
        pytest.param(2500, False, id="total-10000-at-the-ceiling-reported"),
        pytest.param(2500.5, True, id="total-10001-above-the-ceiling-flagged"),
    ],
)
def test_a_total_above_the_plausibility_ceiling_is_flagged_not_reported(
    http: TestClient, second_mg: float, implausible: bool
) -> None:
    report = ome(http, _pair(second_mg))
    assert report["implausible"] is implausible
    if not implausible:
        assert report["total_ome_mg_per_day"] == 10000.0
        assert report["complete"] is True
        return
    assert report["total_ome_mg_per_day"] == 0
    assert report["complete"] is False
    assert report["implausible_message"] == (
        "implausible: the total of 10001 mg OME/day is above the plausibility ceiling of "
        "10000 mg OME/day; check the record"
    )
    for row in report["medications"]:
        assert row["status"] == "unresolved" and row["ome_mg_per_day"] is None
        assert "implausible" in row["flags"]


OXYCODONE_3334 = structured(
    OXYCODONE_MR_40, "oxy", dose=mg(1667), frequency=2, period=1, period_unit="d"
)  # 3334 mg oxycodone x 1.5 = 5001 mg OME/day


@pytest.mark.parametrize(
    "proposal",
    [
        pytest.param(OXYCODONE_3334, id="added-oxycodone-makes-10001"),
        pytest.param(_pair(2500.5)[1], id="inferred-replacement-if-both-taken-10001"),
    ],
)
def test_a_card_never_shows_an_implausible_total_as_a_figure(
    http: TestClient, proposal: dict[str, Any]
) -> None:
    """Current 5,000 + proposed 5,001 mg OME/day: no card states 10,001 as a total; the
    unresolved-medicine card names the medicines and says to check the record."""
    current = _pair(2500)[0]
    proposal = copy.deepcopy(proposal) | {"status": "draft"}
    response = http.post(
        "/cds-services/opioid-safety-sign", json=hook_body(history=[current], draft=proposal)
    )
    assert response.status_code == 200, response.text
    cards = response.json()["cards"]
    text = json.dumps(cards).replace(",", "")
    labelled = "implausible: the total of 10001 mg OME/day is above the plausibility ceiling"
    assert labelled in text  # the figure appears only as the reason it was not counted
    assert "10001" not in text.replace(labelled, "")
    assert any("not assessed" in c["summary"] for c in cards)


# ---------------------------------------------------- /taper numbers (pydantic fields)
def _taper(extra: str) -> str:
    return json.dumps({"medications": [MORPHINE_BD]})[:-1] + ", " + extra + "}"


@pytest.mark.parametrize(
    ("extra", "location"),
    [
        pytest.param('"floor_mg_per_day": Infinity', "floor_mg_per_day", id="floor-Infinity"),
        pytest.param('"floor_mg_per_day": 1e309', "floor_mg_per_day", id="floor-1e309"),
        pytest.param('"floor_mg_per_day": NaN', "floor_mg_per_day", id="floor-NaN"),
        pytest.param('"pace": {"reduction_percent": NaN}', "pace.reduction_percent",
                     id="pace-NaN"),
    ],
)  # fmt: skip
def test_taper_refuses_non_finite_numbers_naming_the_field(
    http: TestClient, extra: str, location: str
) -> None:
    issue = refused(http, _taper(extra), "/taper")
    assert issue["expression"] == [location]


def test_taper_accepts_a_finite_floor(http: TestClient) -> None:
    response = http.post(
        "/taper",
        content=_taper('"floor_mg_per_day": 30'),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["plan"]["floor_mg_per_day"] == 30


@pytest.mark.parametrize(
    ("query", "status"),
    [pytest.param("nan", 400, id="nan-refused"), pytest.param("inf", 400, id="inf-refused"),
     pytest.param("10", 200, id="10-accepted")],
)  # fmt: skip
def test_taper_plan_link_refuses_a_non_finite_pace(
    http: TestClient, query: str, status: int
) -> None:
    response = http.get(
        "/taper/plan",
        params={"item": f"dmd|{MORPHINE_MR_30.code}|2|unit", "reduction_percent": query},
    )
    assert response.status_code == status, response.text


def test_taper_plan_link_refuses_a_non_finite_amount(http: TestClient) -> None:
    response = http.get("/taper/plan", params={"item": f"dmd|{MORPHINE_MR_30.code}|nan|unit"})
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"][0].startswith("item[0]")
