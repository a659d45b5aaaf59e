"""Migrations and retention (issue 13 items 1 and 7): the migrated database is exactly the
tables in service/storage/schema.py; `python -m service db upgrade` and `db purge`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert

from service.__main__ import main
from service.config import Settings
from service.storage import database, schema
from service.storage.records import FeedbackItem, HookCall
from service.storage.store import Storage
from tests.conftest import NOW
from tests.storage.rows import rows


@pytest.fixture
def storage(settings: Settings) -> Iterator[Storage]:
    storage = Storage(settings.database_url, settings.spool_path, {})
    storage.open()
    yield storage
    storage.close()


def test_the_migrated_database_is_the_schema(storage: Storage) -> None:
    assert database.current_revision(storage.engine) == database.head_revision()
    with storage.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), schema.metadata) == []
    database.upgrade(storage.engine)  # a second upgrade changes nothing
    assert database.current_revision(storage.engine) == database.head_revision()


def test_db_upgrade_command(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPIOID_CDS_DATABASE_URL", settings.database_url)
    assert main(["db", "upgrade"]) == 0
    assert f"revision {database.head_revision()}" in capsys.readouterr().out
    storage = Storage(settings.database_url, settings.spool_path, {})
    assert database.current_revision(storage.engine) == database.head_revision()
    storage.close()


def _call(id_: str, days_ago: int) -> HookCall:
    return HookCall(
        id=id_,
        recorded_at=NOW - timedelta(days=days_ago),
        service_id="opioid-safety-sign",
        hook="order-sign",
        hook_instance=id_,
        patient_key="k" * 64,
        organisation=None,
        organisation_source=None,
        client=None,
        current_ome_mg_per_day=None,
        proposed_ome_mg_per_day=None,
        status=200,
        error_code=None,
        latency_ms=1.0,
    )


def _feedback(id_: str, days_ago: int) -> FeedbackItem:
    return FeedbackItem(
        id=id_,
        received_at=NOW - timedelta(days=days_ago),
        service_id="opioid-safety-sign",
        card_uuid="c",
        outcome="overridden",
        override_reason_code="risk-assessment-done",
        override_reason_system=None,
        override_reason_recognised=True,
        has_comment=False,
        outcome_timestamp=NOW - timedelta(days=days_ago),
    )


def test_purge_deletes_what_is_older_than_the_retention_and_keeps_snoozes_in_force(
    storage: Storage,
) -> None:
    storage.record_hook_call(_call("old", 11))
    storage.record_hook_call(_call("new", 9))
    storage.record_feedback([_feedback("old-f", 11), _feedback("new-f", 9)])
    with storage.engine.begin() as c:
        for feedback_id, until_days in (("old-f", -30), ("old-f", 12)):
            c.execute(
                insert(schema.patient_memory).values(
                    patient_key="k" * 64,
                    rule="high-dose-risk-assessment",
                    kind="snooze",
                    recorded_at=NOW - timedelta(days=11),
                    until=NOW - timedelta(days=until_days),
                    feedback_id=feedback_id,
                )
            )
    counts = storage.purge(NOW - timedelta(days=10))
    assert (counts["hook_call"], counts["feedback"], counts["patient_memory"]) == (1, 1, 1)
    assert [c["id"] for c in rows(storage, schema.hook_call)] == ["new"]
    assert [f["id"] for f in rows(storage, schema.feedback)] == ["new-f"]
    (kept,) = rows(storage, schema.patient_memory)  # still in force; its feedback is gone
    assert kept["feedback_id"] is None


def test_db_purge_command_uses_the_retention_setting(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPIOID_CDS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("OPIOID_CDS_RETENTION_DAYS", "1")
    assert main(["db", "purge"]) == 0
    assert "(1 days)" in capsys.readouterr().out
    assert main(["db", "purge", "--days", "0"]) == 2
