"""Operations: is this worker well, and is storage keeping up (issue 13: "the failure is
logged and counted" — counted here, per worker)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from service.api.deps import StorageDep

router = APIRouter(tags=["Operations"])


class StorageHealth(BaseModel):
    database_tried: bool = Field(
        description="False while this worker backs off after the database failed "
        "(OPIOID_CDS_DATABASE_RETRY_SECONDS): rows go straight to the spool."
    )
    spooled_writes: int = Field(
        description="Audit and feedback writes this worker sent to the spool since it started."
    )
    rows_waiting: bool = Field(description="Rows wait in the spool to be replayed.")


class Health(BaseModel):
    status: Literal["ok", "degraded"] = Field(
        description="degraded: storage is backing off or rows wait in the spool. Clinical "
        "answers never depend on storage, so the service still answers."
    )
    storage: StorageHealth


@router.get("/health")
async def health(storage: StorageDep) -> Health:
    """This worker's health, for a load balancer or a monitor: always 200 while the process
    answers (cards never wait for the database); ``status`` says whether storage is keeping
    up. No patient data."""
    tried, spooled, waiting = await run_in_threadpool(storage.status)
    return Health(
        status="ok" if tried and not waiting else "degraded",
        storage=StorageHealth(database_tried=tried, spooled_writes=spooled, rows_waiting=waiting),
    )
