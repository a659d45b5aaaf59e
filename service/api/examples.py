"""Request examples for the OpenAPI docs, read once at import from ``openapi/examples/``.

The same files are exercised by the spec tests, so an example that stops working fails CI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.openapi.models import Example

from service.cds_hooks.services import SERVICE_FOR_HOOK

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "openapi" / "examples"


#: Every example's value by its name, as written (with its nulls), across the files.
VALUES: dict[str, Any] = {}


def _load(name: str) -> dict[str, Example]:
    raw: dict[str, dict[str, Any]] = json.loads((EXAMPLES_DIR / name).read_text("utf-8"))
    for key, v in raw.items():
        if key in VALUES:
            raise ValueError(f"{name}: example name {key!r} is used in another file")
        VALUES[key] = v["value"]
    return {key: Example(summary=v["summary"], value=v["value"]) for key, v in raw.items()}


HOOK_EXAMPLES = _load("hook-requests.json")


def _service_examples() -> dict[str, Example]:
    """A service id example per service, in the order of the hook request examples: Swagger
    UI preselects the first of each, and the first id must serve the first request (the
    other order gave a 400 when a developer pressed Execute)."""
    ids = [SERVICE_FOR_HOOK[VALUES[name]["hook"]] for name in HOOK_EXAMPLES]
    ids += list(SERVICE_FOR_HOOK.values())
    hooks = {service: hook for hook, service in SERVICE_FOR_HOOK.items()}
    return {
        hooks[service]: Example(summary=f"the {hooks[service]} service", value=service)
        for service in dict.fromkeys(ids)
    }


#: Examples of a CDS Service id (path or query), ordered to match HOOK_EXAMPLES.
SERVICE_EXAMPLES = _service_examples()
FEEDBACK_EXAMPLES = _load("feedback.json")
OME_EXAMPLES = _load("ome.json")
TAPER_EXAMPLES = _load("taper.json")
TIER_EXAMPLES = _load("support-tier.json")
#: The rule workbench (issue 16): draft rules to validate, as JSON and as YAML.
RULE_VALIDATE_EXAMPLES = _load("rule-validate.json")
DRAFT_RULE_YAML = (EXAMPLES_DIR / "draft-rule.yaml").read_text("utf-8")
