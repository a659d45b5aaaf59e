"""The report counting, periods, CSV and charts without a database (issue 13 items 5, 6)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from service.config import Settings
from service.pipeline import Pipeline
from service.reports import aggregate, dashboard, tabular
from service.reports.models import OrganisationsReport, RulesOverTime, RulesReport
from service.reports.periods import Period, period_count, periods
from service.reports.rows import Answer, AuditedCall, ShownFinding


def _call(
    day: int, total: float | None, *findings: ShownFinding, patient: str = "p"
) -> AuditedCall:
    return AuditedCall(
        datetime(2026, 3, day, 12, tzinfo=UTC), "Y1", patient, total, total, findings
    )


def test_the_rules_the_organisation_measures_count_are_rules_in_rules_dir() -> None:
    """A renamed rule must fail here, not make a measure silently 0."""
    ids = {r.id for r in Pipeline(Settings()).rules}
    assert aggregate.REPORTED_RULE_IDS <= ids


def test_periods_are_8_weeks_from_since_and_the_last_is_cut_at_until() -> None:
    spans = periods(date(2026, 1, 5), date(2026, 3, 2))
    assert spans == [
        Period(date(2026, 1, 5), date(2026, 3, 1)),
        Period(date(2026, 3, 2), date(2026, 3, 2)),
    ]
    assert [p.days for p in spans] == [56, 1]
    assert period_count(date(2026, 1, 5), date(2026, 3, 1)) == 1
    assert period_count(date(2026, 1, 5), date(2026, 3, 2)) == 2


def test_a_period_contains_its_first_and_last_day_in_utc() -> None:
    p = Period(date(2026, 1, 5), date(2026, 3, 1))
    assert p.contains(datetime(2026, 1, 5, 0, 0, tzinfo=UTC))
    assert p.contains(datetime(2026, 3, 1, 23, 59, tzinfo=UTC))
    assert not p.contains(datetime(2026, 3, 2, 0, 0, tzinfo=UTC))


def test_threshold_boundary_pair_at_and_just_below() -> None:
    at = _call(1, 120.0, ShownFinding("high-dose-risk-assessment", "c1", "warning", False))
    below = _call(2, 119.9, patient="q")
    spans = [Period(date(2026, 3, 1), date(2026, 3, 31))]
    row = aggregate.organisations_report([at, below], [], spans, 120.0).periods[0]
    assert (row.patients_seen, row.patients_high_dose, row.patients_total_unknown) == (2, 1, 0)


def test_an_unknown_total_is_counted_apart_never_as_below_the_threshold() -> None:
    spans = [Period(date(2026, 3, 1), date(2026, 3, 31))]
    row = aggregate.organisations_report([_call(1, None)], [], spans, 120.0).periods[0]
    assert (row.patients_high_dose, row.patients_total_unknown) == (0, 1)


def test_an_accepted_suggestion_counts_for_the_rules_that_offered_it_an_override_for_all() -> None:
    card = [
        ShownFinding("high-dose-risk-assessment", "c1", "warning", False),
        ShownFinding("escalation", "c1", "warning", False),
    ]
    answers = [
        Answer("c1", "accepted", None, frozenset({"escalation"})),
        Answer("c1", "overridden", "specialist-plan"),
    ]
    counts = {r.rule: r for r in aggregate.rule_counts([_call(1, 150.0, *card)], answers, [])}
    assert (counts["escalation"].accepted, counts["high-dose-risk-assessment"].accepted) == (1, 0)
    assert counts["escalation"].overridden == counts["high-dose-risk-assessment"].overridden == 1


def test_csv_neutralises_a_value_that_starts_like_a_formula() -> None:
    report = RulesReport.model_validate(
        {"rules": [{"rule": "=HYPERLINK(1)", "fired": 1, "snoozed": 0, "accepted": 0,
                    "overridden": 1, "override_reasons": {"@x": 1}}]}
    )  # fmt: skip
    rows = list(csv.reader(io.StringIO(tabular.rules_csv(report, ["palliative-care"]))))
    assert rows[0] == [
        "rule", "fired", "snoozed", "accepted", "overridden",
        "override_reason:palliative-care", "override_reason:@x",
    ]  # fmt: skip
    assert rows[1] == ["'=HYPERLINK(1)", "1", "0", "0", "1", "0", "1"]


def test_an_empty_period_still_gives_a_page_with_every_section() -> None:
    spans = periods(date(2026, 1, 5), date(2026, 3, 2))
    html = dashboard.page(
        date(2026, 1, 5),
        date(2026, 3, 2),
        aggregate.rules_over_time([], [], ["escalation"], spans),
        OrganisationsReport(threshold_mg_per_day=120, periods=[]),
        aggregate.ome_distribution([], 120.0, 20, 300),
    )
    assert "No rule fired in this period." in html
    assert "No hook calls in this period." in html
    assert 'id="ome-distribution"' in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_labels_from_the_database_are_escaped_in_the_page() -> None:
    spans = [Period(date(2026, 3, 1), date(2026, 3, 31))]
    call = AuditedCall(datetime(2026, 3, 1, tzinfo=UTC), "<script>x</script>", "p", 10, 10, ())
    html = dashboard.organisations_section(aggregate.organisations_report([call], [], spans, 120.0))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert RulesOverTime(periods=[]).period_weeks == 8


def test_an_understated_total_counts_high_at_or_above_and_apart_below_the_threshold() -> None:
    """A call showing unresolved-medicine left a medicine out of its total: a lower bound."""
    spans = [Period(date(2026, 3, 1), date(2026, 3, 31))]

    def understated(total: float, patient: str) -> AuditedCall:
        left_out = ShownFinding("unresolved-medicine", f"i-{patient}", "info", False)
        warned = ShownFinding("escalation", f"w-{patient}", "warning", False)
        return _call(1, total, left_out, warned, patient=patient)

    calls = [understated(120.0, "at"), understated(119.0, "below")]
    row = aggregate.organisations_report(calls, [], spans, 120.0).periods[0]
    assert (row.patients_high_dose, row.patients_total_unknown) == (1, 1)
    ome = aggregate.ome_distribution(calls, 120.0, 20, 300)
    assert (ome.patients_flagged, ome.patients_total_unknown) == (2, 2)
    assert sum(b.patients for b in ome.bins) == 0


def test_a_rule_seen_in_one_period_only_is_charted_with_zeros_in_the_others() -> None:
    """A rule no longer in rules/ (retired, or a deployment's own) that fired in one period:
    every period lists it, so the dashboard draws it (schemathesis found a 500 here)."""
    spans = periods(date(2026, 1, 1), date(2026, 4, 30))
    old = AuditedCall(
        datetime(2026, 1, 5, tzinfo=UTC), "A1", "p", 150, 150,
        (ShownFinding("a-retired-rule", "c1", "warning", False),),
    )  # fmt: skip
    report = aggregate.rules_over_time([old], [], ["high-dose-risk-assessment"], spans)
    assert [sorted(r.rule for r in p.rules) for p in report.periods] == [
        ["a-retired-rule", "high-dose-risk-assessment"]
    ] * len(spans)
    assert [
        next(r.fired for r in p.rules if r.rule == "a-retired-rule") for p in report.periods
    ] == [1, *[0] * (len(spans) - 1)]
    assert "a-retired-rule" in dashboard.rules_section(report)
