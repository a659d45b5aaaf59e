"""One Find run: read the export with an engine, assess every patient, write the outputs."""

from __future__ import annotations

import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from service.config import Settings
from service.errors import ConfigurationError
from service.fhir.bulk import ExportFile, Line, export_files, organisation_index
from service.find import local
from service.find.outputs import RunFacts, finish, period_ends
from service.find.patient import FindContext, kinds_of_types
from service.pipeline import Pipeline

#: Settings that shape the pipeline: a worker process or Spark executor rebuilds it from them.
PIPELINE_SETTINGS = frozenset(
    {
        "rules_dir",
        "ome_profile",
        "disabled_rules",
        "rule_parameter_overrides",
        "parameter_overrides",
    }
)


@dataclass(frozen=True, slots=True)
class FindOptions:
    #: Export folders or files (several: e.g. one export per practice system).
    exports: tuple[Path, ...]
    out: Path
    as_of: date
    profile: str | None = None
    engine: str = "local"
    master: str = "local[*]"
    workers: int | None = None
    #: Most 8-week periods in the trend (two years).
    max_periods: int = 13
    #: Progress bars on stderr: None shows them on a terminal only.
    progress: bool | None = None
    #: Where temporary files go (default: the system's temporary folder).
    work: Path | None = None


#: Builds the run's context once the engine has scanned the export.
ContextFactory = Callable[[str | None, set[str], list[Line]], FindContext]


def run_find(settings: Settings, options: FindOptions) -> dict[str, Any]:
    started = time.monotonic()
    pipeline = Pipeline(settings)
    if options.profile is not None and options.profile not in pipeline.factors.profiles():
        raise ConfigurationError(
            f"unknown profile {options.profile!r}; known: {', '.join(pipeline.factors.profiles())}"
        )
    files = [f for path in options.exports for f in export_files(path)]
    if not files:
        raise ConfigurationError(
            "no export files found (expected <Type>.ndjson, <Type>.<n>.ndjson, "
            "gzipped, or Bundles as .json)"
        )
    configured = settings.pseudonym_key
    key = configured.get_secret_value() if configured is not None else secrets.token_urlsafe(32)
    worker_settings = settings.model_dump(include=set(PIPELINE_SETTINGS))
    worker_settings["rules_dir"] = str(settings.rules_dir)
    ends: list[tuple[date, ...]] = []

    def context(earliest: str | None, types: set[str], orgs: list[Line]) -> FindContext:
        ends.append(period_ends(options.as_of, earliest, options.max_periods))
        return FindContext(
            as_of=options.as_of,
            profile_id=options.profile,
            period_ends=ends[-1],
            organisations=organisation_index(orgs),
            kinds=kinds_of_types(types),
            pseudonym_key=key,
            settings=worker_settings,
        )

    with tempfile.TemporaryDirectory(prefix="find-", dir=options.work) as tmp:
        work = Path(tmp)
        if options.engine == "spark":
            from service.find import spark

            rows, patients = spark.run(files, work, options.master, context)
        elif options.engine == "local":
            rows, patients = _run_local(files, work, options, context)
        else:
            raise ConfigurationError(f"unknown engine {options.engine!r}; known: local, spark")
        high = next((r for r in pipeline.rules if r.id == "high-dose-risk-assessment"), None)
        threshold = (
            high.parameters["threshold_mg_per_day"]
            if high is not None
            else pipeline.shared_parameters["high_dose_mg_per_day"]
        )
        facts = RunFacts(
            as_of=options.as_of,
            profile=pipeline.profile(options.profile).profile_id,
            key="configured" if configured is not None else "per-run",
            high_dose_mg_per_day=threshold.value,
            tiers=tuple(sorted((t.tier, t.name) for t in pipeline.stratifier.model.tiers)),
            period_ends=ends[-1],
            files=len(files),
        )
        summary = finish(rows, options.out, facts)
    seconds = time.monotonic() - started
    summary.update(
        engine=options.engine,
        seconds=round(seconds, 2),
        patients_per_second=round(patients / seconds, 1) if seconds else None,
        pseudonym_key=facts.key,
    )
    return summary


def _run_local(
    files: list[ExportFile], work: Path, options: FindOptions, context: ContextFactory
) -> tuple[Path, int]:
    workers = options.workers or local.default_workers()
    partitions = local.partitions_for(files, workers)
    disable = None if options.progress is None else not options.progress
    if disable is None and not sys.stderr.isatty():
        disable = True
    scan = local.scan(files, work, partitions, workers, disable)
    ctx = context(scan.earliest, scan.resource_types, scan.organisations)
    return local.assess(ctx, work, partitions, workers, disable)
