"""Resources out of whatever container a client sent: a Bundle (with or without ``type``),
a single resource, or a bare list. OperationOutcomes are reported, not treated as data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.errors import HookRequestError
from service.fhir.read import JsonObject, obj, opt_list


@dataclass(frozen=True, slots=True)
class Located:
    """A resource with the JSON path it came from (for error messages and explanations)."""

    resource: JsonObject
    path: str
    #: ``Bundle.entry.fullUrl``: what in-bundle references (often ``urn:uuid:...``) point at.
    full_url: str | None = None


def resources(value: Any, path: str) -> tuple[list[Located], list[Located]]:
    """Return ``(resources, operation_outcomes)`` found in ``value``."""
    found: list[Located] = []
    outcomes: list[Located] = []
    if value is None:
        return found, outcomes
    items: list[tuple[Any, str, str | None]]  # (resource, its path, Bundle.entry.fullUrl)
    if isinstance(value, list):
        items = [(v, f"{path}[{i}]", None) for i, v in enumerate(value)]
    else:
        container = obj(value, path)
        if "resourceType" not in container:
            raise HookRequestError("expected a FHIR resource or Bundle (no resourceType)", path)
        if container["resourceType"] == "Bundle":
            items = []
            for i, entry in enumerate(opt_list(container, "entry")):
                epath = f"{path}.entry[{i}]"
                entry_obj = obj(entry, epath)
                resource = entry_obj.get("resource")
                if resource is not None:
                    full_url = entry_obj.get("fullUrl")
                    url = full_url if isinstance(full_url, str) else None
                    items.append((resource, f"{epath}.resource", url))
        else:
            items = [(container, path, None)]
    for item, ipath, url in items:
        resource = obj(item, ipath)
        rtype = resource.get("resourceType")
        if not isinstance(rtype, str):
            raise HookRequestError("resource has no resourceType", ipath)
        (outcomes if rtype == "OperationOutcome" else found).append(Located(resource, ipath, url))
    return found, outcomes
