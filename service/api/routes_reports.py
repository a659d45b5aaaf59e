"""Reports and the dashboard (issue 13 items 5 and 6): ``/reports/…`` as JSON, or CSV with
``Accept: text/csv``, and ``/dashboard``. All need the administrator's bearer token
(``AdminDep``); shapes and definitions in docs/reports.md."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from service.api.admin import require_admin
from service.api.deps import NowDep, PipelineDep, StorageDep
from service.api.errors import error_responses
from service.errors import RequestError
from service.pipeline import Pipeline
from service.reports import aggregate, dashboard, tabular
from service.reports.models import (
    OmeDistribution,
    OrganisationsReport,
    RulesOverTime,
    RulesReport,
)
from service.reports.periods import MAX_PERIODS, Period, period_count, periods
from service.reports.query import read_rows
from service.reports.rows import Answer, AuditedCall

log = logging.getLogger("service.api")
router = APIRouter(tags=["Reports"], dependencies=[Depends(require_admin)])

_EXAMPLE_SINCE = "2026-01-01"
Since = Annotated[
    date,
    Query(
        description="First day of the report, inclusive (YYYY-MM-DD, UTC).",
        openapi_examples={"this year": {"summary": "from 1 January 2026", "value": _EXAMPLE_SINCE}},
    ),
]
Until = Annotated[
    date | None,
    Query(description="Last day of the report, inclusive (YYYY-MM-DD, UTC); default today."),
]
Accept = Annotated[str | None, Header(include_in_schema=False)]
_CSV = "text/csv"


def _engine(storage: StorageDep) -> Engine:
    # Migrates first if the database was down when the service started (a no-op after).
    storage.open()
    return storage.engine


EngineDep = Annotated[Engine, Depends(_engine)]


def _responses(csv_example: str) -> dict[int | str, dict[str, object]]:
    return {
        200: {
            "description": "JSON by default; CSV (RFC 4180, a header row) with `Accept: text/csv`.",
            "content": {_CSV: {"schema": {"type": "string"}, "example": csv_example}},
        },
        **error_responses(400, 401, 503),
    }


def _json_errors(*statuses: int) -> dict[int | str, dict[str, object]]:
    """Error bodies are JSON OperationOutcomes even where the route answers HTML (FastAPI
    would otherwise document them under the route's own media type)."""
    return {
        status: {
            "description": response["description"],
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/OperationOutcome"}}
            },
        }
        for status, response in error_responses(*statuses).items()
    }


#: Report dates outside these are refused (400): far dates overflow date arithmetic (a
#: schemathesis finding: until=0001-01-01 on /dashboard) and no audit row can be there.
EARLIEST, LATEST = date(2000, 1, 1), date(2999, 12, 31)


def _in_range(day: date | None, field: str) -> None:
    if day is not None and not EARLIEST <= day <= LATEST:
        raise RequestError(f"{field} must be between {EARLIEST} and {LATEST}", field)


def _window(since: date, until: date | None, today: date) -> tuple[date, date]:
    _in_range(since, "since")
    _in_range(until, "until")
    until = until or today
    if until < since:
        raise RequestError("until must not be before since", "until")
    if period_count(since, until) > MAX_PERIODS:
        raise RequestError(
            f"the report may cover at most {MAX_PERIODS} periods of 8 weeks", "since"
        )
    return since, until


def _rows(engine: Engine, since: date, until: date) -> tuple[list[AuditedCall], list[Answer]]:
    try:
        return read_rows(engine, since, until)
    except SQLAlchemyError as exc:
        # The class only: a driver's message may carry the URL.
        log.error("report: the database could not be read (%s)", type(exc).__name__)
        raise _Unavailable() from exc


class _Unavailable(RequestError):
    status_code = 503
    code = "transient"

    def __init__(self) -> None:
        super().__init__("the reports database cannot be read now; try again later")


def _wants_csv(accept: str | None) -> bool:
    """CSV when the Accept header prefers it to JSON (RFC 9110 §12.5.1 quality values);
    JSON on a tie, for ``*/*`` and when there is no header."""
    best = {_CSV: 0.0, "application/json": 0.0}
    for part in (accept or "").lower().split(","):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if media in best:
            best[media] = max(best[media], q)
    return best[_CSV] > best["application/json"]


def _csv(text: str, name: str) -> Response:
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _rule_ids(pipeline: Pipeline) -> list[str]:
    return [r.id for r in pipeline.rules]


def _reasons(pipeline: Pipeline) -> list[str]:
    return list(pipeline.override_reasons.reasons)


def _threshold(pipeline: Pipeline) -> float:
    return float(pipeline.shared_parameters["high_dose_mg_per_day"].value)


@router.get(
    "/reports/rules",
    response_model=RulesReport,
    responses=_responses(
        "rule,fired,snoozed,accepted,overridden,override_reason:palliative-care,...\r\n"
        "high-dose-risk-assessment,12,3,2,7,0,...\r\n"
    ),
)
def rules_report(
    since: Since, pipeline: PipelineDep, engine: EngineDep, now: NowDep,
    until: Until = None, accept: Accept = None,
) -> RulesReport | Response:  # fmt: skip
    """Per rule in rules/: warnings fired, findings snoozed, cards accepted and overridden
    (by reason code), for hook calls from `since` to `until`."""
    since, until = _window(since, until, now.date())
    calls, answers = _rows(engine, since, until)
    report = aggregate.rules_report(calls, answers, _rule_ids(pipeline))
    if _wants_csv(accept):
        return _csv(tabular.rules_csv(report, _reasons(pipeline)), "rules")
    return report


@router.get(
    "/reports/rules/periods",
    response_model=RulesOverTime,
    responses=_responses("start,end,rule,fired,snoozed,accepted,overridden,...\r\n"),
)
def rules_over_time(
    since: Since, pipeline: PipelineDep, engine: EngineDep, now: NowDep,
    until: Until = None, accept: Accept = None,
) -> RulesOverTime | Response:  # fmt: skip
    """The rules report for each 8-week period from `since` (the last period ends at
    `until`, so it may be shorter)."""
    since, until = _window(since, until, now.date())
    calls, answers = _rows(engine, since, until)
    report = aggregate.rules_over_time(calls, answers, _rule_ids(pipeline), periods(since, until))
    if _wants_csv(accept):
        return _csv(tabular.rules_over_time_csv(report, _reasons(pipeline)), "rules-periods")
    return report


@router.get(
    "/reports/organisations",
    response_model=OrganisationsReport,
    responses=_responses("threshold_mg_per_day,organisation,start,end,calls,...\r\n"),
)
def organisations_report(
    since: Since, pipeline: PipelineDep, engine: EngineDep, now: NowDep,
    until: Until = None, accept: Accept = None,
) -> OrganisationsReport | Response:  # fmt: skip
    """Per organisation and 8-week period (CROP-style): patients seen, at or above the
    high-dose threshold, co-prescribed a gabapentinoid or a benzodiazepine/Z-drug;
    escalations, high-dose re-authorisations, and how prompts were answered."""
    since, until = _window(since, until, now.date())
    calls, answers = _rows(engine, since, until)
    report = aggregate.organisations_report(
        calls, answers, periods(since, until), _threshold(pipeline)
    )
    if _wants_csv(accept):
        return _csv(tabular.organisations_csv(report), "organisations")
    return report


BinWidth = Annotated[float, Query(gt=0, le=1000, description="Width of each band, mg OME/day.")]
Top = Annotated[
    float,
    Query(gt=0, le=20000, description="Bands stop here; one open band holds the rest."),
]


@router.get(
    "/reports/ome-distribution",
    response_model=OmeDistribution,
    responses=_responses("from_mg,to_mg,patients,threshold_mg_per_day\r\n0.0,20.0,1,120.0\r\n"),
)
def ome_distribution(
    since: Since, pipeline: PipelineDep, engine: EngineDep, now: NowDep,
    until: Until = None, accept: Accept = None,
    bin_width_mg: BinWidth = 20, top_mg: Top = 300,
) -> OmeDistribution | Response:  # fmt: skip
    """Patients shown at least one warning, by the highest known total of the calls that
    showed it (bands of `bin_width_mg`); those with no known total are counted apart."""
    since, until = _window(since, until, now.date())
    if top_mg / bin_width_mg > 500:
        raise RequestError("at most 500 bands: widen bin_width_mg", "bin_width_mg")
    calls, _ = _rows(engine, since, until)
    report = aggregate.ome_distribution(calls, _threshold(pipeline), bin_width_mg, top_mg)
    if _wants_csv(accept):
        return _csv(tabular.ome_distribution_csv(report), "ome-distribution")
    return report


#: The dashboard's default window: the last six 8-week periods.
_DEFAULT_WEEKS = 48


@router.get(
    "/dashboard",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {"schema": {"type": "string"}}}},
        **_json_errors(400, 401, 503),
    },
)
def dashboard_page(
    pipeline: PipelineDep, engine: EngineDep, now: NowDep,
    since: Annotated[date | None, Query(description="Default: 48 weeks before `until`.")] = None,
    until: Until = None,
) -> HTMLResponse:  # fmt: skip
    """Charts of the reports: warnings fired and overridden per rule over time, organisations
    compared, the OME distribution of flagged patients; each with a table of its numbers."""
    _in_range(until, "until")
    until = until or now.date()
    since, until = _window(since or until - timedelta(weeks=_DEFAULT_WEEKS) + timedelta(days=1),
                           until, now.date())  # fmt: skip
    calls, answers = _rows(engine, since, until)
    spans: list[Period] = periods(since, until)
    threshold = _threshold(pipeline)
    html = dashboard.page(
        since,
        until,
        aggregate.rules_over_time(calls, answers, _rule_ids(pipeline), spans),
        aggregate.organisations_report(calls, answers, spans, threshold),
        aggregate.ome_distribution(calls, threshold, 20, 300),
    )
    return HTMLResponse(html)
