"""Command line.

python -m service openapi            print the OpenAPI document
python -m service ome FILE [--profile P] [--date YYYY-MM-DD]
                                     OME report for a FHIR Bundle or resources (JSON)
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="opioid-cds", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("openapi", help="print the OpenAPI document (committed as openapi/openapi.json)")
    ome = sub.add_parser("ome", help="print the OME report for a FHIR JSON file ('-' for stdin)")
    ome.add_argument("file")
    ome.add_argument("--profile", default=None, help="uk-opioids-aware (default) or us-cdc-2022")
    ome.add_argument(
        "--date",
        type=date.fromisoformat,
        default=None,
        help="the date that decides what is current (default today)",
    )
    args = parser.parse_args(argv)
    if args.command == "openapi":
        from service.main import create_app

        print(json.dumps(create_app().openapi(), indent=2, sort_keys=True, ensure_ascii=False))
        return 0
    from service.config import Settings
    from service.errors import ServiceError
    from service.ome_report import ome_report
    from service.pipeline import Pipeline

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


if __name__ == "__main__":
    sys.exit(main())
