"""The committed OpenAPI document is the app's; regenerate with ``make openapi``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.cds_hooks.services import SERVICE_FOR_HOOK
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


def _local_urls(html: str) -> list[str]:
    return re.findall(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']""", html) + re.findall(
        r"""url:\s*["']([^"']+)["']""", html
    )


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_need_no_network(client: TestClient, page: str) -> None:
    """Every asset the page loads is served by the service itself (no CDN: NHS networks
    often block them), and is there."""
    html = client.get(page).text
    urls = _local_urls(html)
    assert any(u.endswith(".js") for u in urls), urls
    assert "//" not in "".join(urls) and "http" not in html.replace("http-equiv", ""), urls
    for url in urls:
        assert client.get(url).status_code == 200, url


def _served_examples(client: TestClient) -> list[tuple[str, str, str, Any, str, dict[str, Any]]]:
    """(method, path, name, value, media type, operation) of every request-body example."""
    document = client.get("/openapi.json").json()
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            for media_type, media in content.items():
                for name, example in media.get("examples", {}).items():
                    found.append((method, path, name, example["value"], media_type, operation))
    return found


def _url(path: str, operation: dict[str, Any], value: Any) -> str:
    """The path with the service for the example's hook, as a path parameter or as the
    required ``service`` query parameter (the rule workbench's evaluate)."""
    hook = value.get("hook") if isinstance(value, dict) else None
    service = SERVICE_FOR_HOOK.get(hook or "", "opioid-safety-sign")
    required_query = {
        p["name"] for p in operation.get("parameters", []) if p["in"] == "query" and p["required"]
    }
    return path.replace("{service_id}", service) + (
        f"?service={service}" if "service" in required_query else ""
    )


def test_every_example_in_the_served_document_succeeds_when_tried(client: TestClient) -> None:
    examples = _served_examples(client)
    assert len(examples) >= 10
    for method, path, name, value, media_type, operation in examples:
        url = _url(path, operation, value)
        if isinstance(value, str):  # a YAML body (the rule workbench's validate)
            headers = {"content-type": media_type}
            response = client.request(method.upper(), url, content=value, headers=headers)
        else:
            response = client.request(method.upper(), url, json=value)
        assert 200 <= response.status_code < 300, (name, response.text)


def test_every_path_parameter_example_succeeds_when_tried(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    tried = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                continue  # tried with its body above
            parameters = operation.get("parameters", [])
            # The other required parameters take their first example.
            first = {
                p["name"]: next(iter(p["examples"].values()))["value"]
                for p in parameters
                if p.get("required") and p.get("examples")
            }
            for parameter in parameters:
                for name, example in parameter.get("examples", {}).items():
                    values = {**first, parameter["name"]: example["value"]}
                    url, query = path, {}
                    for p in parameters:
                        if p["name"] not in values:
                            continue
                        if p["in"] == "path":
                            url = url.replace("{" + p["name"] + "}", str(values[p["name"]]))
                        elif p["in"] == "query":
                            query[p["name"]] = str(values[p["name"]])
                    response = client.request(method.upper(), url, params=query)
                    assert 200 <= response.status_code < 300, (name, response.text)
                    tried += 1
    assert tried >= 2


def test_served_examples_keep_their_null_prefetch_keys(client: TestClient) -> None:
    """A null prefetch value is "the client has no data" ([SPEC2] Prefetch): dropping it
    turns the example into a 412."""
    served = {name: value for _, _, name, value, _, _ in _served_examples(client)}
    written = json.loads((COMMITTED.parent / "examples" / "hook-requests.json").read_text("utf-8"))
    for name, example in written.items():
        assert served[name] == example["value"], name
    assert any(
        None in (v.get("prefetch") or {}).values()
        for v in served.values()
        if isinstance(v, dict) and "hook" in v
    )


def test_the_document_lists_the_real_error_statuses_with_operation_outcomes(
    client: TestClient,
) -> None:
    document = client.get("/openapi.json").json()
    call = document["paths"]["/cds-services/{service_id}"]["post"]["responses"]
    assert set(call) == {"200", "400", "401", "404", "412", "413"}
    for operations in document["paths"].values():
        for operation in operations.values():
            assert "422" not in operation["responses"]  # never sent: invalid input is 400
            for status, response in operation["responses"].items():
                if status != "200":
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/OperationOutcome"}


def test_the_examples_swagger_preselects_succeed_together(client: TestClient) -> None:
    """Swagger UI preselects the first example of each parameter and of the body: pressing
    Execute without choosing must work (the first service id did not serve the first request
    body: a 400)."""
    document = client.get("/openapi.json").json()
    tried = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            body_examples = content.get("application/json", {}).get("examples")
            parameters = [p for p in operation.get("parameters", []) if p.get("examples")]
            if not body_examples or not parameters:
                continue
            url, query = path, {}
            for p in parameters:
                value = next(iter(p["examples"].values()))["value"]
                if p["in"] == "path":
                    url = url.replace("{" + p["name"] + "}", str(value))
                else:
                    query[p["name"]] = str(value)
            body = next(iter(body_examples.values()))["value"]
            response = client.request(method.upper(), url, params=query, json=body)
            assert 200 <= response.status_code < 300, (path, response.text)
            tried += 1
    assert tried >= 2  # the hook call and the workbench's evaluate
