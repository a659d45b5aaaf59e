"""FastAPI dependencies as ``Annotated`` aliases. The pipeline and indexes are built once at
startup (``service.main.create_app``) and read from ``app.state``: nothing is loaded per
request.

The dependencies are ``async def``: FastAPI runs a plain ``def`` dependency in the thread
pool, one hop per dependency per request, and these only read ``app.state`` (issue 14: the
hops cost more CPU than the rest of FastAPI's work on a request)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request

from service.api.review_memory import ReviewPromptMemory
from service.config import Settings
from service.pipeline import Pipeline
from service.storage.store import Storage


async def _pipeline(request: Request) -> Pipeline:
    pipeline: Pipeline = request.app.state.pipeline
    return pipeline


async def _storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


async def _review_prompt_memory(request: Request) -> ReviewPromptMemory:
    memory: ReviewPromptMemory = request.app.state.review_prompt_memory
    return memory


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def current_time() -> datetime:
    return datetime.now(UTC)


async def now_dependency() -> datetime:
    """The only clock read for a request; the pipeline is given this time, never reads one.
    Tests override it (``app.dependency_overrides[now_dependency]``)."""
    return current_time()


PipelineDep = Annotated[Pipeline, Depends(_pipeline)]
StorageDep = Annotated[Storage, Depends(_storage)]
SettingsDep = Annotated[Settings, Depends(_settings)]
ReviewPromptMemoryDep = Annotated[ReviewPromptMemory, Depends(_review_prompt_memory)]
NowDep = Annotated[datetime, Depends(now_dependency)]
