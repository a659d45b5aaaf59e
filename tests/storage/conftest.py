"""Storage fixtures: every storage test runs on SQLite, and on PostgreSQL too when
``OPIOID_CDS_TEST_DATABASE_URL`` is set (``.ci/run`` sets it for the machine's server).
Each PostgreSQL test gets its own schema, created and dropped, so runs never collide."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from service.api.deps import now_dependency
from service.config import Settings
from service.main import create_app
from service.pipeline import Pipeline
from service.storage.store import Storage
from tests.conftest import NOW
from tests.scenarios.builder import hook_request

POSTGRES = os.environ.get("OPIOID_CDS_TEST_DATABASE_URL")
BACKENDS = ["sqlite", *(["postgresql"] if POSTGRES else [])]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'var' / 'opioid-cds.db'}"
        return
    assert POSTGRES is not None
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(POSTGRES)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES else "?"
    try:
        yield f"{POSTGRES}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, spool_path=tmp_path / "spool.jsonl")


class Clock:
    """The app's "now", moved by the test (no test reads the real clock)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


#: Pipelines by the settings they read: storage tests start many apps that differ only in
#: storage settings, and building the indexes is the slow part of start-up.
_PIPELINES: dict[str, Pipeline] = {}
_STORAGE_SETTINGS = {"database_url", "spool_path", "pseudonym_key", "retention_days"}


def _cached_pipeline(settings: Settings) -> Pipeline:
    key = settings.model_dump_json(exclude=_STORAGE_SETTINGS)
    if key not in _PIPELINES:
        _PIPELINES[key] = Pipeline(settings)
    return _PIPELINES[key]


@pytest.fixture
def make_client(
    settings: Settings, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[..., TestClient]]:
    """Start an app (as a worker would) on the test's database; several may run at once."""
    monkeypatch.setattr("service.main.Pipeline", _cached_pipeline)
    clients: list[TestClient] = []

    def start(**changes: Any) -> TestClient:
        app = create_app(settings.model_copy(update=changes))
        app.dependency_overrides[now_dependency] = clock
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


def storage_of(client: TestClient) -> Storage:
    storage: Storage = client.app.state.storage  # type: ignore[attr-defined]
    return storage


def scenario_call(
    client: TestClient,
    scenario: dict[str, Any],
    patient: str | None = None,
    instance: str | None = None,
) -> dict[str, Any]:
    """POST a scenario (tests/scenarios/builder.py) and return the response body;
    ``instance`` names the call (its hookInstance is derived from the name)."""
    service, body = hook_request(scenario, client.app.state.pipeline.dictionary)  # type: ignore[attr-defined]
    if instance is not None:
        body["hookInstance"] = str(uuid.uuid5(uuid.NAMESPACE_URL, instance))
    if patient is not None:  # the same vignette for another patient: every reference too
        body = json.loads(json.dumps(body).replace('"scenario-patient"', json.dumps(patient)))
        body = json.loads(
            json.dumps(body).replace("Patient/scenario-patient", f"Patient/{patient}")
        )
    response = client.post(f"/cds-services/{service}", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def override(
    client: TestClient,
    card: dict[str, Any],
    code: str,
    system: str = "https://opioid-cds.example.org/CodeSystem/override-reason",
) -> None:
    item = {
        "card": card["uuid"],
        "outcome": "overridden",
        "overrideReason": {"reason": {"system": system, "code": code}},
        "outcomeTimestamp": "2026-11-22T12:00:00Z",
    }
    response = client.post("/cds-services/opioid-safety-sign/feedback", json={"feedback": [item]})
    assert response.status_code == 200, response.text


def findings_of(response: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each rule on the answer's cards: its finding entry and the card it is on."""
    out = {}
    for card in response["cards"]:
        for f in card["extension"]["org.example.opioid-cds.findings"]:
            out[f["rule"]] = {**f, "card": card}
    return out


#: A named vignette: on morphine MR 30 mg twice daily (60 mg OME/day), prescribed oxycodone
#: MR 20 mg twice daily: 120 mg OME/day, at the high-dose threshold.
HIGH_DOSE = {
    "name": "man on morphine MR 30mg bd prescribed oxycodone MR 20mg bd (120 mg OME/day)",
    "hook": "order-sign",
    "current": [{"product": "Morphine 30mg modified-release tablets", "sig": "one twice a day"}],
    "proposed": [{"product": "Oxycodone 20mg modified-release tablets", "sig": "one twice a day"}],
}
