"""Storage never fails a clinical answer (issue 13 item 3): with the database down the cards
still go out, the rows wait in the spool file (fsynced), and are replayed, once each, when
the database is back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.api.deps import now_dependency
from service.config import Settings
from service.main import create_app
from service.storage import schema
from service.storage.records import FeedbackItem, to_json
from service.storage.spool import Spool
from service.storage.store import Storage
from tests.conftest import NOW
from tests.storage.conftest import HIGH_DOSE, findings_of, override, scenario_call, storage_of
from tests.storage.rows import rows


def _down_then_up(tmp_path: Path) -> tuple[Settings, Path]:
    """A SQLite database whose folder cannot be made (a file is in the way) until the test
    removes the file: the database is down, then back."""
    blocker = tmp_path / "var"
    blocker.write_text("not a folder")
    settings = Settings(
        database_url=f"sqlite:///{blocker / 'opioid-cds.db'}",
        spool_path=tmp_path / "spool" / "storage-spool.jsonl",
        database_retry_seconds=0,  # try the database again at once (no clock in tests)
    )
    return settings, blocker


def test_database_down_cards_still_go_out_and_rows_are_replayed_when_it_is_back(
    tmp_path: Path,
) -> None:
    settings, blocker = _down_then_up(tmp_path)
    app = create_app(settings)
    app.dependency_overrides[now_dependency] = lambda: NOW
    with TestClient(app) as client:
        response = scenario_call(client, HIGH_DOSE, instance="while down")
        assert response["cards"], "the clinical answer does not need the database"
        warning = next(c for c in response["cards"] if c["indicator"] == "warning")
        override(client, warning, "risk-assessment-done")
        storage = storage_of(client)
        assert storage.failures >= 2
        spooled = settings.spool_path.read_text("utf-8").splitlines()
        assert [json.loads(line)["kind"] for line in spooled] == ["hook_call", "feedback"]

        blocker.unlink()  # the database is back
        scenario_call(client, HIGH_DOSE, instance="when back")
        assert not storage.spool.pending()
        calls = rows(storage, schema.hook_call)
        assert len(calls) == 2
        (feedback,) = rows(storage, schema.feedback)
        # Replayed in order: the card was known by the time its feedback was replayed.
        assert feedback["card_known"] is True
        assert len(rows(storage, schema.patient_memory)) == 1


def test_the_spool_is_replayed_at_start_up(tmp_path: Path) -> None:
    settings, blocker = _down_then_up(tmp_path)
    app = create_app(settings)
    with TestClient(app) as client:
        scenario_call(client, HIGH_DOSE)
    blocker.unlink()
    with TestClient(create_app(settings)) as client:
        assert len(rows(storage_of(client), schema.hook_call)) == 1
        assert not settings.spool_path.exists() or not settings.spool_path.read_text()


def _item(id_: str = "5d0c8a1e-8f6b-4d43-9d4e-2f0a6b7c8d9e") -> FeedbackItem:
    return FeedbackItem(
        id=id_,
        received_at=NOW,
        service_id="opioid-safety-sign",
        card_uuid="0b7c1a52-7d1f-4a4e-9f0e-1d2c3b4a5f60",
        outcome="overridden",
        override_reason_code="specialist-plan",
        override_reason_system=None,
        override_reason_recognised=True,
        has_comment=False,
        outcome_timestamp=NOW,
    )


def test_a_replay_inserts_each_row_once_and_skips_a_line_cut_short(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.jsonl")
    item = FeedbackItem(
        id="5d0c8a1e-8f6b-4d43-9d4e-2f0a6b7c8d9e",
        received_at=NOW,
        service_id="opioid-safety-sign",
        card_uuid="0b7c1a52-7d1f-4a4e-9f0e-1d2c3b4a5f60",
        outcome="overridden",
        override_reason_code="specialist-plan",
        override_reason_system=None,
        override_reason_recognised=True,
        has_comment=False,
        outcome_timestamp=NOW,
    )
    for _ in range(2):
        spool.append("feedback", to_json(item))
    with spool.path.open("a") as f:
        f.write('{"kind": "feedback", "row": {"id"')  # a crash mid-write
    storage = Storage(f"sqlite:///{tmp_path / 'db.sqlite'}", spool.path, {})
    storage.open()
    assert len(rows(storage, schema.feedback)) == 1
    assert not spool.pending()
    storage.close()


def test_an_unreachable_postgresql_does_not_hold_the_answer(tmp_path: Path) -> None:
    settings = Settings(
        # Port 9 (discard) on loopback: nothing listens, the connection is refused.
        database_url="postgresql+psycopg://postgres@127.0.0.1:9/test",
        spool_path=tmp_path / "spool.jsonl",
    )
    with TestClient(create_app(settings)) as client:
        assert scenario_call(client, HIGH_DOSE)["cards"]
        assert storage_of(client).failures >= 1
    assert settings.spool_path.read_text("utf-8").count("\n") == 1


def test_a_row_the_database_refuses_is_set_aside_and_blocks_nothing(
    settings: Settings, request: pytest.FixtureRequest
) -> None:
    storage = Storage(settings.database_url, settings.spool_path, {})
    storage.open()
    request.addfinalizer(storage.close)
    item = FeedbackItem(
        id="5d0c8a1e-8f6b-4d43-9d4e-2f0a6b7c8d9e",
        received_at=NOW,
        service_id="opioid-safety-sign",
        card_uuid="0b7c1a52-7d1f-4a4e-9f0e-1d2c3b4a5f60",
        outcome="overridden",
        override_reason_code=None,
        override_reason_system=None,
        override_reason_recognised=None,
        has_comment=False,
        outcome_timestamp=NOW,
    )
    storage.record_feedback([item, item])  # the same id twice: the second is refused
    assert len(rows(storage, schema.feedback)) == 1
    assert not storage.spool.pending()
    rejected = settings.spool_path.with_name(settings.spool_path.name + ".rejected")
    assert rejected.read_text("utf-8").count("\n") == 1
    storage.record_feedback(
        [
            FeedbackItem(
                **{**to_json(item), "id": "other", "received_at": NOW, "outcome_timestamp": NOW}
            )
        ]
    )
    assert len(rows(storage, schema.feedback)) == 2


def test_an_overlong_reason_code_is_stored_cut_to_size(client: TestClient) -> None:
    item = {
        "card": "0b7c1a52-7d1f-4a4e-9f0e-1d2c3b4a5f60",
        "outcome": "overridden",
        # Within what a request may carry (MAX_ID_CHARS, MAX_TEXT_CHARS; longer is a 400,
        # tests/spec/test_bounds.py) but longer than the columns.
        "overrideReason": {"reason": {"code": "x" * 150, "system": "y" * 1500}},
        "outcomeTimestamp": "2026-11-22T12:00:00Z",
    }
    response = client.post("/cds-services/opioid-safety-sign/feedback", json={"feedback": [item]})
    assert response.status_code == 200
    (stored,) = rows(storage_of(client), schema.feedback)
    assert (stored["override_reason_code"], stored["override_reason_recognised"]) == (
        "x" * 100,
        False,
    )


def test_after_a_failure_rows_go_straight_to_the_spool_for_a_while(tmp_path: Path) -> None:
    settings, blocker = _down_then_up(tmp_path)
    storage = Storage(settings.database_url, settings.spool_path, {}, retry_seconds=3600)
    storage.open()  # fails: the database is down
    blocker.unlink()
    storage.record_feedback([_item()])  # not tried again yet
    assert storage.spool.pending()
    storage.retry_seconds = 0
    storage._down_until = 0.0  # the retry time has passed
    storage.record_feedback([_item("6e1d9b2f-9a7c-4e54-8e5f-3a1b7c8d9e0f")])
    assert not storage.spool.pending()
    assert len(rows(storage, schema.feedback)) == 2
    storage.close()


def test_a_long_backlog_drains_a_bounded_share_per_write(tmp_path: Path) -> None:
    from service.storage import store

    spool = Spool(tmp_path / "spool.jsonl")
    storage = Storage(f"sqlite:///{tmp_path / 'db.sqlite'}", spool.path, {})
    storage.open()
    # Rows spooled during an outage while the service ran.
    backlog = store.REPLAY_PER_WRITE + 5
    for i in range(backlog):
        spool.append("feedback", to_json(_item(f"00000000-0000-4000-8000-{i:012d}")))
    storage.record_feedback([_item("ffffffff-0000-4000-8000-000000000000")])
    # The first write replays a share; its own row waits behind the rest, in order.
    assert len(rows(storage, schema.feedback)) == store.REPLAY_PER_WRITE
    storage.record_feedback([_item("eeeeeeee-0000-4000-8000-000000000000")])
    assert len(rows(storage, schema.feedback)) == backlog + 2
    assert not spool.pending()
    storage.close()


def test_rows_spooled_while_the_database_was_unreachable_replay_into_it_at_start_up(
    settings: Settings,
) -> None:
    """On each backend (PostgreSQL too, when configured): the calls and the override made
    while the database could not be reached wait in the spool, and a restart against the
    database replays them, in order — the snooze works after it."""
    down = settings.model_copy(
        update={
            # SQLite: a folder that cannot be made; PostgreSQL: nothing listens on port 9.
            "database_url": "postgresql+psycopg://postgres@127.0.0.1:9/test"
            if settings.database_url.startswith("postgresql")
            else f"sqlite:///{settings.spool_path.parent / 'blocked' / 'x' / 'db.sqlite'}",
        }
    )
    if not down.database_url.startswith("postgresql"):
        (settings.spool_path.parent / "blocked").write_text("not a folder")
    app = create_app(down)
    app.dependency_overrides[now_dependency] = lambda: NOW
    with TestClient(app) as client:
        warning = next(
            c for c in scenario_call(client, HIGH_DOSE)["cards"] if c["indicator"] == "warning"
        )
        override(client, warning, "risk-assessment-done")
    assert settings.spool_path.read_text("utf-8").count("\n") == 2
    app = create_app(settings)
    app.dependency_overrides[now_dependency] = lambda: NOW
    with TestClient(app) as client:
        storage = storage_of(client)
        assert len(rows(storage, schema.hook_call)) == 1
        (feedback,) = rows(storage, schema.feedback)
        assert feedback["card_known"] is True
        assert len(rows(storage, schema.patient_memory)) == 1
        again = scenario_call(client, HIGH_DOSE, instance="after the replay")
        assert findings_of(again)["high-dose-risk-assessment"]["indicator"] == "info"


def test_health_says_degraded_while_rows_wait_and_ok_once_replayed(tmp_path: Path) -> None:
    """The failure is counted where an operator can see it (GET /health), per worker."""
    settings, blocker = _down_then_up(tmp_path)
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").json()["status"] == "ok"
        scenario_call(client, HIGH_DOSE, instance="while down")
        down = client.get("/health").json()
        assert down["status"] == "degraded"
        assert down["storage"]["spooled_writes"] >= 1 and down["storage"]["rows_waiting"]
        blocker.unlink()
        scenario_call(client, HIGH_DOSE, instance="when back")
        back = client.get("/health").json()
        assert back["status"] == "ok" and not back["storage"]["rows_waiting"]
