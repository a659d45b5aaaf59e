"""The committed OpenAPI document is the app's; regenerate with ``make openapi``."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient

from service.main import create_app
from tests.conftest import service_url

COMMITTED = Path(__file__).resolve().parents[2] / "openapi" / "openapi.json"


def test_committed_openapi_matches_the_app() -> None:
    generated = json.loads(json.dumps(create_app().openapi(), sort_keys=True))
    assert json.loads(COMMITTED.read_text("utf-8")) == generated, "run `make openapi`"


def test_docs_and_openapi_are_served(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    assert client.get("/openapi.json").json()["info"]["title"]


def test_every_documented_hook_example_gets_200(client: TestClient) -> None:
    examples = json.loads((COMMITTED.parent / "examples" / "hook-requests.json").read_text("utf-8"))
    for name, example in examples.items():
        body = example["value"]
        response = client.post(service_url(body), json=body)
        assert response.status_code == 200, (name, response.text)
