"""The dashboard in a real browser (issue 13 item 6): Debian's chromium driven by
Playwright (no browser download), against a real uvicorn on a loopback port with a seeded
database. Screenshots are kept in var/test-artifacts/ (gitignored)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from pydantic import SecretStr

from service.config import Settings
from service.main import create_app
from service.storage.store import Storage
from tests.conftest import REPO_ROOT
from tests.reports import script as data

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = REPO_ROOT / "var" / "test-artifacts"
TOKEN = "dashboard-test-admin-token"  # noqa: S105 - a test's own token


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service on a free loopback port, its database seeded, the admin token set."""
    tmp = tmp_path_factory.mktemp("dashboard")
    url = f"sqlite:///{tmp / 'dashboard.db'}"
    seed = Storage(url, tmp / "seed-spool.jsonl", {})
    seed.open()
    assert data.dashboard_script(seed) > 100
    seed.close()
    app = create_app(
        Settings(database_url=url, spool_path=tmp / "spool.jsonl", admin_token=SecretStr(TOKEN))
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if shutil.which("chromium") is None and not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: `make test` installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield chromium
        chromium.close()


def _page(browser: Any, width: int = 1280) -> Any:
    context = browser.new_context(
        viewport={"width": width, "height": 900},
        extra_http_headers={"Authorization": f"Bearer {TOKEN}"},
    )
    return context.new_page()


def _query() -> str:
    return f"since={data.DASHBOARD_SINCE.isoformat()}&until={data.DASHBOARD_UNTIL.isoformat()}"


def test_the_dashboard_draws_its_charts_from_the_reports(server: str, browser: Any) -> None:
    page = _page(browser)
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    response = page.goto(f"{server}/dashboard?{_query()}")
    assert response is not None and response.status == 200
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    # Fires and override rates per rule over time: a chart per rule that fired, six periods.
    for rule in ("high-dose-risk-assessment", "opioid-gabapentinoid", "opioid-sedative"):
        bars = page.locator(f'[id="rule-{rule}"] rect.bar')
        assert bars.count() == 6
        assert sum(int(bars.nth(i).get_attribute("data-value")) for i in range(6)) > 0
        assert page.locator(f'[id="rule-{rule}"] circle.rate').count() > 0
    # The drawn numbers are the API's.
    api = page.request.get(f"{server}/reports/rules/periods?{_query()}").json()
    fired = [
        next(r["fired"] for r in p["rules"] if r["rule"] == "opioid-gabapentinoid")
        for p in api["periods"]
    ]
    bars = page.locator('[id="rule-opioid-gabapentinoid"] rect.bar')
    assert [int(bars.nth(i).get_attribute("data-value")) for i in range(6)] == fired

    # Organisations compared: five organisations ranked, largest first.
    ranked = page.locator('[id="orgs-patients_high_dose"] rect.bar')
    assert ranked.count() == 5
    values = [float(ranked.nth(i).get_attribute("data-value")) for i in range(5)]
    assert values == sorted(values, reverse=True) and values[0] > 0

    # How prompts were answered: each organisation's parts add up to 100%.
    parts = page.locator('[id="orgs-prompts"] rect.part')
    assert parts.count() == 5 * 3
    by_org: dict[str, float] = {}
    for i in range(parts.count()):
        part = parts.nth(i)
        org = part.get_attribute("data-label")
        by_org[org] = by_org.get(org, 0.0) + float(part.get_attribute("data-value"))
    assert len(by_org) == 5 and all(abs(v - 100) < 0.01 for v in by_org.values())
    # The change since the previous period is given beside each ranked value.
    assert "pts)" in (page.locator('[id="orgs-patients_high_dose"]').text_content() or "")

    # OME distribution: every flagged patient with a known total is in a band.
    ome = page.request.get(f"{server}/reports/ome-distribution?{_query()}").json()
    bands = page.locator("#ome-distribution rect.bar")
    drawn = sum(int(bands.nth(i).get_attribute("data-value")) for i in range(bands.count()))
    assert drawn == ome["patients_flagged"] - ome["patients_total_unknown"] > 0
    assert page.locator("#ome-distribution line.threshold").get_attribute("data-value") == "120.0"

    # Nothing cut off on the left: every organisation's label is inside its chart; a long one
    # is abbreviated, its full name its tooltip (and in the table).
    for chart in ("orgs-patients_high_dose", "orgs-prompts"):
        frame = page.locator(f'[id="{chart}"]').bounding_box()
        labels = page.locator(f'[id="{chart}"] text.label')
        assert labels.count() == 5
        for i in range(5):
            box = labels.nth(i).bounding_box()
            assert box is not None and frame is not None and box["x"] >= frame["x"], chart
        full = sorted(labels.nth(i).get_attribute("data-label") for i in range(5))
        assert full == sorted(data.DASHBOARD_ORGANISATIONS)
    short = page.locator('[id="orgs-prompts"] text.label', has_text="https://gp-system.example")
    assert short.count() == 1 and "…" not in (short.text_content() or "")
    long_name = data.DASHBOARD_ORGANISATIONS[3]
    abbreviated = page.locator(f'[id="orgs-prompts"] text.label[data-label="{long_name}"]')
    assert "…" in (abbreviated.text_content() or "")
    assert abbreviated.locator("title").text_content() == long_name
    # The open-ended top band is labelled, and the threshold line is on the 120 tick.
    ticks = page.locator("#ome-distribution text.tick")
    assert ticks.last.text_content() == "300+"
    line = page.locator("#ome-distribution line.threshold").bounding_box()
    tick = page.locator('#ome-distribution text.tick[data-value="120"]').bounding_box()
    assert line is not None and tick is not None
    assert abs((line["x"] + line["width"] / 2) - (tick["x"] + tick["width"] / 2)) < 1.5
    page.locator("#ome-distribution").screenshot(path=str(ARTIFACTS / "dashboard-ome.png"))
    page.locator('[id="orgs-prompts"]').screenshot(path=str(ARTIFACTS / "dashboard-orgs.png"))

    # Rendered, not just present: the charts have a size on the screen.
    box = page.locator("#ome-distribution").bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 150
    # Nothing but the service itself was asked for anything (no CDN).
    assert requested and all(u.startswith(server) for u in requested), requested


def test_the_dashboard_is_accessible_without_the_charts(server: str, browser: Any) -> None:
    page = _page(browser, width=420)  # a narrow window: charts shrink, nothing is cut off
    page.goto(f"{server}/dashboard?{_query()}")
    assert page.locator("h1").count() == 1
    assert page.locator("h2").all_inner_texts() == [
        "Warnings fired and overridden, per rule",
        "Organisations compared",
        "OME distribution of flagged patients",
    ]
    charts = page.locator("svg.chart")
    assert charts.count() >= 8
    for i in range(charts.count()):
        chart = charts.nth(i)
        assert chart.get_attribute("role") == "img"
        labelled = (chart.get_attribute("aria-labelledby") or "").split()
        assert len(labelled) == 2 and all(
            page.locator(f'[id="{x}"]').count() == 1 for x in labelled
        )
    # Each chart's numbers are also a table (opened here, as a screen-reader user would).
    tables = page.locator("details")
    assert tables.count() >= 5
    for i in range(tables.count()):
        tables.nth(i).locator("summary").click()
    assert page.locator("table caption").count() == tables.count()
    assert page.locator("table th[scope=col]").count() > 0
    page.screenshot(path=str(ARTIFACTS / "dashboard-narrow-tables.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 420  # the wide table scrolls in its own region, never the whole page


def test_the_dashboard_needs_the_admin_token(server: str, browser: Any) -> None:
    context = browser.new_context()
    response = context.new_page().goto(f"{server}/dashboard")
    assert response is not None and response.status == 401
