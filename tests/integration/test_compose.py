"""docker-compose.yml and Dockerfile, checked for structure (no Docker engine here)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_compose_runs_the_service_from_the_dockerfile_with_postgres() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text("utf-8"))
    cds, db = compose["services"]["cds"], compose["services"]["db"]
    assert cds["build"] == "."
    assert cds["depends_on"]["db"]["condition"] == "service_healthy"
    assert db["image"].startswith("postgres:")
    assert "healthcheck" in db
    assert any(p.endswith(":8000") for p in cds["ports"])


def test_dockerfile_serves_the_app_factory_as_non_root() -> None:
    text = (ROOT / "Dockerfile").read_text("utf-8")
    # `python -m service serve` runs uvicorn on the app factory, with OPIOID_CDS_WORKERS
    # worker processes (issue 14; tests/integration/test_workers.py runs it).
    assert '"service", "serve"' in text and "OPIOID_CDS_WORKERS=" in text
    serve = (ROOT / "service" / "__main__.py").read_text("utf-8")
    assert '"service.main:create_app", factory=True' in serve
    assert "USER cds" in text
    for folder in ("service", "rules", "openapi"):
        assert f"COPY {folder} ./{folder}" in text
