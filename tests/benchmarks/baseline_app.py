"""The HTTP benchmark's baseline (issue 14): a bare FastAPI endpoint that only parses the
same body and answers ``{"cards": []}``. Served by the same uvicorn, with the same options,
in the same run as the service, so the ratio of the two is the figure to quote: it cancels
the machine, the load generator and whatever else the machine is doing.

Not part of the service: ``uvicorn tests.benchmarks.baseline_app:app``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, FastAPI

app = FastAPI(title="benchmark baseline")


@app.get("/cds-services")
async def ready() -> dict[str, Any]:
    return {"services": []}


@app.post("/cds-services/{service_id}")
async def parse_only(service_id: str, body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
    """The floor: receive, parse the JSON into a dict, answer an empty card list."""
    return {"cards": []}
