"""Find's output files from patients' rows (issue 15): a total that is not known is never
written or shown as 0, an understated one reads "at least", and the organisation counts treat
it as the reports do (service.reports.aggregate): a lower bound at or above the threshold is
high dose; below it, the patient is counted as "total unknown", never as below."""

from __future__ import annotations

import csv
import io
import itertools
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from service.find.outputs import RunFacts, finish, period_ends
from service.find.report_html import _line_chart
from service.find.rows import ROW_SCHEMA
from tests.unit.find.test_find_patient import AS_OF, CTX, _undosed, assess
from tests.unit.ome.fhir_builders import DIAZEPAM_2, MORPHINE_MR_30, MORPHINE_MR_60, request

RUN = RunFacts(
    as_of=AS_OF,
    profile="uk-opioids-aware",
    key="configured",
    high_dose_mg_per_day=120,
    tiers=((1, "a"), (2, "b"), (3, "c"), (4, "d")),
    period_ends=CTX.period_ends,
    files=1,
)


def _finish(tmp_path: Path, rows: dict[str, dict[str, Any]]) -> tuple[Path, dict[str, str]]:
    """The rows keyed by name (the key stands for the patient), finished into files."""
    (tmp_path / "rows").mkdir()
    named = [{**row, "patient_key": name} for name, row in rows.items()]
    pq.write_table(pa.Table.from_pylist(named, ROW_SCHEMA), tmp_path / "rows" / "p.parquet")
    out = tmp_path / "out"
    finish(tmp_path / "rows", out, RUN)
    orgs = list(csv.DictReader(io.StringIO((out / "organisations.csv").read_text("utf-8"))))
    assert len(orgs) == 1
    return out, orgs[0]


def _patients_csv(out: Path) -> dict[str, dict[str, str]]:
    text = (out / "patients.csv").read_text("utf-8")
    return {r["patient_key"]: r for r in csv.DictReader(io.StringIO(text))}


def _total_cell(html: str, key: str) -> str:
    return html.split(f"<code>{key}</code>")[1].split('<td class="n">')[1].split("</td>")[0]


def test_totals_not_known_are_never_0_in_the_files_or_the_report(tmp_path: Path) -> None:
    out, _ = _finish(
        tmp_path,
        {
            "undosed": assess(_undosed()),
            "partly": assess(request(MORPHINE_MR_30, text="1 twice a day", id="m"), _undosed()),
            "benzo": assess(request(DIAZEPAM_2, text="1 twice a day", id="d")),
            "dosed": assess(request(MORPHINE_MR_30, text="1 twice a day", id="m")),
        },
    )
    patients = _patients_csv(out)
    assert patients["undosed"]["total_ome_mg_per_day"] == ""
    assert patients["undosed"]["total_status"] == "unknown"
    assert patients["benzo"]["total_ome_mg_per_day"] == ""
    assert patients["partly"]["total_ome_mg_per_day"] == "60"
    assert patients["partly"]["total_status"] == "at least"
    assert patients["dosed"]["total_status"] == "complete"
    html = (out / "report.html").read_text("utf-8")
    assert _total_cell(html, "undosed") == "unknown"
    assert _total_cell(html, "partly") == "at least 60"
    assert _total_cell(html, "benzo") == "no opioid"
    assert _total_cell(html, "dosed") == "60"
    # The worklist names the medicine left out of the total.
    partly = html.split("<code>partly</code>")[1].split("</tr>")[0]
    assert "not in the total (unresolved): Morphine 30mg modified-release tablets" in partly


def test_an_understated_total_at_the_threshold_counts_as_high_dose(tmp_path: Path) -> None:
    _, org = _finish(
        tmp_path,
        {"at-least-120": assess(request(MORPHINE_MR_60, text="1 twice a day"), _undosed())},
    )
    assert org["high_dose_patients"] == "1" and org["total_unknown_patients"] == "0"


def test_an_understated_total_below_the_threshold_counts_as_unknown(tmp_path: Path) -> None:
    _, org = _finish(
        tmp_path,
        {
            "at-least-90": assess(request(MORPHINE_MR_30, text="1 three times a day"), _undosed()),
            "undosed": assess(_undosed()),
            "complete-90": assess(request(MORPHINE_MR_30, text="1 three times a day")),
        },
    )
    assert org["high_dose_patients"] == "0" and org["total_unknown_patients"] == "2"


def test_report_wording(tmp_path: Path) -> None:
    out, _ = _finish(tmp_path, {"dosed": assess(request(MORPHINE_MR_30, text="1 twice a day"))})
    html = (out / "report.html").read_text("utf-8")
    assert "1 patient in 1 organisation," in html
    assert "<th>Opioid + benzodiazepine/Z-drug</th>" in html
    assert "<th>Opioid + gabapentinoid</th>" in html


def test_trend_axis_labels_do_not_overlap() -> None:
    # 13 periods (the default): "2026-08-12" at 11px is about 62px wide.
    trend = [
        {"organisation": "ALL", "period_end": end.isoformat(), "opioid_patients": 11}
        | {"high_dose_patients": 0, "opioid_unknown_patients": 0}
        for end in period_ends(AS_OF, "2020-01-01", 13)
    ]
    assert len(trend) == 13
    svg = _line_chart(trend)
    width = float(svg.split('width="')[1].split('"')[0])
    labels = re.findall(
        r'<text x="([\d.]+)" y="[\d.]+" text-anchor="middle">(\d{4}-\d\d-\d\d)<', svg
    )
    xs = [float(x) for x, _ in labels]
    assert labels[-1][1] == AS_OF.isoformat()  # the last period is always labelled
    assert all(b - a >= 70 for a, b in itertools.pairwise(xs))
    assert xs[0] - 31 >= 0 and xs[-1] + 31 <= width  # centred labels fit inside


def test_trend_counts_and_states_patients_whose_past_is_not_known(tmp_path: Path) -> None:
    stopped = request(
        MORPHINE_MR_30, text="1 twice a day", id="s", status="stopped", authored_on="2026-03-01"
    )
    out, _ = _finish(
        tmp_path,
        {"stopped": assess(stopped), "on": assess(request(MORPHINE_MR_30, text="1 twice a day"))},
    )
    rows = list(csv.DictReader(io.StringIO((out / "trend.csv").read_text("utf-8"))))
    every = [r for r in rows if r["organisation"] == "ALL"]
    assert [r["opioid_unknown_patients"] for r in every] == [
        "0" if r["period_end"] < "2026-03-01" or r["period_end"] == AS_OF.isoformat() else "1"
        for r in every
    ]
    html = (out / "report.html").read_text("utf-8")
    assert "Up to 1 patient in a past period had an opioid stopped since" in html
