"""Fetching missing prefetch from ``fhirServer`` (issue 10 items 2-4), against a real HTTP
FHIR server on loopback (``loopback_fhir``): the same cards as with full prefetch; the token
forwarded; down, slow, 401, 5xx, redirect and malformed answered with a 412 within the
deadline; a server not on the allowlist never contacted; optional data that fails said in
the cards."""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from service.api.deps import now_dependency
from service.api.review_memory import InMemoryReviewPromptMemory
from service.cds_hooks.services import PREFETCH_FOR_HOOK
from service.config import Settings
from service.fhir.client import FetchLimits, fetch_all, normalise_base, refusal
from service.main import create_app
from tests.conftest import NOW, REPO_ROOT, service_url
from tests.integration.loopback_fhir import LoopbackFhir, serve

EXAMPLES = json.loads((REPO_ROOT / "openapi/examples/hook-requests.json").read_text("utf-8"))
TOKEN = "secret-token-abc"  # noqa: S105 - a test token, checked never to leak
DEADLINE = 2.0
MODES = (
    "ok",
    "slow",
    "401",
    "500",
    "redirect",
    "malformed",
    "garbage",
    "offsite",
    "paged",
    "nocond",
)


def _resources(*names: str) -> list[dict[str, Any]]:
    """Every resource the examples prefetch, as the EHR's FHIR server would hold them."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for name in names:
        for value in (EXAMPLES[name]["value"].get("prefetch") or {}).values():
            if value is None:
                continue
            items = [e["resource"] for e in value.get("entry", [])] if "entry" in value else [value]
            for r in items:
                found[(r["resourceType"], r["id"])] = r
    # The proposal itself is a draft in the EHR, not yet on the server.
    return list(found.values())


@pytest.fixture(scope="module")
def fhir() -> Iterator[LoopbackFhir]:
    with serve(_resources("order-sign-morphine", "encounter-discharge-oxycodone")) as server:
        yield server


@pytest.fixture(scope="module")
def http(fhir: LoopbackFhir) -> Iterator[TestClient]:
    settings = Settings(
        fhir_server_allowlist=[fhir.base(m) for m in MODES] + ["http://127.0.0.1:9/fhir"],
        fhir_timeout_seconds=1.0,
        fetch_deadline_seconds=DEADLINE,
    )
    app = create_app(settings)
    app.dependency_overrides[now_dependency] = lambda: NOW
    with TestClient(app) as client:
        yield client


def no_prefetch(name: str, base: str, token: bool = True) -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLES[name]["value"])
    body.pop("prefetch", None)
    body["fhirServer"] = base
    if token:
        body["fhirAuthorization"] = {
            "access_token": TOKEN,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "opioid-cds",
        }
    return body


def full_prefetch(fhir: LoopbackFhir, body: dict[str, Any]) -> dict[str, Any]:
    """What a conformant client would prefetch for the service's templates."""
    body = copy.deepcopy(body)
    prefetch = {}
    for key, template in PREFETCH_FOR_HOOK[body["hook"]].items():
        query = template.replace("{{context.patientId}}", body["context"]["patientId"])
        query = query.replace("{{context.encounterId}}", body["context"].get("encounterId", ""))
        response = httpx.get(f"{fhir.base()}/{query}", trust_env=False)
        prefetch[key] = response.json() if response.status_code == 200 else None
    body["prefetch"] = prefetch
    body.pop("fhirAuthorization")
    body.pop("fhirServer")
    return body


def summaries(response: httpx.Response) -> list[tuple[str, str]]:
    assert response.status_code == 200, response.text
    return sorted((c["summary"], c["indicator"]) for c in response.json()["cards"])


def issue(response: httpx.Response) -> str:
    assert response.status_code == 412, response.text
    diagnostics: str = response.json()["issue"][0]["diagnostics"]
    return diagnostics


@pytest.mark.parametrize(
    "name", ["order-sign-morphine", "medication-refill-oxycodone", "encounter-discharge-oxycodone"]
)
@pytest.mark.parametrize("mode", ["ok", "paged"])
def test_with_no_prefetch_the_cards_equal_those_with_full_prefetch(
    http: TestClient, fhir: LoopbackFhir, name: str, mode: str
) -> None:
    body = no_prefetch(name, fhir.base(mode))
    fetched = summaries(http.post(service_url(body), json=body))
    sent = full_prefetch(fhir, body)
    assert fetched == summaries(http.post(service_url(sent), json=sent))
    assert fetched  # each example fires at least one card


def test_the_token_is_forwarded_and_only_to_the_fhir_server(
    http: TestClient, fhir: LoopbackFhir, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fhir.seen.clear()
    body = no_prefetch("order-sign-morphine", fhir.base())
    assert http.post(service_url(body), json=body).status_code == 200
    assert fhir.seen and all(auth == f"Bearer {TOKEN}" for _, auth in fhir.seen)
    assert len(fhir.seen) == len(PREFETCH_FOR_HOOK["order-sign"])  # one query per key
    # Never logged: the token, the patient id or the URLs that carry it.
    assert TOKEN not in caplog.text and "example-patient" not in caplog.text


def test_without_a_token_the_server_is_asked_without_one(
    http: TestClient, fhir: LoopbackFhir
) -> None:
    fhir.seen.clear()
    body = no_prefetch("order-sign-morphine", fhir.base(), token=False)
    assert http.post(service_url(body), json=body).status_code == 200
    assert fhir.seen and all(auth is None for _, auth in fhir.seen)


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        ("401", "refused access (HTTP 401)"),
        ("500", "answered HTTP 500"),
        ("redirect", "redirect, which is never followed"),
        ("malformed", "not JSON"),
        ("garbage", "could not be read as FHIR"),
        ("offsite", "next-page link points to another server"),
        ("slow", "did not answer"),
    ],
)
def test_a_failing_server_is_a_412_saying_why_within_the_deadline(
    http: TestClient, fhir: LoopbackFhir, mode: str, said: str
) -> None:
    fhir.seen.clear()
    body = no_prefetch("order-sign-morphine", fhir.base(mode))
    started = time.monotonic()
    response = http.post(service_url(body), json=body)
    assert time.monotonic() - started < DEADLINE + 1.5  # margin for a busy machine
    diagnostics = issue(response)
    assert said in diagnostics and "prefetch.medicationRequests" in diagnostics
    assert TOKEN not in response.text and "127.0.0.1" not in response.text
    if mode == "redirect":
        assert not any(path.startswith("/ok/") for path, _ in fhir.seen)  # never followed


def test_a_server_that_is_down_is_a_412_within_the_deadline(http: TestClient) -> None:
    body = no_prefetch("order-sign-morphine", "http://127.0.0.1:9/fhir")  # discard: closed
    started = time.monotonic()
    diagnostics = issue(http.post(service_url(body), json=body))
    assert time.monotonic() - started < DEADLINE + 1.5  # margin for a busy machine
    assert "could not be reached" in diagnostics


def test_a_server_not_on_the_allowlist_is_never_contacted(http: TestClient) -> None:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.3)
    try:
        base = f"http://127.0.0.1:{listener.getsockname()[1]}/fhir"
        body = no_prefetch("order-sign-morphine", base)
        diagnostics = issue(http.post(service_url(body), json=body))
        assert "not on this service's allowlist" in diagnostics
        with pytest.raises(TimeoutError):
            listener.accept()
    finally:
        listener.close()


def test_optional_data_that_fails_is_said_on_the_cards(
    http: TestClient, fhir: LoopbackFhir
) -> None:
    body = no_prefetch("order-sign-morphine", fhir.base("nocond"))
    response = http.post(service_url(body), json=body)
    assert response.status_code == 200, response.text
    assert "conditions could not be fetched from the FHIR server" in response.text


def test_prefetched_keys_are_not_fetched_again(http: TestClient, fhir: LoopbackFhir) -> None:
    fhir.seen.clear()
    body = copy.deepcopy(EXAMPLES["order-sign-morphine"]["value"])
    body["fhirServer"] = fhir.base()
    assert http.post(service_url(body), json=body).status_code == 200
    fetched = {path.split("/")[3] for path, _ in fhir.seen}
    assert fetched == {"Observation", "Encounter"}  # the keys the example leaves out


def test_the_medicines_failing_under_discharge_is_a_412(
    http: TestClient, fhir: LoopbackFhir
) -> None:
    body = no_prefetch("encounter-discharge-oxycodone", fhir.base("500"))
    assert "discharge medicines" in issue(http.post(service_url(body), json=body))


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("HTTPS://FHIR.Example.org:443/R4/", "https://fhir.example.org/R4"),
        ("http://127.0.0.1:8090/fhir", "http://127.0.0.1:8090/fhir"),
        ("http://localhost:80", "http://localhost"),
        ("https://user:pw@fhir.example.org/", None),
        ("https://fhir.example.org/?x=1", None),
        ("ftp://fhir.example.org", None),
        ("https://fhir.example.org:99999", None),
    ],
)
def test_base_urls_are_compared_after_normalising(url: str, normal: str | None) -> None:
    assert normalise_base(url) == normal


def test_http_is_only_for_loopback() -> None:
    allow = ("http://fhir.example.org", "https://fhir.example.org/R4", "http://[::1]:8080")
    assert refusal("http://fhir.example.org", allow) is not None
    assert refusal("https://fhir.example.org/R4/", allow) is None
    assert refusal("http://[::1]:8080/", allow) is None
    assert refusal("https://fhir.example.org/R5", allow) is not None
    assert refusal("https://fhir.example.org/R4", ()) is not None  # empty: never fetch


@pytest.mark.parametrize(
    ("mode", "limits"),
    [("paged", FetchLimits(max_pages=1)), ("ok", FetchLimits(max_resources=1))],
    ids=["pages", "resources"],
)
def test_searches_are_bounded_and_a_cut_list_says_so(
    fhir: LoopbackFhir, mode: str, limits: FetchLimits
) -> None:
    query = {"medicationRequests": "MedicationRequest?patient=example-patient"}
    allow = (fhir.base(mode),)
    whole = asyncio.run(fetch_all(fhir.base(mode), None, query, FetchLimits(), allow))
    assert len(whole["medicationRequests"].value["entry"]) >= 2
    assert "link" not in whole["medicationRequests"].value
    cut = asyncio.run(fetch_all(fhir.base(mode), None, query, limits, allow))
    value = cut["medicationRequests"].value
    assert len(value["entry"]) == 1
    # A next link is kept, so the record reports the medicines list as possibly incomplete.
    assert value["link"][0]["relation"] == "next"


def test_a_request_that_breaks_the_hook_contract_fetches_nothing(
    http: TestClient, fhir: LoopbackFhir
) -> None:
    fhir.seen.clear()
    body = no_prefetch("order-sign-morphine", fhir.base())
    del body["context"]["draftOrders"]
    assert http.post(service_url(body), json=body).status_code == 400
    assert fhir.seen == []


# --- Chart-open review (patient-view, issue 17) ---------------------------------------------------


@pytest.fixture(scope="module")
def review_fhir() -> Iterator[LoopbackFhir]:
    with serve(_resources("patient-view-morphine-diazepam")) as server:
        yield server


@pytest.fixture
def review_http(review_fhir: LoopbackFhir) -> Iterator[TestClient]:
    settings = Settings(
        fhir_server_allowlist=[review_fhir.base(m) for m in MODES],
        fhir_timeout_seconds=1.0,
        fetch_deadline_seconds=DEADLINE,
    )
    app = create_app(settings)
    app.dependency_overrides[now_dependency] = lambda: NOW
    with TestClient(app) as client:
        yield client


def test_patient_view_fetches_the_medicines_and_prompts_as_with_prefetch(
    review_http: TestClient, review_fhir: LoopbackFhir
) -> None:
    body = no_prefetch("patient-view-morphine-diazepam", review_fhir.base())
    fetched = summaries(review_http.post(service_url(body), json=body))
    assert fetched and {indicator for _, indicator in fetched} == {"info"}
    # A new process memory: the same opening with everything prefetched.
    review_http.app.state.review_prompt_memory = InMemoryReviewPromptMemory()  # type: ignore[attr-defined]
    sent = full_prefetch(review_fhir, body)
    assert fetched == summaries(review_http.post(service_url(sent), json=sent))


def test_patient_view_with_the_medicines_unobtainable_is_a_412(
    review_http: TestClient, review_fhir: LoopbackFhir
) -> None:
    body = no_prefetch("patient-view-morphine-diazepam", review_fhir.base("500"))
    assert "answered HTTP 500" in issue(review_http.post(service_url(body), json=body))
