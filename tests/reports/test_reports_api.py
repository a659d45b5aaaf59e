"""Reports API (issue 13 item 5): a scripted series of hook calls and feedback, stored
through ``service.storage``, gives exactly the expected numbers — on SQLite, and on
PostgreSQL when ``OPIOID_CDS_TEST_DATABASE_URL`` is set."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.config import Settings
from service.main import create_app
from tests.reports import script as data
from tests.storage.conftest import storage_of

QUERY = {"since": data.SINCE.isoformat(), "until": data.UNTIL.isoformat()}


@pytest.fixture
def seeded(make_client: Callable[..., TestClient]) -> TestClient:
    """The app on a fresh database holding the scripted series (its clock at NOW)."""
    client = make_client()
    storage = storage_of(client)
    data.script(storage)
    assert storage.failures == 0
    return client


def _rule_ids(client: TestClient) -> list[str]:
    pipeline = client.app.state.pipeline  # type: ignore[attr-defined]
    return [r.id for r in pipeline.rules]


def test_rules_report_counts_exactly_what_the_script_did(seeded: TestClient) -> None:
    response = seeded.get("/reports/rules", params=QUERY)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"rules": data.expected_rules(_rule_ids(seeded))}


def test_rules_report_since_is_inclusive_and_until_defaults_to_today(seeded: TestClient) -> None:
    # NOW is 2026-11-22: the calls of 23 November on are not yet in.
    rules = {
        r["rule"]: r
        for r in seeded.get("/reports/rules", params={"since": "2026-10-01"}).json()["rules"]
    }
    assert rules["high-dose-risk-assessment"]["fired"] == 1  # 1 October 10:00 is in
    assert rules["escalation"]["fired"] == 1 and rules["reauthorisation-taper"]["fired"] == 0
    later = seeded.get("/reports/rules", params={"since": "2026-10-02"}).json()["rules"]
    assert {r["rule"]: r["fired"] for r in later}["high-dose-risk-assessment"] == 0


def test_rules_report_as_csv(seeded: TestClient) -> None:
    response = seeded.get("/reports/rules", params=QUERY, headers={"Accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["rule"] for r in rows] == sorted(_rule_ids(seeded))
    high = next(r for r in rows if r["rule"] == "high-dose-risk-assessment")
    assert (high["fired"], high["snoozed"], high["accepted"], high["overridden"]) == (
        "1",
        "1",
        "1",
        "1",
    )
    assert high["override_reason:risk-assessment-done"] == "1"
    assert high["override_reason:palliative-care"] == "0"  # every known code has a column
    taper = next(r for r in rows if r["rule"] == "reauthorisation-taper")
    assert taper["override_reason:made-up"] == "1"  # and a code the cards never offered


@pytest.mark.parametrize(
    ("accept", "csv_wanted"),
    [
        ("text/csv", True),
        ("text/csv;q=0.9, application/json;q=0.5", True),
        ("application/json, text/csv;q=0.5", False),
        ("*/*", False),
        ("text/csv;q=oops", False),
    ],
)
def test_csv_when_the_accept_header_prefers_it(
    client: TestClient, accept: str, csv_wanted: bool
) -> None:
    response = client.get("/reports/rules", params=QUERY, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv") is csv_wanted


def test_organisations_report_by_8_week_period(seeded: TestClient) -> None:
    response = seeded.get("/reports/organisations", params=QUERY)
    assert response.status_code == 200, response.text
    assert response.json() == data.EXPECTED_ORGANISATIONS


def test_organisations_report_as_csv(seeded: TestClient) -> None:
    text = seeded.get("/reports/organisations", params=QUERY, headers={"Accept": "text/csv"}).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 5
    assert rows[-1]["organisation"] == ""  # calls that identified none
    assert rows[0]["patients_high_dose"] == "1" and rows[0]["threshold_mg_per_day"] == "120.0"


def test_rules_over_time_splits_the_same_counts_by_period(seeded: TestClient) -> None:
    body = seeded.get("/reports/rules/periods", params=QUERY).json()
    assert [(p["start"], p["end"]) for p in body["periods"]] == [
        ("2026-09-28", "2026-11-22"),
        ("2026-11-23", "2026-11-30"),
    ]
    fired = [{r["rule"]: r["fired"] for r in p["rules"]} for p in body["periods"]]
    assert fired[0]["escalation"] == 1 and fired[1]["escalation"] == 1
    assert fired[1]["reauthorisation-taper"] == 1


def test_ome_distribution_of_flagged_patients(seeded: TestClient) -> None:
    body = seeded.get("/reports/ome-distribution", params=QUERY).json()
    assert body["patients_flagged"] == 4
    assert body["patients_total_unknown"] == 1
    assert {b["from_mg"]: b["patients"] for b in body["bins"] if b["patients"]} == (
        data.expected_ome_bins()
    )
    assert body["bins"][-1] == {"from_mg": 300.0, "to_mg": None, "patients": 0}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "2026-13-01"}, "query.since"),
        ({}, "query.since"),
        ({"since": "2026-11-01", "until": "2026-10-01"}, "until"),
        ({"since": "1900-01-01"}, "since"),
    ],
)
def test_bad_dates_are_a_400_naming_the_field(
    client: TestClient, params: dict[str, str], field: str
) -> None:
    response = client.get("/reports/rules", params=params)
    assert response.status_code == 400
    issue = response.json()["issue"][0]
    assert issue["expression"] == [field]
    assert "13" not in issue["diagnostics"]  # the value is never echoed


def test_reports_need_the_admin_token_when_it_is_set(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(admin_token=SecretStr("s3cret-admin-token"))
    for path in ("/reports/rules", "/dashboard"):
        refused = client.get(path, params={"since": "2026-01-01"})
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"] == "Bearer"
        assert "s3cret" not in refused.text
        wrong = client.get(
            path, params={"since": "2026-01-01"}, headers={"Authorization": "Bearer nope"}
        )
        assert wrong.status_code == 401
        ok = client.get(
            path,
            params={"since": "2026-01-01"},
            headers={"Authorization": "Bearer s3cret-admin-token"},
        )
        assert ok.status_code == 200, ok.text


def test_reports_are_closed_with_auth_on_and_no_admin_token(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client(auth="jwt")
    assert client.get("/reports/rules", params={"since": "2026-01-01"}).status_code == 401


def test_every_documented_query_example_succeeds(seeded: TestClient) -> None:
    document = seeded.get("/openapi.json").json()
    tried = 0
    for path, operations in document["paths"].items():
        if not path.startswith("/reports"):
            continue
        params = operations["get"]["parameters"]
        query = {
            p["name"]: next(iter(p["examples"].values()))["value"]
            for p in params
            if "examples" in p
        }
        for accept in ("application/json", "text/csv"):
            response = seeded.get(path, params=query, headers={"Accept": accept})
            assert response.status_code == 200, (path, response.text)
            tried += 1
    assert tried == 8


def test_a_database_that_cannot_be_read_is_a_503(tmp_path: Path) -> None:
    # Nothing listens on port 1 of loopback: the connection is refused at once.
    settings = Settings(
        database_url="postgresql+psycopg://reports@127.0.0.1:1/nowhere",
        spool_path=tmp_path / "spool.jsonl",
    )
    with TestClient(create_app(settings)) as client:
        response = client.get("/reports/rules", params={"since": "2026-01-01"})
    assert response.status_code == 503
    assert "127.0.0.1" not in response.text and "nowhere" not in response.text


@pytest.mark.parametrize("query", ["until=0001-01-01", "since=0001-01-01", "since=9999-12-31"])
def test_far_dates_are_a_400_naming_the_field_not_a_500(query: str, tmp_path: Path) -> None:
    """schemathesis found /dashboard?until=0001-01-01 overflowing the date arithmetic."""
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'far.db'}")
    with TestClient(create_app(settings)) as client:
        for path in ("/dashboard", "/reports/rules"):
            full = f"{path}?{query}" if "since" in query else f"{path}?since=2026-01-01&{query}"
            response = client.get(full)
            assert response.status_code == 400, (path, response.text)
            assert response.json()["issue"][0]["expression"] == [query.split("=")[0]]
