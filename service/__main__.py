"""Command line.

python -m service serve [--host H] [--port P] [--workers N]
                                     run the service (workers: OPIOID_CDS_WORKERS)
python -m service openapi            print the OpenAPI document
python -m service facts              print the facts rule files may use (docs/facts.md)
python -m service ome FILE [--profile P] [--date YYYY-MM-DD]
                                     OME report for a FHIR Bundle or resources (JSON)
python -m service db upgrade         apply pending database migrations (also done at start-up)
python -m service db purge [--days N]
                                     delete audit and feedback older than the retention period
python -m service find EXPORT... --out DIR [--as-of YYYY-MM-DD] [--profile P]
                       [--engine local|spark] [--master URL]
                                     Find: every patient of a FHIR Bulk Data export
                                     (docs/find.md)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from service.pipeline import Pipeline


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="opioid-cds", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the service under uvicorn, with several workers")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers", type=int, default=None, help="default: OPIOID_CDS_WORKERS, else 1"
    )
    sub.add_parser("openapi", help="print the OpenAPI document (committed as openapi/openapi.json)")
    sub.add_parser("facts", help="print the facts rule files may use (committed as docs/facts.md)")
    ome = sub.add_parser("ome", help="print the OME report for a FHIR JSON file ('-' for stdin)")
    ome.add_argument("file")
    ome.add_argument("--profile", default=None, help="uk-opioids-aware (default) or us-cdc-2022")
    ome.add_argument(
        "--date",
        type=date.fromisoformat,
        default=None,
        help="the date that decides what is current (default today)",
    )
    db = sub.add_parser("db", help="storage: migrations and retention (docs/storage.md)")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply pending migrations to OPIOID_CDS_DATABASE_URL")
    purge = db_sub.add_parser("purge", help="delete rows older than the retention period")
    purge.add_argument(
        "--days",
        type=int,
        default=None,
        help="retention in days (default OPIOID_CDS_RETENTION_DAYS)",
    )
    _add_find(sub)
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except Exception as exc:
        problem = setting_problem(exc)
        if problem is None:
            raise
        print(f"error: {problem}", file=sys.stderr)
        return 2


def setting_problem(exc: Exception) -> str | None:
    """An invalid OPIOID_CDS_* setting as one line naming it (never its value: it may be a
    secret), or None when ``exc`` is not about the settings."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    prefix = "OPIOID_CDS_"
    if isinstance(exc, SettingsError):
        # pydantic-settings: 'error parsing value for field "x" from source "..."' (bad JSON).
        found = re.search(r'field "(\w+)"', str(exc))
        name = prefix + found.group(1).upper() if found else "an OPIOID_CDS_ setting"
        return f"invalid setting {name}: not valid JSON"
    if not isinstance(exc, ValidationError) or exc.title != "Settings":
        return None
    problems = []
    for error in exc.errors():
        first, *rest = [str(part) for part in error["loc"]] or ["?"]
        name = prefix + first.upper() + "".join(f"[{part}]" for part in rest)
        problems.append(f"{name}: {error['msg']}")
    return "invalid setting " + "; ".join(problems)


def _run(args: argparse.Namespace) -> int:
    if args.command == "serve":
        return serve_app(args.host, args.port, args.workers)
    if args.command == "find":
        return _find(args)
    if args.command == "db":
        from service.storage.commands import run_db_command

        return run_db_command(args.db_command, args.days if args.db_command == "purge" else None)
    if args.command == "openapi":
        from service.main import create_app

        print(json.dumps(create_app().openapi(), indent=2, sort_keys=True, ensure_ascii=False))
        return 0
    from service.config import Settings
    from service.errors import ServiceError
    from service.ome_report import ome_report
    from service.pipeline import Pipeline

    if args.command == "facts":
        print(facts_markdown(Pipeline(Settings())), end="")
        return 0

    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
    try:
        value = json.loads(text)
        if isinstance(value, dict) and "resourceType" not in value:
            args.profile = args.profile or value.get("profile")
            value = value.get("medications")
        today = args.date or datetime.now(UTC).date()
        report = ome_report(Pipeline(Settings()), value, args.profile, today)
    except json.JSONDecodeError as exc:
        print(f"error: {args.file} is not valid JSON: {exc}", file=sys.stderr)
        return 2
    except ServiceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.model_dump_json(indent=2))
    return 0


def _add_find(sub: Any) -> None:
    find = sub.add_parser(
        "find", help="assess every patient of a FHIR Bulk Data export (docs/find.md)"
    )
    find.add_argument(
        "exports", type=Path, nargs="+", help="export folders or files (NDJSON, .gz, Bundles)"
    )
    find.add_argument("--out", type=Path, required=True, help="folder for the outputs")
    find.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=None,
        help="the date that decides what is current (default today)",
    )
    find.add_argument("--profile", default=None, help="uk-opioids-aware (default) or us-cdc-2022")
    find.add_argument("--engine", choices=("local", "spark"), default="local")
    find.add_argument("--master", default="local[*]", help="Spark master (engine spark)")
    find.add_argument("--workers", type=int, default=None, help="processes (default all cores)")
    find.add_argument("--periods", type=int, default=13, help="most 8-week trend periods")
    find.add_argument(
        "--work",
        type=Path,
        default=None,
        help="folder for temporary files (Spark on a cluster: shared storage, docs/find.md)",
    )
    bar = find.add_mutually_exclusive_group()
    bar.add_argument("--progress", action="store_true", default=None, help="progress bars")
    bar.add_argument("--no-progress", dest="progress", action="store_false")


def _find(args: argparse.Namespace) -> int:
    from service.config import Settings
    from service.errors import ServiceError
    from service.find.run import FindOptions, run_find

    options = FindOptions(
        exports=tuple(args.exports),
        out=args.out,
        as_of=args.as_of or datetime.now(UTC).date(),
        profile=args.profile,
        engine=args.engine,
        master=args.master,
        workers=args.workers,
        max_periods=args.periods,
        progress=args.progress,
        work=args.work,
    )
    settings = Settings()  # an invalid setting is main's one line, not a ValueError here
    try:
        summary = run_find(settings, options)
    except (ServiceError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if summary["pseudonym_key"] == "per-run":
        print(
            "note: OPIOID_CDS_PSEUDONYM_KEY is unset: patient keys use a per-run key that was "
            "not kept, so they cannot be linked to another run",
            file=sys.stderr,
        )
    print(json.dumps(summary, indent=2))
    return 0


def serve_app(host: str, port: int, workers: int | None) -> int:
    """uvicorn with ``workers`` processes sharing one listening socket (issue 14): each
    worker builds the app (and its pipeline) from the factory, so nothing is shared between
    them but the socket — per-process state is listed in docs/performance.md."""
    import uvicorn

    from service.auth import load_issuers
    from service.config import Settings
    from service.errors import ConfigurationError

    settings = Settings()
    count = workers if workers is not None else settings.workers
    if count < 1:
        print("error: --workers must be at least 1", file=sys.stderr)
        return 2
    try:
        if count > 1 and settings.auth == "jwt":
            # Each worker would otherwise die with its own traceback on a bad issuers file.
            load_issuers(settings)
        # One worker builds the app in this process: a configuration error reaches here.
        uvicorn.run("service.main:create_app", factory=True, host=host, port=port, workers=count)
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def facts_markdown(pipeline: Pipeline) -> str:
    """The fact catalogue as a Markdown table, in the order the facts are computed."""
    lines = [
        "# Facts",
        "",
        "Generated by `make facts` (`python -m service facts`) from the fact sets in",
        "`service/facts/` and `service/stratify.py`; a test fails when this file drifts.",
        "These, with the rule's own parameters, are the only names a rule file's conditions",
        "and card placeholders may use.",
        "",
        "| Fact | Kind | Unit | Definition |",
        "|---|---|---|---|",
    ]
    for name, d in pipeline.facts_catalogue.items():
        lines.append(f"| `{name}` | {d.kind} | {d.unit or ''} | {d.definition} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
