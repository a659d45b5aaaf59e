"""Report periods: consecutive 8-week periods from the report's ``since`` date.

CROP (the Campaign to Reduce Opioid Prescribing) sent practices comparative reports every
two months; 8 weeks keeps each period the same length and the same weekdays, so periods
compare fairly. Periods start at ``since`` (inclusive, UTC) and the last one is cut at
``until`` (inclusive), so it may be shorter: its ``days`` says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

PERIOD_WEEKS = 8
#: At most this many periods in one report (about 15 years): a bound on work per request.
MAX_PERIODS = 100


@dataclass(frozen=True, slots=True)
class Period:
    start: date  # first day, inclusive
    end: date  # last day, inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def contains(self, at: datetime) -> bool:
        return self.start <= at.astimezone(UTC).date() <= self.end


def periods(since: date, until: date) -> list[Period]:
    """The 8-week periods covering ``since``..``until`` (both inclusive); ``until`` must not
    be before ``since`` (the route checks it)."""
    out = []
    start = since
    while start <= until:
        end = min(start + timedelta(weeks=PERIOD_WEEKS) - timedelta(days=1), until)
        out.append(Period(start, end))
        start = end + timedelta(days=1)
    return out


def period_count(since: date, until: date) -> int:
    return (until - since).days // (PERIOD_WEEKS * 7) + 1


def window(since: date, until: date) -> tuple[datetime, datetime]:
    """The half-open UTC instant range [since 00:00, the day after until 00:00)."""
    return (
        datetime.combine(since, time(), UTC),
        datetime.combine(until + timedelta(days=1), time(), UTC),
    )
