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
            entries = container.get("entry")
            # ``entry`` is an array. A client that sends one entry as an object is read
            # leniently as that one entry (as ``category`` is), never dropped (issue 9).
            single = entries is not None and not isinstance(entries, list)
            for i, entry in enumerate(opt_list(container, "entry")):
                epath = f"{path}.entry" if single else f"{path}.entry[{i}]"
                entry_obj = obj(entry, epath)
                resource = entry_obj.get("resource")
                if resource is None:
                    # An entry with no resource hides data we were meant to read (a search
                    # result, a prefetch): refuse it rather than read the Bundle as less.
                    raise HookRequestError("a Bundle entry without a resource", f"{epath}.resource")
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
