"""``report.html``: one self-contained page (no scripts, no external styles or fonts; charts
are inline SVG) that a medicines-optimisation team can e-mail to a practice, as CROP sent
each practice a comparative report: the practices compared, the trend, and a review
worklist per practice, most support needed and highest dose first.

Patients appear only by their pseudonymous key; the practice re-identifies its own patients.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any

from service.find.patient import AT_LEAST, UNKNOWN

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
        f"{_count(sum(o['list_size'] for o in organisations), 'patient')} in "
        f"{_count(len(organisations), 'organisation')}, {len(patients)} with an opioid, "
        "gabapentinoid, benzodiazepine, Z-drug or unresolved medicine.</p>",
        f'<p class="note">Patients are {key}. Totals are the same arithmetic as the '
        "prescribing prompt and POST /ome. An unresolved medicine is not counted in a total "
        "and is listed for review, never as 0.</p>",
        "<h2>High-dose patients per 1,000 registered</h2>",
        _bar_chart(organisations),
    ]
    if trend:
        parts += [
            "<h2>Trend by 8-week period (all organisations)</h2>",
            _line_chart(trend),
            _trend_note(trend),
        ]
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
    """Highest tier first, then highest total (unknown totals first: they need a look; a
    lower bound by its figure; no opioid counted last)."""
    total = p["total_ome_mg_per_day"]
    if total is None:
        total = float("inf") if p["total_status"] == UNKNOWN else -1.0
    return (-(p["support_tier"] or 0), -total, p["patient_key"])


def total_text(p: dict[str, Any]) -> str:
    """The total as a reader must take it: never a bare 0 for a total that is not known."""
    total, status = p["total_ome_mg_per_day"], p["total_status"]
    if total is None:
        return "unknown" if status == UNKNOWN else ("none counted" if p["opioid"] else "no opioid")
    return f"at least {total:g}" if status == AT_LEAST else f"{total:g}"


def _worklist(org: str, rows: list[dict[str, Any]]) -> str:
    rows = sorted(rows, key=worklist_order)
    flags = (
        ("high_dose", "high dose"),
        ("opioid_gabapentinoid", "opioid with gabapentinoid"),
        ("opioid_sedative", "opioid with benzodiazepine/Z-drug"),
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
        found = [label for name, label in flags if p[name] is True]
        if p["unresolved_medicines"]:  # name them: the total leaves them out
            found = [f for f in found if f != "unresolved medicine"]
            found.append(f"not in the total (unresolved): {p['unresolved_medicines']}")
        if p["error"]:
            found.append(p["error"])
        lines.append(
            f"<tr><td><code>{escape(p['patient_key'])}</code></td>"
            f"<td>{escape(str(p['support_tier'] or ''))}</td>"
            f'<td class="n">{escape(total_text(p))}</td>'
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
        ("total_unknown_patients", "Total unknown or understated, not high"),
        # Patients with both (the finding), not everyone on a gabapentinoid or sedative.
        ("opioid_gabapentinoid_patients", "Opioid + gabapentinoid"),
        ("opioid_sedative_patients", "Opioid + benzodiazepine/Z-drug"),
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


def _trend_note(trend: list[dict[str, Any]]) -> str:
    """Past periods are rebuilt from each prescription's status now: say how many patients
    could not be placed (docs/find.md), so the past is not read as complete."""
    unknown = max(
        (t["opioid_unknown_patients"] for t in trend if t["organisation"] == "ALL"), default=0
    )
    text = (
        "Past periods are rebuilt from each prescription's status now: one stopped since is "
        "counted in a period only if it records when it ended or how long its supply lasted."
    )
    if unknown:
        text += (
            f" Up to {_count(unknown, 'patient')} in a past period had an opioid stopped since "
            "with no end recorded: they may have been on it then and are not in the counts "
            "(trend.csv, opioid_unknown_patients)."
        )
    return f'<p class="note">{text}</p>'


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


#: Room for one axis label ("2026-08-12" at 11px), in px: labels closer than this overlap.
_LABEL_PX = 72


def _line_chart(trend: list[dict[str, Any]]) -> str:
    points = [t for t in trend if t["organisation"] == "ALL"]
    series = (
        ("opioid_patients", "#4a6fa5", "on opioids"),
        ("high_dose_patients", "#c0392b", "high dose"),
    )
    top = max((t[name] for t in points for name, _, _ in series), default=0) or 1
    # The right margin holds half the last date label, centred on its point.
    w, h, left, right, plot_top, bottom = 640, 240, 50, 45, 30, 40
    step = (w - left - right) / max(len(points) - 1, 1)

    def xy(i: int, v: int) -> str:
        return f"{left + i * step:.1f},{h - bottom - (h - bottom - plot_top) * v / top:.1f}"

    items = [
        f'<line x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}" stroke="#888"/>',
        f'<text x="{left - 4}" y="{plot_top + 4}" text-anchor="end">{top}</text>',
        f'<text x="{left - 4}" y="{h - bottom}" text-anchor="end">0</text>',
    ]
    for k, (name, colour, label) in enumerate(series):
        coords = " ".join(xy(i, t[name]) for i, t in enumerate(points))
        items.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}"/>'
        )
        # A legend above the plot: labels at the line ends overlap when the lines meet.
        x = left + k * 110
        items.append(
            f'<rect x="{x}" y="6" width="14" height="4" fill="{colour}"/>'
            f'<text x="{x + 18}" y="12" fill="{colour}">{label}</text>'
        )
    # Every k-th period end, counted back from the last (always labelled), so that labels
    # are at least a label's width apart.
    every = max(1, -(-_LABEL_PX // max(int(step), 1)))
    for i, t in enumerate(points):
        if (len(points) - 1 - i) % every == 0:
            items.append(
                f'<text x="{left + i * step:.1f}" y="{h - bottom + 16}" text-anchor="middle">'
                f"{t['period_end']}</text>"
            )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img" '
        'aria-label="Patients on opioids and at high dose by period">' + "".join(items) + "</svg>"
    )
