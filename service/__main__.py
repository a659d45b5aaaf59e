"""Command line: ``python -m service openapi`` and ``python -m service ome FILE``."""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="opioid-cds", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("openapi", help="print the OpenAPI document (committed as openapi/openapi.json)")
    args = parser.parse_args(argv)
    if args.command == "openapi":
        from service.main import create_app

        print(json.dumps(create_app().openapi(), indent=2, sort_keys=True, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
