"""``python -m service db upgrade`` and ``python -m service db purge`` (issue 13 item 7)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta

from service.config import Settings
from service.storage import database
from service.storage.store import Storage


def run_db_command(command: str, days: int | None, now: datetime | None = None) -> int:
    settings = Settings()
    # The command line has no pipeline: no snoozes are set from here, so no policy.
    storage = Storage(settings.database_url, settings.spool_path, {})
    try:
        if command == "upgrade":
            database.upgrade(storage.engine)
            print(f"database at revision {database.current_revision(storage.engine)}")  # noqa: T201
            return 0
        retention = days if days is not None else settings.retention_days
        if retention < 1:
            print("error: --days must be at least 1", file=sys.stderr)  # noqa: T201
            return 2
        database.upgrade(storage.engine)
        before = (now or datetime.now(UTC)) - timedelta(days=retention)
        counts = storage.purge(before)
        print(  # noqa: T201
            f"purged rows older than {before.date().isoformat()} ({retention} days): "
            + ", ".join(f"{table} {n}" for table, n in counts.items())
        )
        return 0
    finally:
        storage.close()
