"""Several workers (issue 14 item 4): ``python -m service serve`` with OPIOID_CDS_WORKERS=2
runs two uvicorn worker processes on one socket, and each of them answers a hook call.

Real processes on loopback: the test stops one worker (SIGSTOP) so that only the other can
accept the next connection, for each worker in turn — which worker answered is then known,
not left to the kernel's choice.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.benchmarks.bodies import TYPICAL
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _workers(pid: int) -> list[int]:
    """The supervisor's worker processes (uvicorn spawns them with multiprocessing)."""
    children = [
        int(c)
        for task in Path(f"/proc/{pid}/task").glob("*/children")
        for c in task.read_text().split()
    ]
    return [
        c for c in children if b"resource_tracker" not in Path(f"/proc/{c}/cmdline").read_bytes()
    ]


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[int]]]:
    port = _free_port()
    log = tmp_path_factory.mktemp("workers") / "serve.log"
    env = {**os.environ, "OPIOID_CDS_WORKERS": "2", "OPIOID_CDS_AUTH": "off"}
    cmd = [sys.executable, "-m", "service", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=out, stderr=out)  # noqa: S603
    try:
        deadline = time.monotonic() + 90  # two pipelines built on a busy machine
        while log.read_text().count("Application startup complete") < 2:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}", _workers(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_two_workers_each_answer_a_hook_call(two_workers: tuple[str, list[int]]) -> None:
    url, workers = two_workers
    assert len(workers) == 2
    for answering in workers:
        others = [w for w in workers if w != answering]
        for w in others:
            os.kill(w, signal.SIGSTOP)
        try:
            # A new connection each time: only the running worker can accept it.
            response = httpx.post(
                f"{url}/cds-services/opioid-safety-sign", json=TYPICAL, timeout=30
            )
        finally:
            for w in others:
                os.kill(w, signal.SIGCONT)
        assert response.status_code == 200
        rules = {
            f["rule"]
            for card in response.json()["cards"]
            for f in card["extension"]["org.example.opioid-cds.findings"]
        }
        assert "opioid-gabapentinoid" in rules


def test_workers_setting_defaults_to_one_and_refuses_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from service.__main__ import main
    from service.config import Settings

    monkeypatch.delenv("OPIOID_CDS_WORKERS", raising=False)
    assert Settings().workers == 1
    monkeypatch.setenv("OPIOID_CDS_WORKERS", "0")
    with pytest.raises(ValidationError, match="workers"):
        Settings()
    assert main(["serve", "--workers", "0"]) == 2  # refused before anything starts
