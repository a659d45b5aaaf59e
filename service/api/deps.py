"""FastAPI dependencies as ``Annotated`` aliases. The engine and indexes are built once at
startup (``service.main.create_app``) and read from ``app.state``: nothing is loaded per
request."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request

from service.feedback_log import FeedbackLog
from service.knowledge import Engine


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _feedback_log(request: Request) -> FeedbackLog:
    feedback_log: FeedbackLog = request.app.state.feedback_log
    return feedback_log


def now_dependency() -> datetime:
    """The only clock read for a request; the engine is given this time, never reads one."""
    return datetime.now(UTC)


EngineDep = Annotated[Engine, Depends(_engine)]
FeedbackLogDep = Annotated[FeedbackLog, Depends(_feedback_log)]
NowDep = Annotated[datetime, Depends(now_dependency)]
