"""``python -m service db upgrade`` and ``python -m service db purge`` (issue 13 item 7), and
how the database is named in messages (start-up logs and these commands)."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from service.config import Settings
from service.storage import database
from service.storage.store import Storage


def database_name(url: str) -> str:
    """The database a URL points at, for a person: the file of a SQLite database, the host,
    port and name of a server's. Never the password, nor the query (libpq options may carry
    one)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "an unreadable database URL (OPIOID_CDS_DATABASE_URL)"
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        path = database.sqlite_path(url)
        return f"SQLite file {path}" if path is not None else "SQLite in memory"
    kind = {"postgresql": "PostgreSQL"}.get(backend, backend)
    place = parsed.host or "local socket"
    if parsed.port:
        place = f"{place}:{parsed.port}"
    user = f" as {parsed.username}" if parsed.username else ""
    # A schema chosen as a libpq option (docs/storage.md): named, the rest of the query not.
    options = parsed.query.get("options", "")
    found = re.search(
        r"search_path=([\w\"$,]+)", " ".join(options) if isinstance(options, tuple) else options
    )
    schema = f" (schema {found.group(1)})" if found else ""
    return f"{kind} database {parsed.database or '(default)'}{schema} on {place}{user}"


def run_db_command(command: str, days: int | None, now: datetime | None = None) -> int:
    settings = Settings()
    name = database_name(settings.database_url)
    # The command line has no pipeline: no snoozes are set from here, so no policy.
    storage = Storage(settings.database_url, settings.spool_path, {})
    try:
        if command == "upgrade":
            before = database.upgrade(storage.engine)
            after = database.current_revision(storage.engine)
            if before is None:
                done = f"created {name} (revision {after})"
            elif before == after:
                done = f"{name} is at revision {after}; nothing to do"
            else:
                done = f"upgraded {name} from revision {before} to {after}"
            print(done)  # noqa: T201
            return 0
        retention = days if days is not None else settings.retention_days
        if retention < 1:
            print("error: --days must be at least 1", file=sys.stderr)  # noqa: T201
            return 2
        database.upgrade(storage.engine)
        before_day = (now or datetime.now(UTC)) - timedelta(days=retention)
        counts = storage.purge(before_day)
        print(  # noqa: T201
            f"{name}: purged rows older than {before_day.date().isoformat()} ({retention} "
            "days): " + ", ".join(f"{table} {n}" for table, n in counts.items())
        )
        return 0
    except SQLAlchemyError as error:
        # One line: the database and the driver's first line (a connection error says why;
        # psycopg and sqlite3 never put the password in it).
        cause = str(getattr(error, "orig", None) or type(error).__name__).strip()
        print(f"error: {name}: {cause.splitlines()[0][:300]}", file=sys.stderr)  # noqa: T201
        return 1
    finally:
        storage.close()
