"""Flame graph of the service under load (issue 14, ``make profile``).

Starts the service as ``make bench`` does (one worker, auth off), drives it with wrk (16
connections) with the typical or heavy order-sign, and records the worker with py-spy (a
sampling profiler: it attaches to the running process, so the figure is of the real
server, HTTP layers included).

    .venv/bin/python -m tests.benchmarks.profile_http typical docs/profiles/typical.svg

Writes an SVG flame graph (``--format raw`` as the third argument writes collapsed stacks
instead, for counting by function).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from tests.benchmarks.bodies import BODIES, raw
from tests.benchmarks.http_bench import (
    SERVICE_PATH,
    free_port,
    running,
    service_env,
    uvicorn_command,
    wrk,
)

SECONDS = 15
CONNECTIONS = int(os.environ.get("PROFILE_CONNECTIONS", "16"))
#: PROFILE_ALL=1: every thread on CPU, not only the one holding the GIL
GIL = [] if os.environ.get("PROFILE_ALL") else ["--gil"]


def main(body: str, out: Path, fmt: str = "flamegraph") -> None:
    var = Path(tempfile.mkdtemp(prefix="opioid-cds-profile-"))
    file = var / f"{body}.json"
    file.write_bytes(raw(BODIES[body]))
    cmd = uvicorn_command("service.main:create_app", free_port(), factory=True, workers=1)
    with running("service", cmd, service_env(var), var / "service.log") as service:
        url = service.url + SERVICE_PATH
        wrk(url, file, CONNECTIONS, 2)  # warm up
        load = threading.Thread(target=wrk, args=(url, file, CONNECTIONS, SECONDS + 2))
        load.start()
        py_spy = Path(sys.executable).with_name("py-spy")
        subprocess.run(  # noqa: S603
            [str(py_spy), "record", "--pid", str(service.process.pid), "--duration",
             str(SECONDS), "--rate", "100", *GIL, "--format", fmt, "--output", str(out),
             "--nonblocking"],
            check=True,
        )  # fmt: skip
        load.join()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), *sys.argv[3:4])
