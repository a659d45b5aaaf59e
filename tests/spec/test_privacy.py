"""Privacy (issue 12 item 4): no patient data in URLs or logs. A card's taper plan link
carries an opaque reference (the regimen encrypted with ``OPIOID_CDS_LINK_KEY``) that opens
on any worker and after a restart with the same key, and nowhere else; the regimen in the
clear is accepted only in development (auth off). Log lines carry ``hookInstance`` for
correlation, never the patient id, the regimen or a token."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.api.deps import now_dependency
from service.config import Settings
from service.main import create_app
from tests.conftest import NOW, REPO_ROOT

EXAMPLES = json.loads((REPO_ROOT / "openapi/examples/hook-requests.json").read_text("utf-8"))
REFILL = EXAMPLES["medication-refill-oxycodone"]["value"]
KEY = SecretStr("a-deployment-secret-of-at-least-32-chars")
OXYCODONE_MR_40 = "36130911000001104"


def app_client(**settings: Any) -> TestClient:
    app = create_app(Settings(**{"auth": "off", **settings}))
    app.dependency_overrides[now_dependency] = lambda: NOW
    return TestClient(app)


@pytest.fixture(scope="module")
def keyed() -> Iterator[TestClient]:
    with app_client(link_key=KEY) as client:
        yield client


def plan_link(client: TestClient) -> str:
    response = client.post("/cds-services/opioid-safety-refill", json=REFILL)
    assert response.status_code == 200, response.text
    details = " ".join(c.get("detail", "") for c in response.json()["cards"])
    (link,) = re.findall(r"\[The full plan\]\(([^)]+)\)", details)
    return str(link)


def test_the_link_carries_no_patient_data(keyed: TestClient) -> None:
    link = plan_link(keyed)
    url = urlsplit(link)
    assert list(parse_qs(url.query)) == ["ref"]
    patient = REFILL["context"]["patientId"]
    for secret in (OXYCODONE_MR_40, "item", "dmd", patient, "2026-11-22"):
        assert secret not in link


def test_the_link_opens_on_another_worker_or_after_a_restart(keyed: TestClient) -> None:
    url = urlsplit(plan_link(keyed))
    here = keyed.get(f"{url.path}?{url.query}")
    assert here.status_code == 200, here.text
    with app_client(link_key=KEY, auth="jwt") as restarted:
        there = restarted.get(f"{url.path}?{url.query}")
    assert there.status_code == 200, there.text
    assert there.json()["plan"] == here.json()["plan"]


def test_the_link_does_not_open_with_another_key(keyed: TestClient) -> None:
    url = urlsplit(plan_link(keyed))
    with app_client() as other:  # no key: a key of its own process
        response = other.get(f"{url.path}?{url.query}")
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["ref"]


def test_an_altered_link_is_refused(keyed: TestClient) -> None:
    (ref,) = parse_qs(urlsplit(plan_link(keyed)).query)["ref"]
    altered = ref[:-4] + ("AAAA" if not ref.endswith("AAAA") else "BBBB")
    response = keyed.get("/taper/plan", params={"ref": altered})
    assert response.status_code == 400
    assert altered not in response.text


def test_the_clear_form_is_for_development_only() -> None:
    item = {"item": f"dmd|{OXYCODONE_MR_40}|2|unit"}
    with app_client(link_key=KEY, auth="jwt") as production:
        response = production.get("/taper/plan", params=item)
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["item"]
    with app_client(link_key=KEY) as development:
        assert development.get("/taper/plan", params=item).status_code == 200


def test_no_key_warns_at_start_up(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="service.main")
    create_app(Settings(auth="off"))
    assert "OPIOID_CDS_LINK_KEY is not set" in caplog.text


def test_logs_carry_the_hook_instance_and_no_patient_data(
    keyed: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    plan_link(keyed)
    said = caplog.text
    assert f"hookInstance={REFILL['hookInstance']}" in said
    for secret in (REFILL["context"]["patientId"], OXYCODONE_MR_40, "Oxycodone", "oxycodone"):
        assert secret not in said
