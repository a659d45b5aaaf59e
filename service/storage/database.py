"""Engines and migrations.

SQLite (the embedded default) runs in WAL mode with ``synchronous=NORMAL``: a commit is in
the write-ahead log (the operating system's file cache) before it returns, so a killed
process (``kill -9``) loses nothing that was acknowledged; only a power loss or an
operating-system crash may roll back the last commits (https://www.sqlite.org/pragma.html
#pragma_synchronous: with WAL and NORMAL "a transaction committed ... might roll back
following a power loss or system crash"). So no fsync per request is paid. PostgreSQL
commits are durable as the server is configured (``synchronous_commit``).

A PostgreSQL schema other than ``public`` is chosen in the URL, as libpq options:
``postgresql+psycopg://host/db?options=-csearch_path%3Dmy_schema`` (the tests do this).
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, make_url, text

log = logging.getLogger("service.storage")
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: PostgreSQL advisory lock key: one migrator at a time however many workers start.
_MIGRATION_LOCK = 0x0C0D5_13


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (None for PostgreSQL or an in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def make_engine(url: str, connect_timeout_seconds: float = 3.0) -> Engine:
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # A short connect timeout: a database that is down must not hold a clinical answer
    # (the rows go to the spool file instead, service.storage.store).
    return create_engine(
        url,
        pool_pre_ping=True,
        connect_args={"connect_timeout": max(1, round(connect_timeout_seconds))},
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> str | None:
    """Apply pending migrations, one process at a time (workers start together); the
    revision the database was at before (None: it was empty)."""
    config = alembic_config()
    path = sqlite_path(str(engine.url))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    with _migration_lock(engine), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK})
        config.attributes["connection"] = connection
        before = MigrationContext.configure(connection).get_current_revision()
        command.upgrade(config, "head")
    if before is None:
        log.info("storage: created the database (revision %s)", head_revision())
    elif before != head_revision():
        log.info("storage: database migrated from revision %s to %s", before, head_revision())
    return before


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """A file lock beside a SQLite database (PostgreSQL uses an advisory lock)."""
    path = sqlite_path(str(engine.url))
    if path is None:
        yield
        return
    with open(path.with_name(path.name + ".migrate-lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
