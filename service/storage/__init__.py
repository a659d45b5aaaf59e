"""Storage (issue 13): the audit trail of hook calls, feedback, and what the service
remembers per patient (snoozes). SQLAlchemy Core over SQLite (embedded default) or
PostgreSQL, with Alembic migrations applied at start-up. Tables: ``docs/storage.md``.

Beside ``service.pipeline`` on the same layer: neither imports the other. The route reads
snoozes here and gives them to the pipeline as plain data, as it gives ``now``.
"""
