"""Report tests run on the storage tests' databases: SQLite, and PostgreSQL (a schema of
their own) when ``OPIOID_CDS_TEST_DATABASE_URL`` is set (tests/storage/conftest.py)."""

from tests.storage.conftest import clock, database_url, make_client, settings

__all__ = ["clock", "database_url", "make_client", "settings"]
