"""The ``/dashboard`` page: the reports as charts, each with a table of its numbers.

One self-contained HTML page (inline CSS, server-drawn SVG, no JavaScript, nothing from
another host), so it works on networks that block CDNs and with the browser's scripts off.
Accessibility: one ``h1``, a ``h2`` per report and a ``h3`` per chart, a skip link, each
chart an image with a title and description, and each chart's data as a ``<table>`` with a
caption and header cells (WCAG 2.2 1.1.1 non-text content, 1.3.1 info and relationships).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape
from importlib.resources import files

from service.reports import charts
from service.reports.models import (
    OmeDistribution,
    OrganisationPeriod,
    OrganisationsReport,
    RulesOverTime,
)

_CSS = (files("service.reports") / "static" / "dashboard.css").read_text("utf-8")


def _table(caption: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in header)
    body = "".join(
        "<tr>"
        + f'<th scope="row">{escape(str(r[0]))}</th>'
        + "".join(f"<td>{escape(str(v))}</td>" for v in r[1:])
        + "</tr>"
        for r in rows
    )
    return (
        # A wide table scrolls in its own focusable region, not the page (WCAG 1.4.10).
        f"<details><summary>Table: {escape(caption)}</summary>"
        f'<div class="table-wrap" role="region" tabindex="0" aria-label="{escape(caption)}">'
        f"<table><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table></div></details>"
    )


def _label(start: date) -> str:
    return start.strftime("%d %b %y")


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "–"


def rules_section(report: RulesOverTime) -> str:
    labels = [_label(p.start) for p in report.periods]
    rule_ids = sorted({r.rule for p in report.periods for r in p.rules})
    parts = [
        '<section aria-labelledby="rules-h"><h2 id="rules-h">Warnings fired and overridden, '
        "per rule</h2><p>Bars: warnings shown per 8-week period. Line: the share of those "
        "cards overridden. Snoozed findings are shown as information and not counted as "
        "fired.</p>"
    ]
    drawn = 0
    for rule in rule_ids:
        counts = [next(r for r in p.rules if r.rule == rule) for p in report.periods]
        if not any(c.fired or c.snoozed or c.overridden or c.accepted for c in counts):
            continue
        drawn += 1
        rate = [min(1.0, c.overridden / c.fired) if c.fired else None for c in counts]
        svg = charts.Svg(
            f"rule-{rule}",
            f"{rule}: warnings fired and % overridden per 8-week period",
            f"{sum(c.fired for c in counts)} warnings fired in {len(counts)} periods, "
            f"{sum(c.overridden for c in counts)} overrides.",
        )
        parts.append(
            f'<article class="chart-block"><h3>{escape(rule)}</h3>'
            + charts.fires_and_override_rate(svg, labels, [c.fired for c in counts], rate)
            + _table(
                f"{rule} per period",
                ["Period from", "Fired", "Snoozed", "Accepted", "Overridden", "% overridden"],
                [
                    [lab, c.fired, c.snoozed, c.accepted, c.overridden, _pct(c.overridden, c.fired)]
                    for lab, c in zip(labels, counts, strict=True)
                ],
            )
            + "</article>"
        )
    if not drawn:
        parts.append("<p>No rule fired in this period.</p>")
    parts.append("</section>")
    return "".join(parts)


_MEASURES = (
    ("patients_high_dose", "at or above the high-dose threshold"),
    ("patients_with_gabapentinoid", "with an opioid and a gabapentinoid"),
    ("patients_with_benzodiazepine_or_z_drug", "with an opioid and a benzodiazepine or Z-drug"),
)


def _org(p: OrganisationPeriod) -> str:
    return p.organisation or "(not identified)"


def _share(p: OrganisationPeriod, field: str) -> float:
    n: int = getattr(p, field)
    return 100 * n / p.patients_seen if p.patients_seen else 0.0


def _change(now: float, before: OrganisationPeriod | None, field: str) -> str:
    """The change since the previous period, in percentage points (CROP showed trends)."""
    if before is None or not before.patients_seen:
        return ""
    delta = now - _share(before, field)
    return f"({'+' if delta >= 0 else '−'}{abs(delta):.0f} pts)"


def _answers_chart(rows: Sequence[OrganisationPeriod], latest: date) -> str:
    """How prompts were answered: accepted (and not overridden), overridden, unanswered,
    as shares of the prompts each organisation's prescribers were shown."""
    shown = [p for p in rows if p.prompts_shown]
    if not shown:
        return ""

    def pct(n: int, p: OrganisationPeriod) -> float:
        return 100 * n / p.prompts_shown

    series = [
        charts.Series(
            "accepted",
            charts.ACCEPTED,
            [pct(p.prompts_shown - p.prompts_unanswered - p.prompts_overridden, p) for p in shown],
        ),
        charts.Series("overridden", charts.LINE, [pct(p.prompts_overridden, p) for p in shown]),
        charts.Series(
            "unanswered", charts.UNANSWERED, [pct(p.prompts_unanswered, p) for p in shown]
        ),
    ]
    svg = charts.Svg(
        "orgs-prompts",
        "How prompts were answered, % of prompts shown, by organisation",
        f"{len(shown)} organisations, period from {_label(latest)}: accepted, overridden "
        "(a card both accepted and overridden counts as overridden) and unanswered.",
    )
    return (
        '<article class="chart-block"><h3>How prompts were answered</h3>'
        + charts.stacked_bars(svg, [_org(p) for p in shown], series)
        + "</article>"
    )


def organisations_section(report: OrganisationsReport) -> str:
    parts = [
        '<section aria-labelledby="orgs-h"><h2 id="orgs-h">Organisations compared</h2>',
    ]
    if not report.periods:
        parts.append("<p>No hook calls in this period.</p></section>")
        return "".join(parts)
    latest = max(p.start for p in report.periods)
    rows = [p for p in report.periods if p.start == latest]
    end = rows[0].end
    parts.append(
        f"<p>As the Campaign to Reduce Opioid Prescribing did, each organisation's share of "
        f"the patients it saw, ranked, for the latest 8-week period ({_label(latest)} to "
        f"{_label(end)}). High-dose threshold: {report.threshold_mg_per_day:g} mg OME/day. "
        "Patients whose total could not be worked out are counted in the table, never as "
        "below the threshold. In brackets: the change since the previous period.</p>"
    )
    previous = {
        p.organisation: p for p in report.periods if p.end < latest and (latest - p.end).days == 1
    }
    for field, words in _MEASURES:
        values = [_share(p, field) for p in rows]
        notes = [
            _change(values[i], previous.get(p.organisation), field) for i, p in enumerate(rows)
        ]
        svg = charts.Svg(
            f"orgs-{field}",
            f"Patients {words}, % of patients seen, by organisation",
            f"{len(rows)} organisations, period from {_label(latest)}.",
        )
        parts.append(
            f'<article class="chart-block"><h3>Patients {escape(words)}</h3>'
            + charts.ranked_bars(svg, [_org(p) for p in rows], values, notes)
            + "</article>"
        )
    parts.append(_answers_chart(rows, latest))
    parts.append(
        _table(
            "Organisations by period",
            [
                "Organisation",
                "Period from",
                "Calls",
                "Patients seen",
                "At/above threshold",
                "Total unknown",
                "With gabapentinoid",
                "With benzodiazepine/Z-drug",
                "Escalations",
                "High-dose re-authorisations",
                "Prompts shown",
                "Accepted",
                "Overridden",
                "Unanswered",
            ],
            [
                [
                    _org(p),
                    _label(p.start),
                    p.calls,
                    p.patients_seen,
                    p.patients_high_dose,
                    p.patients_total_unknown,
                    p.patients_with_gabapentinoid,
                    p.patients_with_benzodiazepine_or_z_drug,
                    p.escalations,
                    p.high_dose_reauthorisations,
                    p.prompts_shown,
                    p.prompts_accepted,
                    p.prompts_overridden,
                    p.prompts_unanswered,
                ]
                for p in report.periods
            ],
        )
        + "</section>"
    )
    return "".join(parts)


def ome_section(report: OmeDistribution) -> str:
    edges = [(b.from_mg, b.to_mg) for b in report.bins]
    counts = [b.patients for b in report.bins]
    svg = charts.Svg(
        "ome-distribution",
        "Flagged patients by total oral morphine equivalent (mg/day)",
        f"{report.patients_flagged} flagged patients; threshold "
        f"{report.threshold_mg_per_day:g} mg OME/day; "
        f"{report.patients_total_unknown} with no known total.",
    )
    bands = [f"{b.from_mg:g}–{b.to_mg:g}" if b.to_mg else f"{b.from_mg:g}+" for b in report.bins]
    return (
        '<section aria-labelledby="ome-h"><h2 id="ome-h">OME distribution of flagged '
        "patients</h2>"
        f"<p>Patients shown at least one warning, by the highest known total of the calls "
        f"that showed it; bands at or above the threshold are darker. "
        f"{report.patients_total_unknown} flagged patients had no known total and are not "
        "drawn.</p>"
        + charts.histogram(svg, edges, counts, report.threshold_mg_per_day)
        + _table(
            "Flagged patients by band (mg OME/day)",
            ["Band", "Patients"],
            list(zip(bands, counts, strict=True)),
        )
        + "</section>"
    )


def page(
    since: date,
    until: date,
    rules: RulesOverTime,
    organisations: OrganisationsReport,
    ome: OmeDistribution,
) -> str:
    return (
        '<!doctype html><html lang="en-GB"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Opioid prescribing safety — dashboard</title>"
        f"<style>{_CSS}</style></head><body>"
        '<a class="skip" href="#main">Skip to the reports</a>'
        "<header><h1>Opioid prescribing safety: dashboard</h1>"
        f"<p>From {since.isoformat()} to {until.isoformat()} (UTC), in 8-week periods. "
        "The same numbers as CSV or JSON: <code>/reports/rules</code>, "
        "<code>/reports/organisations</code>, <code>/reports/ome-distribution</code>.</p>"
        '<form method="get" action="dashboard"><label for="since">From</label> '
        f'<input id="since" name="since" type="date" value="{since.isoformat()}"> '
        '<label for="until">to</label> '
        f'<input id="until" name="until" type="date" value="{until.isoformat()}"> '
        '<button type="submit">Show</button></form></header>'
        '<main id="main">'
        + rules_section(rules)
        + organisations_section(organisations)
        + ome_section(ome)
        + "</main><footer><p>Decision support audit: counts only, no patient "
        "identifiers. See docs/reports.md for each measure's definition.</p></footer>"
        "</body></html>"
    )
