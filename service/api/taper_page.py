"""The full taper plan as a page, for the prescriber who follows a card's link in a browser
(a new-user trial found the link opening raw JSON). Server-rendered, no script, no CDN; the
same plan the JSON gives (``GET /taper/plan`` with ``Accept: text/html``)."""

from __future__ import annotations

from html import escape
from typing import Any

_STYLE = """
body{font-family:Arial,Helvetica,sans-serif;max-width:60rem;margin:1.5rem auto;padding:0 1rem;
color:#0b0c0c;line-height:1.4}
table{border-collapse:collapse;width:100%;font-size:.95rem}
th,td{border:1px solid #b1b4b6;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f2f1}.note{color:#505a5f}.warn{border-left:.3rem solid #d4351c;padding:.5rem}
"""


def plan_page(response: dict[str, Any]) -> str:
    """``response``: the JSON body of ``GET /taper/plan`` (``TaperResponse``)."""
    plan = response["plan"]
    rows = []
    for step in plan["steps"]:
        how = "; ".join(str(m["instruction"]) for m in step["medicines"])
        note = f'<div class="note">{escape(step["note"])}</div>' if step["note"] else ""
        rows.append(
            f"<tr><td>{step['number']}</td><td>{escape(str(step['start']))}</td>"
            f"<td>{step['total_ome_mg_per_day']:g}</td><td>{escape(how)}{note}</td></tr>"
        )
    parts = [
        '<!doctype html><html lang="en-GB"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Opioid tapering plan</title><style>{_STYLE}</style></head><body>",
        "<h1>Opioid tapering plan</h1>",
        f"<p>From <strong>{plan['start_total_ome_mg_per_day']:g} mg</strong> to "
        f"<strong>{plan['final_total_ome_mg_per_day']:g} mg</strong> oral morphine equivalent "
        f"a day by {escape(str(plan['end_date']))}: {escape(plan['pace'])}. Agree the pace "
        "with the patient and review at each step; slow or pause if withdrawal symptoms or "
        "pain become hard to manage.</p>",
        '<table><caption class="note">Each step: the date it starts, the total, and how to '
        "take each medicine from that date.</caption>",
        "<thead><tr><th>Step</th><th>From</th><th>Total OME mg/day</th>"
        "<th>How to take the medicines</th></tr></thead><tbody>",
        *rows,
        "</tbody></table>",
    ]
    if plan.get("review"):
        review = plan["review"]
        parts.append(f"<p>Then, from {escape(str(review['start']))}: {escape(review['text'])}.</p>")
    for item in plan["not_planned"]:
        parts.append(
            f'<p class="warn">Not in the plan: {escape(item["label"])} '
            f"({escape(item['reason'])}).</p>"
        )
    for text in response.get("not_checked", []):
        parts.append(f'<p class="warn">Not checked: {escape(text)}</p>')
    parts.append(
        '<p class="note">Decision support: the plan informs the prescriber\'s judgement and '
        "never replaces it. The same plan as FHIR (a CarePlan) is this address with "
        "<code>Accept: application/json</code>.</p></body></html>"
    )
    return "\n".join(parts)
