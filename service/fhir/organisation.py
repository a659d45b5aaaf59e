"""The organisation a hook request comes from, for the audit (issue 13).

Lenient: the audit must never refuse a call, so anything malformed is skipped. Read from
the request's prefetch and fetched resources (resources or Bundles), in this order of
precedence (the client's identity, from auth, comes before all of these and is the
route's to give):

1. a ``PractitionerRole``'s ``organization`` (the prescriber's role in the organisation);
2. an ``Organization`` resource;
3. an ``Encounter``'s ``serviceProvider``.

Kept is the reference's identifier value (e.g. an ODS code) when it has one, else the
reference (``Organization/123``): organisations, never people.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

_ORDER = ("practitioner-role", "organization", "encounter")


def requesting_organisation(values: Iterable[Any]) -> tuple[str, str] | None:
    """``(organisation, where it came from)``, or None when no resource names one."""
    found: dict[str, str] = {}
    for resource in _resources(values):
        kind = resource.get("resourceType")
        if kind == "PractitionerRole":
            _keep(found, "practitioner-role", _reference(resource.get("organization")))
        elif kind == "Organization":
            ident = _identifier(resource.get("identifier"))
            rid = resource.get("id")
            _keep(found, "organization", ident or (f"Organization/{rid}" if _text(rid) else None))
        elif kind == "Encounter":
            _keep(found, "encounter", _reference(resource.get("serviceProvider")))
    for source in _ORDER:
        if source in found:
            return found[source], source
    return None


def _keep(found: dict[str, str], source: str, value: str | None) -> None:
    if value and source not in found:
        found[source] = value[:200]


def _resources(values: Iterable[Any]) -> Iterator[dict[str, Any]]:
    for value in values:
        if not isinstance(value, dict):
            continue
        if value.get("resourceType") == "Bundle":
            for entry in value.get("entry") or ():
                if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                    yield entry["resource"]
        else:
            yield value


def _reference(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    ident = _identifier(value.get("identifier"))
    ref = value.get("reference")
    return ident or (ref if _text(ref) else None)


def _identifier(value: Any) -> str | None:
    items = value if isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, dict) and _text(item.get("value")):
            return str(item["value"])
    return None


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())
