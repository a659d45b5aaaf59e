"""Acknowledged means durable (issue 13): a real uvicorn is killed with SIGKILL right after
it answers 200, restarted, and the hook call, its feedback and the snooze are there — on
SQLite and on PostgreSQL. And with the database down, the spool survives the kill too."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.config import Settings
from service.pipeline import Pipeline
from service.storage import schema
from service.storage.store import Storage
from tests.scenarios.builder import hook_request
from tests.storage.conftest import HIGH_DOSE, findings_of
from tests.storage.rows import rows

pytestmark = pytest.mark.integration
RULE = "high-dose-risk-assessment"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def _server(env: dict[str, str], log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = _free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(  # noqa: S603 - our own app, fixed arguments
            [
                *(sys.executable, "-m", "uvicorn", "service.main:create_app", "--factory"),
                *("--host", "127.0.0.1", "--port", str(port)),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/cds-services", trust_env=False).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the service did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield base, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def _kill(process: subprocess.Popen[bytes]) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


def _env(settings: Any) -> dict[str, str]:
    return {
        **os.environ,
        "OPIOID_CDS_DATABASE_URL": settings.database_url,
        "OPIOID_CDS_SPOOL_PATH": str(settings.spool_path),
        "OPIOID_CDS_AUTH": "off",
    }


def _body(pipeline: Pipeline, instance: str) -> tuple[str, dict[str, Any]]:
    scenario = {**HIGH_DOSE, "name": instance}
    return hook_request(scenario, pipeline.dictionary)


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline(Settings())


def test_kill_9_right_after_200_loses_nothing(
    settings: Any, pipeline: Pipeline, tmp_path: Path
) -> None:
    env, log = _env(settings), tmp_path / "uvicorn.log"
    service, body = _body(pipeline, "kill-9 first call")
    with _server(env, log) as (base, process):
        response = httpx.post(f"{base}/cds-services/{service}", json=body, trust_env=False)
        assert response.status_code == 200
        card = findings_of(response.json())[RULE]["card"]
        feedback = {
            "feedback": [
                {
                    "card": card["uuid"],
                    "outcome": "overridden",
                    "overrideReason": {"reason": {"code": "risk-assessment-done"}},
                    "outcomeTimestamp": "2026-11-22T12:00:00Z",
                }
            ]
        }
        url = f"{base}/cds-services/{service}/feedback"
        assert httpx.post(url, json=feedback, trust_env=False).status_code == 200
        _kill(process)
    service, body = _body(pipeline, "kill-9 next call")
    with _server(env, log) as (base, process):
        again = httpx.post(f"{base}/cds-services/{service}", json=body, trust_env=False)
        assert again.status_code == 200
        _kill(process)
    # The snooze set right before the kill holds after it.
    assert findings_of(again.json())[RULE]["indicator"] == "info"
    storage = Storage(settings.database_url, settings.spool_path, {})
    try:
        assert len(rows(storage, schema.hook_call)) == 2
        (stored,) = rows(storage, schema.feedback)
        assert stored["card_known"] is True
        assert len(rows(storage, schema.patient_memory)) == 1
    finally:
        storage.close()


def test_with_the_database_down_the_spool_survives_kill_9(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    blocker = tmp_path / "var"
    blocker.write_text("not a folder")
    settings = Settings(
        database_url=f"sqlite:///{blocker / 'opioid-cds.db'}",
        spool_path=tmp_path / "spool.jsonl",
    )
    env, log = _env(settings), tmp_path / "uvicorn.log"
    service, body = _body(pipeline, "kill-9 database down")
    with _server(env, log) as (base, process):
        response = httpx.post(f"{base}/cds-services/{service}", json=body, trust_env=False)
        assert response.status_code == 200 and response.json()["cards"]
        _kill(process)
    assert settings.spool_path.read_text("utf-8").count("\n") == 1  # on disk, whole
    blocker.unlink()
    storage = Storage(settings.database_url, settings.spool_path, {})
    try:
        storage.open()  # what start-up does: migrate, then replay the spool
        assert len(rows(storage, schema.hook_call)) == 1
    finally:
        storage.close()
