"""Shared fixtures. ``reference`` is ../shared/reference (skipped cleanly when absent)."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.api.deps import now_dependency
from service.cds_hooks.services import SERVICE_FOR_HOOK
from service.main import create_app

# Test defaults, set before any app is built: client trust off unless a test turns it on
# (the JWT tests do), and storage in a throw-away folder, never the developer's var/.
os.environ.setdefault("OPIOID_CDS_AUTH", "off")
_TEST_VAR = Path(tempfile.mkdtemp(prefix="opioid-cds-tests-"))
os.environ.setdefault("OPIOID_CDS_DATABASE_URL", f"sqlite:///{_TEST_VAR / 'test.db'}")
os.environ.setdefault("OPIOID_CDS_SPOOL_PATH", str(_TEST_VAR / "spool.jsonl"))
os.environ.setdefault("OPIOID_CDS_PSEUDONYM_KEY", "test-pseudonym-key-not-a-secret-0123456789")

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The fixed "now" of every clinical test: no test reads the clock.
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
REFERENCE = REPO_ROOT.parent / "shared" / "reference"


def service_url(body: Any) -> str:
    """The endpoint of the service listed in discovery for the body's hook (a hook no
    service serves goes to the order-sign service, which refuses it with a 400)."""
    return f"/cds-services/{SERVICE_FOR_HOOK.get(body['hook'], 'opioid-safety-sign')}"


def reference_path(*parts: str) -> Path:
    """A path under ../shared/reference, or skip the test when the folder is absent."""
    path = REFERENCE.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data not present: {path}")
    return path


def load_json(path: Path) -> Any:
    """Some reference files carry trailing text after the JSON object (README)."""
    value, _ = json.JSONDecoder().raw_decode(path.read_text("utf-8"))
    return value


@pytest.fixture(scope="session")
def app_client() -> Iterator[TestClient]:
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    with TestClient(create_app()) as client:
        yield client


@pytest.fixture
def client(app_client: TestClient) -> TestClient:
    return app_client


@pytest.fixture(scope="module")
def fixed_client() -> Iterator[TestClient]:
    """The app with its clock fixed at ``NOW``."""
    app = create_app()
    app.dependency_overrides[now_dependency] = lambda: NOW
    with TestClient(app) as test_client:
        yield test_client
