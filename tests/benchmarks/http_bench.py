"""HTTP benchmark (issue 14, ``make bench``): what a prescriber feels, over loopback.

Starts two real uvicorn servers with the same options — the service, and a baseline that
only parses the same body (``baseline_app.py``) — and drives each with wrk (``post.lua``),
paired: for every body and connection count the baseline and the service run back to back,
in alternating order, so both see the same machine. Repeats to show the variance. Then
measures in-process evaluations per second (one core: one Python thread) and reads the peak
RSS (VmHWM) of every server process.

    .venv/bin/python -m tests.benchmarks.http_bench            # defaults below
    BENCH_SECONDS=10 BENCH_REPEATS=5 BENCH_CONNECTIONS=1,16,64 OPIOID_CDS_WORKERS=2 ...
    BENCH_AUTH=both|off|jwt    # which services to run beside the baseline (default both)

With auth on (``service-jwt``) every request carries its own ES384 client JWT from a
generated trusted issuer, pre-signed in a batch before each wrk run (``client_jwt.py``).

Writes ``var/bench/results-<UTC time>.json`` and ``.md`` (and ``latest.*``), prints the
Markdown. The figures to quote are the ratios to the baseline and the latencies; absolute
requests/s depend on the machine (docs/performance.md).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from tests.benchmarks.bodies import BODIES, raw
from tests.benchmarks.client_jwt import BenchIssuer

REPO = Path(__file__).resolve().parents[2]
LUA = Path(__file__).with_name("post.lua")
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
CONNECTIONS = tuple(int(c) for c in os.environ.get("BENCH_CONNECTIONS", "1,16,64").split(","))
WORKERS = int(os.environ.get("OPIOID_CDS_WORKERS", "1"))
OUT = Path(os.environ.get("BENCH_OUT", REPO / "var" / "bench"))
SERVICE_PATH = "/cds-services/opioid-safety-sign"
AUTH = os.environ.get("BENCH_AUTH", "both")
#: Tokens signed per wrk run of the service with auth on: more than it can serve.
TOKENS_PER_SECOND = int(os.environ.get("BENCH_TOKENS_PER_SECOND", "2000"))
#: Fixed bench-only secrets (the throw-away database is deleted with the run): with a
#: pseudonym key the audit keeps a patient key and the snooze read runs, as in production.
_PSEUDONYM_KEY = "bench-only-pseudonym-key-0123456789abcdef"
_LINK_KEY = "bench-only-link-key-0123456789abcdef0123"


def service_env(
    var: Path, *, name: str = "service", issuers: Path | None = None, base_url: str = ""
) -> dict[str, str]:
    """The service's settings for the bench: as deployed, with the audit write of every call
    (SQLite WAL, the embedded default) to a throw-away database and a pseudonym key (so the
    snooze read runs). Auth is off unless ``issuers`` is given: then the CDS Hooks JWT of
    every call is verified against that trusted issuers file, for ``base_url`` + the path.
    Set BENCH_DATABASE_URL to measure another database."""
    env = {
        **os.environ,
        "OPIOID_CDS_AUTH": "off",
        "OPIOID_CDS_DATABASE_URL": os.environ.get(
            "BENCH_DATABASE_URL", f"sqlite:///{var / f'{name}.db'}"
        ),
        "OPIOID_CDS_SPOOL_PATH": str(var / f"{name}-spool.jsonl"),
        "OPIOID_CDS_PSEUDONYM_KEY": _PSEUDONYM_KEY,
        "OPIOID_CDS_LINK_KEY": _LINK_KEY,
        "OPIOID_CDS_WORKERS": str(WORKERS),
    }
    if issuers is not None:
        env |= {
            "OPIOID_CDS_AUTH": "jwt",
            "OPIOID_CDS_TRUSTED_ISSUERS_FILE": str(issuers),
            "OPIOID_CDS_PUBLIC_BASE_URL": base_url,
            # Every token of the run stays in the replay cache until it expires.
            "OPIOID_CDS_JTI_CACHE_SIZE": "1000000",
        }
    return env


def uvicorn_command(app: str, port: int, *, factory: bool, workers: int) -> list[str]:
    """The same uvicorn options for the service and the baseline (the access log off for
    both: a deployment ships its logs elsewhere, and the service's own line per call stays)."""
    cmd = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--no-access-log", "--log-level", "warning", "--workers", str(workers)]
    return [*cmd, "--factory"] if factory else cmd


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]

    def pids(self) -> list[int]:
        """The server process and its children (uvicorn's workers)."""
        out, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            out.append(pid)
            for task in Path(f"/proc/{pid}/task").glob("*/children"):
                todo += [int(c) for c in task.read_text().split()]
        return out

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server's processes so far (/proc/<pid>/stat)."""
        ticks = 0
        for pid in self.pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
        return ticks / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> dict[int, float]:
        peaks = {}
        for pid in self.pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks[pid] = int(line.split()[1]) / 1024
        return peaks


@contextmanager
def running(name: str, cmd: list[str], env: dict[str, str], log: Path) -> Iterator[Server]:
    port = int(cmd[cmd.index("--port") + 1])
    with log.open("wb") as out:
        process = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=out)  # noqa: S603
        server = Server(name, f"http://127.0.0.1:{port}", process)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{server.url}/cds-services", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start: see {log}")
                time.sleep(0.2)
            yield server
        finally:
            process.terminate()
            process.wait(timeout=30)


def wrk(
    url: str, body_file: Path, connections: int, seconds: int, tokens: Path | None = None
) -> dict[str, Any]:
    threads = min(2, connections)  # the machine has 2 cores; wrk needs threads <= connections
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", LUA]
    env = {**os.environ, "BENCH_BODY": str(body_file), "BENCH_THREADS": str(threads)}
    if tokens is not None:
        env["BENCH_TOKENS"] = str(tokens)
    done = subprocess.run(  # noqa: S603
        [*map(str, cmd), url],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON "))
    result: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    result["errors"] = sum(
        result[k] for k in ("connect_errors", "read_errors", "write_errors", "non_2xx", "timeouts")
    )
    return result


def check_response(url: str, body: bytes, expect_cards: bool, token: str | None = None) -> None:
    """The bench measures real answers: a 200 with cards from the service (not a 4xx)."""
    headers = {"content-type": "application/json"}
    if token is not None:
        headers["authorization"] = f"Bearer {token}"
    response = httpx.post(url, content=body, headers=headers)
    response.raise_for_status()
    cards = response.json()["cards"]
    if expect_cards and not cards:
        raise RuntimeError(f"{url} answered no cards: the bench body is wrong")


def in_process(seconds: float) -> dict[str, float]:
    """Evaluations per CPU second in one thread (one core): from the raw body as the route gets
    it — JSON parse, request model, hook input, record, regimen, facts, rules, cards — to the
    serialised response."""
    from service.cds_hooks.hook_input import read_hook_input
    from service.cds_hooks.models import CdsServiceResponse, HookRequest
    from service.config import Settings
    from service.pipeline import Pipeline

    pipeline = Pipeline(Settings(auth="off"))
    now = datetime(2026, 11, 22, 12, tzinfo=UTC)
    out = {}
    for name, body in BODIES.items():
        data = raw(body)

        def once(data: bytes = data) -> bytes:
            request = HookRequest.model_validate_json(data)
            record = read_hook_input("opioid-safety-sign", request)
            cards = pipeline.cards(record, now, request.hook_instance)
            return (
                CdsServiceResponse(cards=cards)
                .model_dump_json(by_alias=True, exclude_none=True)
                .encode()
            )

        for _ in range(20):
            once()
        # CPU time, not wall time: "per second on one core" even when the machine is shared
        # (a thread that waits for a core is not charged for the wait).
        n, start = 0, time.process_time()
        while (elapsed := time.process_time() - start) < seconds:
            once()
            n += 1
        out[name] = n / elapsed
    return out


def stages(repeats: int = 200) -> dict[str, dict[str, float]]:
    """CPU microseconds per step of an evaluation, per body: where the in-process time goes
    (docs/performance.md, What limits them). Each step is timed alone on its own input."""
    from service.cds_hooks.hook_input import read_hook_input
    from service.cds_hooks.models import CdsServiceResponse, HookRequest
    from service.config import Settings
    from service.engine.evaluate import evaluate
    from service.pipeline import Pipeline

    pipeline = Pipeline(Settings(auth="off"))
    now = datetime(2026, 11, 22, 12, tzinfo=UTC)
    today = now.date()

    def cpu_us(step: Any) -> float:
        return _cpu_us(step, repeats)

    out = {}
    for name, body in BODIES.items():
        data = raw(body)
        request = HookRequest.model_validate_json(data)
        record = read_hook_input("opioid-safety-sign", request)
        regimen = pipeline.regimen(record, today)
        facts = pipeline.facts(record, regimen, today)
        cards = pipeline.cards(record, now, request.hook_instance)
        response = CdsServiceResponse(cards=cards)
        out[name] = {
            "request model (from JSON)": cpu_us(lambda d=data: HookRequest.model_validate_json(d)),
            "record (read_hook_input)": cpu_us(
                lambda r=request: read_hook_input("opioid-safety-sign", r)
            ),
            "regimen": cpu_us(lambda r=record: pipeline.regimen(r, today)),
            "facts": cpu_us(lambda r=record, g=regimen: pipeline.facts(r, g, today)),
            "rules": cpu_us(lambda f=facts, h=record.hook: evaluate(pipeline.rules, f, h)),
            "evaluation (regimen to cards)": cpu_us(
                lambda r=record, i=request.hook_instance: pipeline.evaluate(r, now, i)
            ),
            "response JSON": cpu_us(
                lambda m=response: m.model_dump_json(by_alias=True, exclude_none=True)
            ),
        }
    return out


def call_steps(var: Path, repeats: int = 300) -> dict[str, dict[str, float]]:
    """CPU microseconds of the per-call work around the pipeline, per body, each step timed
    alone: the client JWT check (ES384, a distinct token each time), the snooze read, the
    audit row built from the evaluation, and its write (SQLite WAL, a commit per call: the
    embedded default). What auth and the audit add to a request, measured in-process
    because the product has no switch to turn storage off (docs/performance.md)."""
    from service.api.audit import CallAudit
    from service.auth import ClientVerifier
    from service.auth.issuers import load_issuers
    from service.cds_hooks.hook_input import read_hook_input
    from service.cds_hooks.models import HookRequest
    from service.config import Settings
    from service.pipeline import Pipeline
    from service.storage.store import Storage

    folder = Path(tempfile.mkdtemp(prefix="steps-", dir=var))
    issuer = BenchIssuer()
    audience = "http://127.0.0.1:8000" + SERVICE_PATH
    settings = Settings(
        auth="jwt",
        trusted_issuers_file=issuer.issuers_file(folder),
        public_base_url="http://127.0.0.1:8000",
        pseudonym_key=_PSEUDONYM_KEY,
        link_key=_LINK_KEY,
        database_url=f"sqlite:///{folder / 'steps.db'}",
        spool_path=folder / "spool.jsonl",
        jti_cache_size=1_000_000,
    )
    pipeline = Pipeline(settings)
    storage = Storage(settings.database_url, settings.spool_path, pipeline.snooze_policy)
    storage.open()
    verifier = ClientVerifier(load_issuers(settings), settings)
    now = datetime(2026, 11, 22, 12, tzinfo=UTC)
    out = {}
    for name, body in BODIES.items():
        request = HookRequest.model_validate_json(raw(body))
        record = read_hook_input("opioid-safety-sign", request)
        evaluation = pipeline.evaluate(record, now, request.hook_instance)
        audit = CallAudit("opioid-safety-sign", request, settings, now)
        key = audit.patient(record.patient_id)
        assert key is not None, "the bench bodies name a patient"
        tokens = iter([issuer.token(audience) for _ in range(repeats + 10)])
        rows = iter([audit.answered(evaluation, pipeline.rules) for _ in range(repeats + 10)])
        out[name] = {
            "client JWT verification (ES384)": _cpu_us(
                lambda t=tokens: verifier.verify(f"Bearer {next(t)}", audience, time.time()),
                repeats,
            ),
            "snooze read (SQLite)": _cpu_us(lambda k=key: storage.snoozes(k, now), repeats),
            "audit row (from the evaluation)": _cpu_us(
                lambda e=evaluation, a=audit: a.answered(e, pipeline.rules), repeats
            ),
            "audit write (SQLite WAL commit)": _cpu_us(
                lambda r=rows: storage.record_hook_call(next(r)), repeats
            ),
        }
    storage.close()
    return out


def _cpu_us(step: Any, repeats: int) -> float:
    """CPU microseconds of one call of ``step`` (after 10 warm-up calls)."""
    for _ in range(10):
        step()
    start = time.process_time()
    for _ in range(repeats):
        step()
    return 1e6 * (time.process_time() - start) / repeats


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def run() -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk (make bench does)")
    var = Path(tempfile.mkdtemp(prefix="opioid-cds-bench-"))
    files = {}
    for name, body in BODIES.items():
        files[name] = var / f"{name}.json"
        files[name].write_bytes(raw(body))
    runs: list[dict[str, Any]] = []
    started = datetime.now(UTC)
    issuer = BenchIssuer()
    commands: dict[str, list[str]] = {
        "baseline": uvicorn_command(
            "tests.benchmarks.baseline_app:app", free_port(), factory=False, workers=WORKERS
        )
    }
    envs = {"baseline": service_env(var, name="baseline")}
    targets = {"off": ["service"], "jwt": ["service-jwt"]}.get(AUTH, ["service", "service-jwt"])
    for target in targets:
        port = free_port()
        commands[target] = uvicorn_command("service.main:create_app", port, factory=True,
                                           workers=WORKERS)  # fmt: skip
        jwt = target == "service-jwt"
        envs[target] = service_env(
            var,
            name=target,
            issuers=issuer.issuers_file(var) if jwt else None,
            base_url=f"http://127.0.0.1:{port}",
        )
    with ExitStack() as stack:
        servers = {
            name: stack.enter_context(running(name, cmd, envs[name], var / f"{name}.log"))
            for name, cmd in commands.items()
        }
        audience = {name: server.url + SERVICE_PATH for name, server in servers.items()}

        def tokens(target: str, seconds: int) -> Path | None:
            """A fresh batch of distinct client JWTs for one wrk run (auth on only)."""
            if target != "service-jwt":
                return None
            count = TOKENS_PER_SECOND * seconds
            return issuer.batch(audience[target], count, var / "tokens.txt")

        for file in files.values():
            for name in servers:
                token = issuer.token(audience[name]) if name == "service-jwt" else None
                check_response(audience[name], file.read_bytes(), name != "baseline", token)
                # warm up: imports, caches, the first requests
                wrk(audience[name], file, 16, 1, tokens(name, 1))
        for repeat in range(REPEATS):
            for name, file in files.items():
                for connections in CONNECTIONS:
                    order = list(servers)[:: 1 if repeat % 2 == 0 else -1]
                    for target in order:
                        batch = tokens(target, SECONDS)
                        load_before = loadavg()
                        cpu_before = servers[target].cpu_seconds()
                        result = wrk(audience[target], file, connections, SECONDS, batch)
                        # The server's CPU per request: what a request costs, whatever else
                        # the machine is doing (wall-clock figures move with the load).
                        result["cpu_ms_per_request"] = (
                            1000 * (servers[target].cpu_seconds() - cpu_before)
                            / max(result["requests"], 1)
                        )  # fmt: skip
                        runs.append(
                            {
                                "repeat": repeat,
                                "body": name,
                                "connections": connections,
                                "target": target,
                                "loadavg_before": load_before,
                                **result,
                            }
                        )
                        sys.stderr.write(
                            f"repeat {repeat} {name:8} c={connections:<3} {target:11} "
                            f"{result['rps']:8.0f} req/s  p99 {result['p99_us'] / 1000:7.1f} ms"
                            f"  CPU {result['cpu_ms_per_request']:5.2f} ms/req"
                            f"  errors {result['errors']}\n"
                        )
        rss = {name: s.peak_rss_mb() for name, s in servers.items()}
    return {
        "started": started.isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": loadavg()},
        "settings": {
            "seconds": SECONDS,
            "repeats": REPEATS,
            "connections": CONNECTIONS,
            "workers": WORKERS,
            "targets": list(commands),
            "body_bytes": {n: f.stat().st_size for n, f in files.items()},
        },
        "commands": commands,
        "runs": runs,
        "peak_rss_mb": rss,
        "in_process_per_second": in_process(max(SECONDS, 3)),
        "in_process_stages_us": stages(),
        "in_process_call_us": call_steps(var),
    }


def summary(results: dict[str, Any]) -> str:
    """The Markdown table: per body and connection count, the median over repeats (and the
    range) of each target — the baseline, the service with auth off, the service verifying a
    client JWT per call — and each service's ratio to the baseline of the same repeat."""
    runs = results["runs"]
    s = results["settings"]
    targets = s.get("targets", ["baseline", "service"])
    lines = [
        f"Run {results['started']} · {s['repeats']} repeats × {s['seconds']} s per cell · "
        f"{s['workers']} worker(s) · {results['machine']['cpus']} CPUs shared with wrk "
        f"(load average before each cell: "
        f"{min(r['loadavg_before'] for r in runs):.1f}–"
        f"{max(r['loadavg_before'] for r in runs):.1f})",
        "",
        "| body | conns | target | req/s | ratio to baseline (range) "
        "| p50 / p95 / p99 ms (p99 range) | CPU ms/request | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def med(rows: dict[int, dict[str, Any]], key: str) -> float:
        return float(statistics.median(r[key] for r in rows.values()))

    for body in BODIES:
        for c in s["connections"]:
            cell = [r for r in runs if r["body"] == body and r["connections"] == c]
            base = {r["repeat"]: r for r in cell if r["target"] == "baseline"}
            for target in targets:
                rows = {r["repeat"]: r for r in cell if r["target"] == target}
                if not rows:
                    continue
                ratios = [rows[k]["rps"] / base[k]["rps"] for k in rows if k in base]
                ratio = (
                    f"{statistics.median(ratios):.0%} ({min(ratios):.0%}–{max(ratios):.0%})"
                    if target != "baseline" and ratios
                    else "—"
                )
                p99s = [r["p99_us"] / 1000 for r in rows.values()]
                lines.append(
                    f"| {body} | {c} | {target} | {med(rows, 'rps'):.0f} | {ratio} | "
                    f"{med(rows, 'p50_us') / 1000:.1f} / {med(rows, 'p95_us') / 1000:.1f} / "
                    f"{med(rows, 'p99_us') / 1000:.1f} ({min(p99s):.1f}–{max(p99s):.1f}) | "
                    f"{med(rows, 'cpu_ms_per_request'):.2f} | "
                    f"{sum(r['errors'] for r in rows.values())} |"
                )
    ip = results["in_process_per_second"]
    for title, st in (
        ("In-process CPU µs per step of the evaluation (each timed alone):",
         results.get("in_process_stages_us", {})),
        ("In-process CPU µs per step around the pipeline (auth, snoozes, audit; each alone):",
         results.get("in_process_call_us", {})),
    ):  # fmt: skip
        lines += ["", title, ""]
        lines += ["| step | " + " | ".join(st) + " |", "|---|" + "---|" * len(st)]
        for step in next(iter(st.values()), {}):
            lines.append(f"| {step} | " + " | ".join(f"{st[b][step]:,.0f}" for b in st) + " |")
    lines += [
        "",
        "In-process, one thread, per CPU second (raw body → response JSON): "
        + ", ".join(f"{name} {v:,.0f} evaluations/s" for name, v in ip.items()),
        "",
        "Peak RSS (VmHWM) per process: "
        + "; ".join(
            f"{name} " + ", ".join(f"{mb:.0f} MB" for mb in peaks.values())
            for name, peaks in results["peak_rss_mb"].items()
        ),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    results = run()
    text = summary(results)
    OUT.mkdir(parents=True, exist_ok=True)
    stamp = results["started"].replace(":", "").replace("+0000", "Z")
    for name in (f"results-{stamp}", "latest"):
        (OUT / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
        (OUT / f"{name}.md").write_text(text)
    sys.stdout.write(text)
    sys.stderr.write(f"written to {OUT}/results-{stamp}.json and .md\n")


if __name__ == "__main__":
    main()
