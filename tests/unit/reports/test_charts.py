"""The dashboard's SVG charts (service/reports/charts.py): organisation labels are never cut
off on the left, the open-ended top OME band is labelled, and the threshold line is drawn at
its value. The same is checked in Chromium by tests/reports/test_dashboard_browser.py."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from service.reports import charts

NS = {"svg": "http://www.w3.org/2000/svg"}
SVG = charts.Svg("c", "title", "desc")
#: 0-20, 20-40, ..., 280-300 and 300+, as the dashboard draws them.
EDGES: list[tuple[float, float | None]] = [(float(lo), float(lo + 20)) for lo in range(0, 300, 20)]
EDGES.append((300.0, None))


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 - our own SVG


def _labels(root: ET.Element) -> list[ET.Element]:
    return root.findall(".//svg:text[@class='label']", NS)


@pytest.mark.parametrize("draw", ["ranked", "stacked"])
def test_a_long_organisation_fits_its_column_and_keeps_its_full_name(draw: str) -> None:
    names = [
        "Y01002",
        "https://gp-system.example",
        "https://ehr.example.nhs.uk/tenants/" + "x" * 60,
    ]
    if draw == "ranked":
        svg = charts.ranked_bars(SVG, names, [30.0, 20.0, 10.0])
    else:
        parts = [charts.Series("accepted", charts.ACCEPTED, [50.0, 50.0, 50.0])]
        svg = charts.stacked_bars(SVG, names, parts)
    labels = {e.get("data-label"): e for e in _labels(_parse(svg))}
    assert set(labels) == set(names)
    shown = {}
    for name, label in labels.items():
        assert label.find("svg:title", NS).text == name  # type: ignore[union-attr]
        shown[name] = "".join(label.itertext()).removeprefix(name)  # the tooltip comes first
        # Right-aligned at x, so its left end is at x minus its (estimated) width.
        assert float(label.get("x", "0")) - len(shown[name]) * charts._CHAR_PX >= 0, name
    assert shown[names[0]] == names[0] and shown[names[1]] == names[1]
    assert "…" in shown[names[2]] and shown[names[2]].startswith("ehr.example.nhs")


def test_abbreviation_boundary_pair() -> None:
    assert charts._abbreviate("a" * 10, 10) == "a" * 10
    cut = charts._abbreviate("abcdefghijk", 10)
    assert len(cut) == 10 and cut.startswith("abcde") and cut.endswith("hijk") and "…" in cut
    assert charts._abbreviate("https://gp.example", 18) == "https://gp.example"
    assert charts._abbreviate("https://gp.example", 17) == "gp.example"


def _ticks(root: ET.Element) -> dict[str, float]:
    return {
        "".join(t.itertext()): float(t.get("x", "nan"))
        for t in root.findall(".//svg:text[@class='tick']", NS)
    }


def test_the_open_ended_top_band_is_labelled() -> None:
    root = _parse(charts.histogram(SVG, EDGES, [1] * len(EDGES), 120.0))
    ticks = _ticks(root)
    assert list(ticks)[-1] == "300+"
    assert all(
        t.get("text-anchor") == "middle" for t in root.findall(".//svg:text[@class='tick']", NS)
    )


@pytest.mark.parametrize(("threshold", "between"), [(120.0, ("120", None)), (90.0, ("80", "120"))])
def test_the_threshold_line_is_drawn_at_its_value(
    threshold: float, between: tuple[str, str | None]
) -> None:
    root = _parse(charts.histogram(SVG, EDGES, [1] * len(EDGES), threshold))
    line = root.find(".//svg:line[@class='threshold']", NS)
    assert line is not None
    x = float(line.get("x1", "nan"))
    ticks = _ticks(root)
    low, high = between
    if high is None:  # on a band's edge: on that edge's tick
        assert x == pytest.approx(ticks[low], abs=0.1)
    else:  # 90 is a quarter of the way from 80 to 120 (two 20 mg bands)
        assert x == pytest.approx(ticks[low] + (ticks[high] - ticks[low]) / 4, abs=0.1)
