"""Chart-open review (the ``patient-view`` service ``opioid-review``, issue 17), through HTTP:
information cards only, at most one prompt per patient per ``review_prompt_interval_days``
(rules/parameters.yaml, 30), remembered by the route through ``ReviewPromptMemory``.

Vignette: a woman on morphine MR 60mg twice daily (120 mg OME/day) opens her record at noon
on 22 November 2026; the period boundary is checked just inside (one second before 30 days)
and at 30 days. Fixed dates, no clock.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.api.deps import now_dependency
from service.api.review_memory import InMemoryReviewPromptMemory
from service.config import Settings
from service.main import create_app
from tests.scenarios.builder import hook_request

FIRST_OPENED = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
PERIOD = timedelta(days=30)  # rules/parameters.yaml review_prompt_interval_days

ON_120_MG = [{"product": "Morphine 60mg modified-release tablets", "sig": "one twice a day"}]
ON_60_MG = [{"product": "Morphine 30mg modified-release tablets", "sig": "one twice a day"}]


class Clock:
    def __init__(self, database_url: str) -> None:
        self.now = FIRST_OPENED
        #: Each test's own database: the memory is durable (storage), so tests must not share.
        self.database_url = database_url


@pytest.fixture
def clock(tmp_path: Path) -> Clock:
    return Clock(f"sqlite:///{tmp_path / 'review.db'}")


def _client(clock: Clock, settings: Settings | None = None) -> Iterator[TestClient]:
    settings = settings or Settings()
    app = create_app(settings.model_copy(update={"database_url": clock.database_url}))
    app.dependency_overrides[now_dependency] = lambda: clock.now
    with TestClient(app) as client:
        yield client


@pytest.fixture
def client(clock: Clock) -> Iterator[TestClient]:
    yield from _client(clock)


def _open_record(
    client: TestClient, current: list[dict[str, Any]] = ON_120_MG, patient: str = "p1"
) -> list[dict[str, Any]]:
    pipeline = client.app.state.pipeline  # type: ignore[attr-defined]
    scenario = {"name": f"chart open {patient}", "hook": "patient-view", "sex": "female"}
    service, body = hook_request({**scenario, "current": current}, pipeline.dictionary)
    # The same record under another patient id (its resources' subjects too).
    body = json.loads(json.dumps(body).replace("scenario-patient", patient))
    assert service == "opioid-review"
    response = client.post(f"/cds-services/{service}", json=body)
    assert response.status_code == 200, response.text
    cards: list[dict[str, Any]] = response.json()["cards"]
    return cards


def test_first_opening_gets_one_information_prompt(client: TestClient) -> None:
    cards = _open_record(client)
    assert [c["indicator"] for c in cards] == ["info"]
    assert cards[0]["summary"].startswith("Review: current opioids total 120 mg OME/day")


def test_opening_again_just_inside_the_period_is_silent(client: TestClient, clock: Clock) -> None:
    assert _open_record(client)
    clock.now = FIRST_OPENED + PERIOD - timedelta(seconds=1)
    assert _open_record(client) == []


def test_opening_again_at_the_end_of_the_period_prompts_again(
    client: TestClient, clock: Clock
) -> None:
    assert _open_record(client)
    clock.now = FIRST_OPENED + PERIOD
    assert _open_record(client)
    # ... and the new prompt starts a new period.
    clock.now = FIRST_OPENED + PERIOD + timedelta(days=1)
    assert _open_record(client) == []


def test_another_patient_within_the_period_is_prompted(client: TestClient) -> None:
    assert _open_record(client, patient="p1")
    assert _open_record(client, patient="p2")


def test_a_silent_opening_does_not_start_a_period(client: TestClient, clock: Clock) -> None:
    """60 mg OME/day: nothing to review, nothing remembered; at 120 the next day, a prompt."""
    assert _open_record(client, ON_60_MG) == []
    clock.now = FIRST_OPENED + timedelta(days=1)
    assert _open_record(client, ON_120_MG)


def test_the_period_is_a_parameter(clock: Clock) -> None:
    settings = Settings(parameter_overrides={"review_prompt_interval_days": 7})
    for client in _client(clock, settings):
        assert _open_record(client)
        clock.now = FIRST_OPENED + timedelta(days=7) - timedelta(seconds=1)
        assert _open_record(client) == []
        clock.now = FIRST_OPENED + timedelta(days=7)
        assert _open_record(client)


def test_under_the_cdc_profile_prompts_stay_information(clock: Clock) -> None:
    """The CDC's own patient-view cards are warnings; a review prompt here never is."""
    on_codeine_and_diazepam = [
        {"product": "Codeine 30mg tablets", "sig": "one four times a day"},
        {"product": "Diazepam 2mg tablets", "sig": "one three times a day"},
    ]
    for client in _client(clock, Settings(ome_profile="us-cdc-2022")):
        cards = _open_record(client, on_codeine_and_diazepam)
        assert cards and {c["indicator"] for c in cards} == {"info"}


# --- The memory seam ----------------------------------------------------------------------------


def test_the_in_memory_store_is_bounded_forgetting_the_oldest() -> None:
    memory = InMemoryReviewPromptMemory(max_patients=2)
    for i, key in enumerate(("a", "b", "c")):
        memory.shown(key, FIRST_OPENED + timedelta(minutes=i))
    assert memory.last_shown("a") is None
    assert memory.last_shown("c") == FIRST_OPENED + timedelta(minutes=2)


def test_the_prompt_is_remembered_across_a_restart_and_by_another_worker(clock: Clock) -> None:
    """The memory is the database's (patient_memory), not the process's: a second app on the
    same database, as another worker or after a restart, stays silent inside the period."""
    for first in _client(clock):
        assert _open_record(first)
    clock.now = FIRST_OPENED + PERIOD - timedelta(seconds=1)
    for second in _client(clock):
        assert _open_record(second) == []
