"""Admin access (the reports, the dashboard and the rule workbench) is discoverable: the
OpenAPI document declares the ``adminToken`` bearer scheme on those routes, so the
"Authorize" button of ``/docs`` sends it, while the CDS routes keep ``cdsClientJwt``; and
start-up says when those routes are closed."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.config import Settings
from service.main import create_app

ADMIN = [{"adminToken": []}]


def _security(document: dict[str, Any]) -> dict[tuple[str, str], Any]:
    return {
        (method, path): operation.get("security")
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }


def test_admin_routes_declare_the_admin_bearer_scheme() -> None:
    document = create_app().openapi()
    scheme = document["components"]["securitySchemes"]["adminToken"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert "OPIOID_CDS_ADMIN_TOKEN" in scheme["description"]
    security = _security(document)
    admin = {
        key
        for key in security
        if key[1].startswith(("/reports", "/rules")) or key[1] in ("/dashboard", "/facts")
    }
    assert len(admin) >= 10, admin
    for key in admin:
        assert security[key] == ADMIN, key


def test_cds_routes_keep_the_client_jwt_scheme_only() -> None:
    security = _security(create_app().openapi())
    assert security[("post", "/cds-services/{service_id}")] == [{"cdsClientJwt": []}]
    assert security[("post", "/cds-services/{service_id}/feedback")] == [{"cdsClientJwt": []}]
    assert security[("get", "/cds-services")] is None
    for key in (("post", "/ome"), ("post", "/taper"), ("post", "/support-tier")):
        assert security[key] is None, key


@pytest.mark.parametrize("path", ["/rules", "/facts"])
def test_what_authorize_sends_opens_the_workbench(path: str, tmp_path: Any) -> None:
    settings = Settings(
        auth="jwt",
        admin_token=SecretStr("workbench-admin-token"),
        database_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
        spool_path=tmp_path / "spool.jsonl",
    )
    with TestClient(create_app(settings)) as client:
        refused = client.get(path, headers={"Authorization": "Basic d29ya2JlbmNo"})
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"] == "Bearer"
        # Swagger UI's HTTP bearer Authorize sends exactly this header.
        ok = client.get(path, headers={"Authorization": "Bearer workbench-admin-token"})
        assert ok.status_code == 200, ok.text


def test_start_up_warns_when_auth_is_on_and_no_admin_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="service.main")
    create_app(Settings(auth="jwt"))
    closing = "reports, dashboard and rule workbench are closed"
    closed = [r for r in caplog.records if closing in r.message]
    assert len(closed) == 1 and closed[0].levelno == logging.WARNING
    assert "OPIOID_CDS_ADMIN_TOKEN" in closed[0].message
    caplog.clear()
    create_app(Settings(auth="jwt", admin_token=SecretStr("a-long-enough-admin-token")))
    create_app(Settings(auth="off"))
    assert "workbench are closed" not in caplog.text
