"""Find's throughput (issue 15 item 5): patients per second of each engine at several
population sizes, from populations made by ``tools/generate_population.py`` (seed 15).

    .venv/bin/python tools/benchmark_find.py --sizes 10000 100000 --work /tmp/findbench

Prints a Markdown table (for docs/performance.md, "## Find (population)"): for each engine
and size, wall-clock seconds of the whole run (reading the export, assessing every patient,
writing every output) and patients per second; and how time grows from the smallest size
(1.0 per size ratio is linear). Timings depend on the machine and its load: the table says
which machine and how many cores.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from generate_population import generate  # noqa: E402

from service.config import Settings  # noqa: E402
from service.find.run import FindOptions, run_find  # noqa: E402

AS_OF = date(2026, 11, 22)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--engines", nargs="+", default=["local", "spark"])
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--work", type=Path, required=True)
    args = parser.parse_args()
    settings = Settings(pseudonym_key="benchmark")
    results: list[tuple[str, int, float, float]] = []
    for size in args.sizes:
        export = args.work / f"pop{size}"
        if not export.exists():
            generate(export, size, seed=15)
        for engine in args.engines:
            out = args.work / f"out-{engine}-{size}"
            summary = run_find(
                settings,
                FindOptions(
                    (export,), out, AS_OF, engine=engine, master=args.master, progress=False
                ),
            )
            results.append((engine, size, summary["seconds"], summary["patients_per_second"]))
            print(f"{engine} {size}: {summary}", file=sys.stderr)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"Machine: {platform.machine()}, {cores} cores, Python {platform.python_version()}.")
    print()
    print("| Engine | Patients | Seconds | Patients/s | Time growth vs smallest |")
    print("|---|---:|---:|---:|---:|")
    for engine in args.engines:
        rows = [r for r in results if r[0] == engine]
        base = rows[0]
        for _, size, seconds, rate in rows:
            growth = (seconds / base[2]) / (size / base[1])
            print(f"| {engine} | {size:,} | {seconds:.1f} | {rate:.0f} | {growth:.2f} |")


if __name__ == "__main__":
    main()
