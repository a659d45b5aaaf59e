"""``report.html``: one self-contained page (no scripts, no external styles or fonts; charts
are inline SVG) that a medicines-optimisation team can e-mail to a practice, as CROP sent
each practice a comparative report: the practices compared, the trend, and a review
worklist per practice, most support needed and highest dose first.

Patients appear only by their pseudonymous key; the practice re-identifies its own patients.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from service.find.outputs import RunFacts

#: Rows of a practice's worklist on the page; the rest are in patients.csv.
WORKLIST_ROWS = 100
#: Practices in the comparison chart (highest rate first); all are in organisations.csv.
CHART_PRACTICES = 40
_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1d1d1d;max-width:72rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}h3{font-size:1rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.85rem}
th,td{border:1px solid #bbb;padding:.2rem .4rem;text-align:left;vertical-align:top}
th{background:#eef}td.n{text-align:right}.note{color:#555;font-size:.85rem}
svg text{font-size:11px;font-family:system-ui,sans-serif}
"""


def report_html(
    patients: list[dict[str, Any]],
    organisations: list[dict[str, Any]],
    trend: list[dict[str, Any]],
    run: RunFacts,
) -> str:
    threshold = f"{run.high_dose_mg_per_day:g}"
    key = (
        "keyed with the configured pseudonym key (OPIOID_CDS_PSEUDONYM_KEY): the same patient "
        "has the same key in every run"
        if run.key == "configured"
        else "keyed with a per-run key that was not kept (OPIOID_CDS_PSEUDONYM_KEY unset): keys "
        "cannot be linked to another run"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>Find: opioid prescribing review</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Find: patients for an opioid review</h1>",
        f"<p>As of <b>{run.as_of.isoformat()}</b>; OME profile <b>{escape(run.profile)}</b>; "
        f"high dose at or above <b>{threshold} mg OME/day</b>. "
        f"{sum(o['list_size'] for o in organisations)} patients in {len(organisations)} "
        f"organisations, {len(patients)} with an opioid, gabapentinoid, benzodiazepine, "
        "Z-drug or unresolved medicine.</p>",
        f'<p class="note">Patients are {key}. Totals are the same arithmetic as the '
        "prescribing prompt and POST /ome. An unresolved medicine is not counted in a total "
        "and is listed for review, never as 0.</p>",
        "<h2>High-dose patients per 1,000 registered</h2>",
        _bar_chart(organisations),
    ]
    if trend:
        parts += ["<h2>Trend by 8-week period (all organisations)</h2>", _line_chart(trend)]
    parts += ["<h2>Organisations</h2>", _organisation_table(organisations, run)]
    parts.append("<h2>Review worklists</h2>")
    parts.append(
        '<p class="note">Each practice\'s patients in scope, most support needed first '
        "(support tier, rules/stratification.yaml), then highest total. "
        f"At most {WORKLIST_ROWS} per practice here; all are in patients.csv.</p>"
    )
    by_org: dict[str, list[dict[str, Any]]] = {}
    for p in patients:
        by_org.setdefault(p["organisation"], []).append(p)
    for org in sorted(by_org):
        parts.append(_worklist(org, by_org[org]))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def worklist_order(p: dict[str, Any]) -> tuple[int, float, str]:
    """Highest tier first, then highest total (unknown totals first: they need a look)."""
    total = p["total_ome_mg_per_day"]
    return (
        -(p["support_tier"] or 0),
        -(total if total is not None else float("inf")),
        p["patient_key"],
    )


def _worklist(org: str, rows: list[dict[str, Any]]) -> str:
    rows = sorted(rows, key=worklist_order)
    flags = (
        ("high_dose", "high dose"),
        ("opioid_gabapentinoid", "with gabapentinoid"),
        ("opioid_sedative", "with benzodiazepine/Z-drug"),
        ("long_term", "long-term"),
        ("multiple_opioids", "multiple opioids"),
        ("escalation", "escalating"),
        ("unresolved", "unresolved medicine"),
    )
    lines = [
        f"<h3>{escape(org)} ({len(rows)})</h3>",
        "<table><tr><th>Patient key</th><th>Tier</th><th>mg OME/day</th>"
        "<th>Findings</th><th>Medicines</th></tr>",
    ]
    for p in rows[:WORKLIST_ROWS]:
        total = p["total_ome_mg_per_day"]
        found = [label for name, label in flags if p[name] is True]
        if p["error"]:
            found.append(p["error"])
        lines.append(
            f"<tr><td><code>{escape(p['patient_key'])}</code></td>"
            f"<td>{escape(str(p['support_tier'] or ''))}</td>"
            f'<td class="n">{"unknown" if total is None else f"{total:g}"}</td>'
            f"<td>{escape('; '.join(found))}</td><td>{escape(p['medicines'] or '')}</td></tr>"
        )
    lines.append("</table>")
    if len(rows) > WORKLIST_ROWS:
        lines.append(f'<p class="note">{len(rows) - WORKLIST_ROWS} more in patients.csv.</p>')
    return "\n".join(lines)


def _organisation_table(organisations: list[dict[str, Any]], run: RunFacts) -> str:
    columns = [
        ("organisation", "Organisation"),
        ("list_size", "List size"),
        ("opioid_patients", "On opioids"),
        ("high_dose_patients", "High dose"),
        ("high_dose_per_1000", "High dose per 1,000"),
        ("opioid_gabapentinoid_patients", "With gabapentinoid"),
        ("opioid_sedative_patients", "With benzodiazepine/Z-drug"),
        ("unresolved_patients", "Unresolved"),
        *((f"tier_{t}_patients", f"Tier {t}") for t, _ in run.tiers),
    ]
    head = "".join(f"<th>{escape(label)}</th>" for _, label in columns)
    body = [
        "<tr>"
        + "".join(
            f"<td{'' if name == 'organisation' else ' class=n'}>{escape(str(o[name]))}</td>"
            for name, _ in columns
        )
        + "</tr>"
        for o in organisations
    ]
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _bar_chart(organisations: list[dict[str, Any]]) -> str:
    shown = sorted(organisations, key=lambda o: (-o["high_dose_per_1000"], o["organisation"]))
    shown = shown[:CHART_PRACTICES]
    if not shown:
        return '<p class="note">No organisations.</p>'
    top = max(o["high_dose_per_1000"] for o in shown) or 1.0
    bar_h, label_w, width = 16, 140, 420
    height = bar_h * len(shown) + 10
    items = []
    for i, o in enumerate(shown):
        y = 5 + i * bar_h
        w = width * o["high_dose_per_1000"] / top
        items.append(
            f'<text x="{label_w - 4}" y="{y + 12}" text-anchor="end">'
            f"{escape(o['organisation'][:22])}</text>"
            f'<rect x="{label_w}" y="{y + 2}" width="{w:.1f}" height="{bar_h - 4}" '
            'fill="#4a6fa5"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 12}">{o["high_dose_per_1000"]:g}</text>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + width + 60}" '
        f'height="{height}" role="img" aria-label="High-dose patients per 1,000 by organisation">'
        + "".join(items)
        + "</svg>"
    )


def _line_chart(trend: list[dict[str, Any]]) -> str:
    points = [t for t in trend if t["organisation"] == "ALL"]
    series = (
        ("opioid_patients", "#4a6fa5", "on opioids"),
        ("high_dose_patients", "#c0392b", "high dose"),
    )
    top = max((t[name] for t in points for name, _, _ in series), default=0) or 1
    w, h, left, bottom = 560, 220, 50, 40
    step = (w - left - 20) / max(len(points) - 1, 1)

    def xy(i: int, v: int) -> str:
        return f"{left + i * step:.1f},{h - bottom - (h - bottom - 10) * v / top:.1f}"

    items = [
        f'<line x1="{left}" y1="{h - bottom}" x2="{w - 10}" y2="{h - bottom}" stroke="#888"/>',
        f'<text x="{left - 4}" y="14" text-anchor="end">{top}</text>',
        f'<text x="{left - 4}" y="{h - bottom}" text-anchor="end">0</text>',
    ]
    for name, colour, label in series:
        coords = " ".join(xy(i, t[name]) for i, t in enumerate(points))
        items.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}"/>'
        )
        last = points[-1][name] if points else 0
        items.append(
            f'<text x="{w - 10}" y="{xy(len(points) - 1, last).split(",")[1]}" '
            f'fill="{colour}" text-anchor="end">{label}</text>'
        )
    for i, t in enumerate(points):
        if i % max(len(points) // 6, 1) == 0 or i == len(points) - 1:
            anchor = "end" if i == len(points) - 1 and i else "middle"
            items.append(
                f'<text x="{left + i * step:.1f}" y="{h - bottom + 16}" text-anchor="{anchor}">'
                f"{t['period_end']}</text>"
            )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" '
        'aria-label="Patients on opioids and at high dose by period">' + "".join(items) + "</svg>"
    )
