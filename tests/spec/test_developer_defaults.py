"""Developer defaults (issue 10 item 6): ``make run`` lets the CDS Hooks sandbox call from a
browser and points card links at its own HOST/PORT, while the library defaults stay closed;
an order-select fired before anything is drafted gets no cards."""

from __future__ import annotations

import json
import logging
import shlex
import shutil
import subprocess
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.config import Settings
from service.main import create_app
from tests.conftest import REPO_ROOT, service_url

SANDBOX = "https://sandbox.cds-hooks.org"
EXAMPLES = json.loads((REPO_ROOT / "openapi/examples/hook-requests.json").read_text("utf-8"))


def make_run(*args: str, env: dict[str, str] | None = None) -> str:
    """What ``make run`` would do (a dry run: nothing starts)."""
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    return subprocess.run(  # noqa: S603 - fixed arguments, a dry run of our own Makefile
        [make, "-s", "-n", "run", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
    ).stdout


def run_environment(*args: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """The OPIOID_CDS_* settings ``make run`` passes to uvicorn (a dry run: nothing starts)."""
    out = make_run(*args, env=env)
    words = shlex.split(out.replace("\\\n", " "))
    return dict(w.split("=", 1) for w in words if w.startswith("OPIOID_CDS_"))


def test_make_run_allows_the_sandbox_and_follows_host_and_port() -> None:
    env = run_environment("PORT=9123")
    assert env["OPIOID_CDS_PUBLIC_BASE_URL"] == "http://127.0.0.1:9123"
    origins = json.loads(env["OPIOID_CDS_CORS_ALLOW_ORIGINS"])
    assert SANDBOX in origins and "http://localhost:8080" in origins
    assert run_environment("OPIOID_CDS_PUBLIC_BASE_URL=https://cds.example")[
        "OPIOID_CDS_PUBLIC_BASE_URL"
    ] == ("https://cds.example")


def test_make_run_turns_client_trust_off_only_when_unset_and_says_so() -> None:
    assert run_environment()["OPIOID_CDS_AUTH"] == "off"
    assert "client JWT checks are off because OPIOID_CDS_AUTH is not set" in make_run()
    assert run_environment(env={"OPIOID_CDS_AUTH": "jwt"})["OPIOID_CDS_AUTH"] == "jwt"
    assert "checks are off" not in make_run(env={"OPIOID_CDS_AUTH": "jwt"})
    assert run_environment("OPIOID_CDS_AUTH=jwt")["OPIOID_CDS_AUTH"] == "jwt"


def test_the_library_default_is_jwt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPIOID_CDS_AUTH", raising=False)
    assert Settings().auth == "jwt"


def test_the_library_default_allows_no_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPIOID_CDS_CORS_ALLOW_ORIGINS", raising=False)
    assert Settings().cors_allow_origins == []


def test_make_runs_settings_reach_the_app(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for key, value in run_environment("PORT=9123").items():
        monkeypatch.setenv(key, value)
    caplog.set_level(logging.INFO, logger="service.main")
    preflight = {
        "Origin": SANDBOX,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    with TestClient(create_app()) as client:
        allowed = client.options("/cds-services/opioid-safety-refill", headers=preflight)
        assert allowed.headers["access-control-allow-origin"] == SANDBOX
        body = EXAMPLES["medication-refill-oxycodone"]["value"]
        cards = client.post(service_url(body), json=body).json()["cards"]
    details = " ".join(card.get("detail", "") for card in cards)
    assert "(http://127.0.0.1:9123/taper/plan?" in details  # the full tapering plan link
    said = caplog.text
    assert SANDBOX in said and "http://127.0.0.1:9123" in said


def empty_order_select() -> dict[str, Any]:
    """What a client sends when the order form opens: nothing selected, nothing drafted."""
    return {
        "hook": "order-select",
        "hookInstance": "6a1f2f0e-4f44-4a43-9b6c-0d9f3f3f1a11",
        "context": {
            "userId": "Practitioner/example-gp",
            "patientId": "example-patient",
            "selections": [],
            "draftOrders": {"resourceType": "Bundle", "entry": []},
        },
    }


@pytest.mark.parametrize(
    "draft",
    [{"resourceType": "Bundle", "entry": []}, {"resourceType": "Bundle"}, {}],
    ids=["no-entries", "no-entry-field", "empty-object"],
)
def test_order_select_with_nothing_selected_or_drafted_gets_no_cards(
    client: TestClient, draft: dict[str, Any]
) -> None:
    body = empty_order_select()
    body["context"]["draftOrders"] = draft
    response = client.post(service_url(body), json=body)  # no prefetch either: not a 412
    assert response.status_code == 200, response.text
    assert response.json() == {"cards": []}


def test_empty_selections_with_a_draft_is_still_refused(client: TestClient) -> None:
    body = EXAMPLES["order-sign-morphine"]["value"]
    body = {**body, "hook": "order-select", "context": {**body["context"], "selections": []}}
    assert client.post(service_url(body), json=body).status_code == 400


def test_empty_order_select_to_another_hooks_service_is_400(client: TestClient) -> None:
    response = client.post("/cds-services/opioid-safety-sign", json=empty_order_select())
    assert response.status_code == 400
