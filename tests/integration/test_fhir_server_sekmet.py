"""Fetching from a real, independent FHIR server: sekmet-fhir (pinned in pyproject's dev
extra; ../shared/docs/real-world-data.md §3), started here on loopback with bearer-token
auth and loaded with the Synthea patients that have an active opioid and the UK-coded
(dm+d) patients of the EPS prescription examples (reference data; the module is skipped
cleanly when it is absent).

A conformant order-sign with no prefetch, an allowlisted fhirServer and the token gets the
same cards (summaries and indicators) as the same request with every template prefetched.
"""

from __future__ import annotations

import copy
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from service.api.deps import now_dependency
from service.cds_hooks.services import PREFETCH_FOR_HOOK
from service.config import Settings
from service.main import create_app
from tests.conftest import NOW, REPO_ROOT, reference_path, service_url

TOKEN = "sekmet-test-token"  # noqa: S105 - the test server's configured token
EXAMPLES = json.loads((REPO_ROOT / "openapi/examples/hook-requests.json").read_text("utf-8"))
SEKMET = Path(sys.executable).parent / "sekmet"


def _active_opioid_patients() -> list[dict[str, Any]]:
    index = json.loads(reference_path("synthea", "index.json").read_text("utf-8"))
    return [
        e
        for e in index
        if any(
            m["cat"] == "opioid" and m["status"] == "active"
            for m in e["opioid_or_benzo_medicationrequests"]
        )
    ]


#: EPS prescribing messages with opioids (dm+d codes under http://snomed.info/sct).
UK_EPS = (
    "cd-morphine10mr-diazepam2mg.prepare-request.json",
    "morphine15mr-fentanyl25patch-multi.prepare-request.json",
    "primary-acute-cocodamol.prepare-request.json",
)


def _uk_bundles() -> list[dict[str, Any]]:
    """Each EPS message as a transaction of its clinical resources (no MessageHeader)."""
    out = []
    for name in UK_EPS:
        message = json.loads(reference_path("uk-fhir", "eps-r4", name).read_text("utf-8"))
        entries = [e for e in message["entry"] if e["resource"]["resourceType"] != "MessageHeader"]
        for e in entries:  # some carry their id only in the fullUrl
            e["resource"].setdefault("id", e["fullUrl"].removeprefix("urn:uuid:"))
        out.append({"resourceType": "Bundle", "type": "transaction", "entry": entries})
    return out


def _as_puts(bundle: dict[str, Any]) -> dict[str, Any]:
    """The Synthea transaction with each entry PUT at its own id (POST would assign new
    ids) and ``urn:uuid:`` references rewritten to ``Type/id``."""
    ids = {
        e["fullUrl"]: f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in bundle["entry"]
        if "fullUrl" in e
    }
    text = json.dumps(bundle)
    for full_url, ref in ids.items():
        text = text.replace(f'"{full_url}"', f'"{ref}"')
    out: dict[str, Any] = json.loads(text)
    for entry in out["entry"]:
        ref = f"{entry['resource']['resourceType']}/{entry['resource']['id']}"
        entry["fullUrl"], entry["request"] = ref, {"method": "PUT", "url": ref}
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def sekmet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[str]]]:
    patients = _active_opioid_patients()
    if not SEKMET.exists():
        pytest.skip("sekmet-fhir is not installed (pyproject dev extra)")
    folder = tmp_path_factory.mktemp("sekmet")
    port = _free_port()
    base = f"http://127.0.0.1:{port}/fhir"
    (folder / "settings.yaml").write_text(
        f"base_url: {base}\nhost: 127.0.0.1\nport: {port}\ndata_dir: {folder / 'data'}\n"
        f"server_auth: {{types: [bearer], tokens: [{TOKEN}]}}\n"
        "validation: {inbound: warn}\nsimulator: {enabled: false}\n",
        "utf-8",
    )
    log = (folder / "sekmet.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - our own pinned test server, fixed arguments
        [str(SEKMET), "serve", "-c", str(folder / "settings.yaml")],
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/metadata", trust_env=False).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail(f"sekmet did not start: {(folder / 'sekmet.log').read_text()}")
            time.sleep(0.2)
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/fhir+json"}
        bundles = [
            json.loads(reference_path("synthea", "trimmed", e["file"]).read_text("utf-8"))
            for e in patients
        ] + _uk_bundles()
        ids: list[str] = []
        for bundle in bundles:
            response = httpx.post(
                base, json=_as_puts(bundle), headers=headers, timeout=60, trust_env=False
            )
            assert response.status_code == 200, response.text[:500]
            ids += [
                e["resource"]["id"]
                for e in bundle["entry"]
                if e["resource"]["resourceType"] == "Patient" and e["resource"]["id"] not in ids
            ]
        yield base, ids
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def http(sekmet: tuple[str, list[str]]) -> Iterator[TestClient]:
    settings = Settings(
        fhir_server_allowlist=[sekmet[0]], fhir_timeout_seconds=3, fetch_deadline_seconds=10
    )
    app = create_app(settings)
    app.dependency_overrides[now_dependency] = lambda: NOW
    with TestClient(app) as client:
        yield client


def _order_sign(patient_id: str, base: str, token: str | None = TOKEN) -> dict[str, Any]:
    """A new morphine order (the worked example's draft) for this patient, no prefetch."""
    body = copy.deepcopy(EXAMPLES["order-sign-morphine"]["value"])
    body.pop("prefetch")
    body["context"]["patientId"] = patient_id
    for entry in body["context"]["draftOrders"]["entry"]:
        entry["resource"]["subject"] = {"reference": f"Patient/{patient_id}"}
    body["fhirServer"] = base
    body["fhirAuthorization"] = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "opioid-cds",
        "patient": patient_id,
    }
    return body


def _prefetched(body: dict[str, Any], base: str) -> dict[str, Any]:
    """The same request with every template satisfied, as a conformant client sends it
    (searches asked for in one page, so nothing is left on a next page)."""
    body = copy.deepcopy(body)
    prefetch: dict[str, Any] = {}
    for key, template in PREFETCH_FOR_HOOK[body["hook"]].items():
        query = template.replace("{{context.patientId}}", body["context"]["patientId"])
        if "?" in query:
            query += "&_count=1000"
        response = httpx.get(
            f"{base}/{query}", headers={"Authorization": f"Bearer {TOKEN}"}, trust_env=False
        )
        prefetch[key] = response.json() if response.status_code == 200 else None
    body["prefetch"] = prefetch
    del body["fhirServer"], body["fhirAuthorization"]
    return body


def _cards(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 200, response.text
    return sorted((c["summary"], c["indicator"]) for c in response.json()["cards"])


def test_with_no_prefetch_the_cards_equal_those_with_full_prefetch(
    http: TestClient, sekmet: tuple[str, list[str]]
) -> None:
    base, patients = sekmet
    assert len(patients) >= 5
    fired = 0
    for patient_id in patients:
        body = _order_sign(patient_id, base)
        fetched = _cards(http.post(service_url(body), json=body))
        full = _prefetched(body, base)
        assert fetched == _cards(http.post(service_url(full), json=full)), patient_id
        fired += bool(fetched)
    assert fired  # a new morphine order beside an active opioid prompts


def test_a_wrong_token_is_a_412_saying_access_was_refused(
    http: TestClient, sekmet: tuple[str, list[str]]
) -> None:
    base, patients = sekmet
    body = _order_sign(patients[0], base, token="not-the-token")  # noqa: S106
    response = http.post(service_url(body), json=body)
    assert response.status_code == 412
    assert "refused access (HTTP 401)" in response.text
    assert "not-the-token" not in response.text
