"""Benchmarks for the request path (``make bench``; in ``make test`` each runs once).

The bodies are those of the HTTP benchmark (``bodies.py``): a typical GP order-sign (one
draft opioid, ten history medicines, three conditions) and a heavy one (a hundred GP Connect
style history records). We time the JSON parse alone, the evaluation alone (request model,
input reading, identification, dosing, OME, facts, rules, cards), and the whole HTTP round
trip.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from pytest_benchmark.fixture import BenchmarkFixture

from service.cds_hooks.hook_input import read_hook_input
from service.cds_hooks.models import HookRequest
from service.config import Settings
from service.main import create_app
from service.pipeline import Pipeline
from tests.benchmarks.bodies import HEAVY, TYPICAL, raw

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


RAW = raw(TYPICAL)
RAW_HEAVY = raw(HEAVY)


@pytest.fixture(scope="module")
def engine() -> Pipeline:
    return Pipeline(Settings())


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app()) as c:
        yield c


def test_bench_json_parse(benchmark: BenchmarkFixture) -> None:
    """The floor: what parsing the request's JSON costs."""
    result = benchmark(json.loads, RAW)
    assert result["hook"] == "order-sign"


@pytest.mark.parametrize("body", [RAW, RAW_HEAVY], ids=["typical", "heavy"])
def test_bench_evaluate(benchmark: BenchmarkFixture, engine: Pipeline, body: bytes) -> None:
    def run() -> int:
        request = HookRequest.model_validate(json.loads(body))
        record = read_hook_input("opioid-safety-sign", request)
        return len(engine.evaluate(record, NOW, request.hook_instance).rule_ids)

    assert benchmark(run) >= 3  # high dose, gabapentinoid, sedative, multiple opioids...


def test_bench_http_round_trip(benchmark: BenchmarkFixture, client: TestClient) -> None:
    def run() -> int:
        return client.post(
            "/cds-services/opioid-safety-sign",
            content=RAW,
            headers={"content-type": "application/json"},
        ).status_code

    assert benchmark(run) == 200
