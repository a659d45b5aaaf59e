"""Migrations and retention (issue 13 items 1 and 7): the migrated database is exactly the
tables in service/storage/schema.py; `python -m service db upgrade` and `db purge`."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, make_url

from service.__main__ import main
from service.config import Settings
from service.storage import database, schema
from service.storage.commands import database_name
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
    head = database.head_revision()
    assert main(["db", "upgrade"]) == 0
    created = capsys.readouterr().out
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        assert created == f"created SQLite file {url.database} (revision {head})\n"
    else:  # named by host, port, database and schema; never a password
        assert created.startswith(f"created PostgreSQL database {url.database} (schema test_")
        place = f"{url.host}:{url.port}" if url.port else f"{url.host}"
        assert f") on {place}" in created
        assert created.endswith(f" (revision {head})\n")
        if url.password:
            assert url.password not in created
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out.endswith(f" is at revision {head}; nothing to do\n")
    storage = Storage(settings.database_url, settings.spool_path, {})
    assert database.current_revision(storage.engine) == head
    storage.close()


def test_the_first_migration_says_it_created_the_database(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="service.storage")
    storage = Storage(settings.database_url, settings.spool_path, {})
    try:
        assert database.upgrade(storage.engine) is None
        assert database.upgrade(storage.engine) == database.head_revision()
    finally:
        storage.close()
    said = [r.message for r in caplog.records if r.name == "service.storage"]
    assert said == [f"storage: created the database (revision {database.head_revision()})"]


def test_database_names_never_show_a_password() -> None:
    url = "postgresql+psycopg://cds:hunter2secret@db.example:5433/cds?options=-csearch_path%3Daudit"
    assert database_name(url) == "PostgreSQL database cds (schema audit) on db.example:5433 as cds"
    assert database_name("postgresql+psycopg://cds@db/cds?password=hunter2") == (
        "PostgreSQL database cds on db as cds"
    )
    assert database_name("sqlite:////srv/cds/opioid-cds.db") == "SQLite file /srv/cds/opioid-cds.db"


def test_a_database_that_is_down_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Nothing listens on port 1 of loopback: the connection is refused at once.
    monkeypatch.setenv("OPIOID_CDS_DATABASE_URL", "postgresql+psycopg://cds:pw@127.0.0.1:1/cds")
    assert main(["db", "upgrade"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: PostgreSQL database cds on 127.0.0.1:1 as cds: ")
    assert err.count("\n") == 1 and ":pw@" not in err


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
