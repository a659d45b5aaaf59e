"""Reading what an app stored, for tests: rows of a table as dicts, in insertion order."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, select

from service.storage.store import Storage


def rows(storage: Storage, table: Table, **where: Any) -> list[dict[str, Any]]:
    query = select(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    with storage.engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(query)]


def app_storage(client: Any) -> Storage:
    storage: Storage = client.app.state.storage
    return storage
