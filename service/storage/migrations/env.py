"""Alembic environment: run only programmatically (``service.storage.database.upgrade``),
which passes an open connection in ``config.attributes["connection"]``."""

from __future__ import annotations

from alembic import context

from service.storage.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things: batch mode copies the table (Alembic's way).
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
