"""The reports as CSV (``Accept: text/csv``): one flat row per entry, a header row first.

Nested counts become columns: ``override_reasons`` one column per reason code
(``override_reason:<code>``), every code in rules/override_reasons.yaml first, then any other
code the period holds, so a spreadsheet's columns stay put from one report to the next.
Values that start like a formula are quoted with a leading apostrophe (OWASP CSV injection),
though every value here is a count, a date or an id the service wrote.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from service.reports.models import (
    OmeDistribution,
    OrganisationPeriod,
    OrganisationsReport,
    RuleCounts,
    RulesOverTime,
    RulesReport,
)

_RULE_COLUMNS = ("rule", "fired", "snoozed", "accepted", "overridden")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180 line ends
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return out.getvalue()


def _reason_codes(rules: Iterable[RuleCounts], known: Sequence[str]) -> list[str]:
    seen = {code for r in rules for code in r.override_reasons}
    return [*known, *sorted(seen - set(known))]


def _rule_cells(r: RuleCounts, codes: Sequence[str]) -> list[Any]:
    return [
        r.rule,
        r.fired,
        r.snoozed,
        r.accepted,
        r.overridden,
        *(r.override_reasons.get(c, 0) for c in codes),
    ]


def rules_csv(report: RulesReport, known_reasons: Sequence[str]) -> str:
    codes = _reason_codes(report.rules, known_reasons)
    header = [*_RULE_COLUMNS, *(f"override_reason:{c}" for c in codes)]
    return _csv(header, (_rule_cells(r, codes) for r in report.rules))


def rules_over_time_csv(report: RulesOverTime, known_reasons: Sequence[str]) -> str:
    codes = _reason_codes((r for p in report.periods for r in p.rules), known_reasons)
    header = ["start", "end", *_RULE_COLUMNS, *(f"override_reason:{c}" for c in codes)]
    return _csv(
        header,
        ([p.start, p.end, *_rule_cells(r, codes)] for p in report.periods for r in p.rules),
    )


def organisations_csv(report: OrganisationsReport) -> str:
    return _csv(
        ["threshold_mg_per_day", *OrganisationPeriod.model_fields],
        ([report.threshold_mg_per_day, *p.model_dump().values()] for p in report.periods),
    )


def ome_distribution_csv(report: OmeDistribution) -> str:
    return _csv(
        ["from_mg", "to_mg", "patients", "threshold_mg_per_day"],
        ([b.from_mg, b.to_mg, b.patients, report.threshold_mg_per_day] for b in report.bins),
    )
