"""FastAPI dependencies as ``Annotated`` aliases. The pipeline and indexes are built once at
startup (``service.main.create_app``) and read from ``app.state``: nothing is loaded per
request."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request

from service.config import Settings
from service.pipeline import Pipeline
from service.storage.store import Storage


def _pipeline(request: Request) -> Pipeline:
    pipeline: Pipeline = request.app.state.pipeline
    return pipeline


def _storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def now_dependency() -> datetime:
    """The only clock read for a request; the pipeline is given this time, never reads one."""
    return datetime.now(UTC)


PipelineDep = Annotated[Pipeline, Depends(_pipeline)]
StorageDep = Annotated[Storage, Depends(_storage)]
SettingsDep = Annotated[Settings, Depends(_settings)]
NowDep = Annotated[datetime, Depends(now_dependency)]
